// Teacher adapters for distillation: one interface over (a) a native teacher, any causal
// LM of the registry loaded from a model folder (logits, hidden states, attention maps,
// embeddings), and (b) an ONNX causal-LM folder run by transformers.js
// (`@huggingface/transformers`, local files only), which gives logits only: asking it for
// hidden states or attention maps switches those alignment terms off with a warning.
// Teachers are frozen: features are computed outside any gradient tape and are constants.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { ConfigError, FormatError } from '../src/errors.js';
import type { JsonObject } from '../src/io/index.js';
import { log } from '../src/log.js';
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { hashTokenizerFolder } from '../datasets/index.js';
import { loadCausalLM } from '../models/index.js';
import type { PretrainedModel } from '../models/index.js';
import type { CausalLM } from '../src/generate/index.js';

/** Which features a caller wants besides logits. */
export interface FeatureRequest {
  /** Residual stream after the embedding and every layer (`L + 1` tensors `[B, N, D]`). */
  hidden?: boolean;
  /** Every layer's attention map `[B, H, N, N]`. */
  attentions?: boolean;
  /** The embedding output `[B, N, D]`. */
  embeddings?: boolean;
}

/** What a teacher returns for ids `[B, N]`; the caller disposes every tensor. */
export interface TeacherFeatures {
  /** `[B, N, V]` float32. */
  logits: Tensor;
  /** `L + 1` tensors `[B, N, D]`, the embedding output first. */
  hidden?: Tensor[];
  /** `L` tensors `[B, H, N, N]`. */
  attentions?: Tensor[];
  /** `[B, N, D]`. */
  embeddings?: Tensor;
}

/** A frozen teacher. */
export interface Teacher {
  readonly kind: 'native' | 'transformersjs';
  /** The folder it was loaded from. */
  readonly dir: string;
  /** The folder's config.json. */
  readonly config: JsonObject;
  readonly vocabSize: number;
  /** Hash of the folder's tokenizer files (`hashTokenizerFolder`). */
  readonly tokenizerHash: string;
  /** Which features beyond logits it can give. */
  readonly provides: Required<FeatureRequest>;
  /** Features of ids `[B, N]` int32 (no gradients flow into the teacher). */
  features(ids: Tensor, want?: FeatureRequest): Promise<TeacherFeatures>;
  dispose(): Promise<void>;
}

/** Free every tensor of a feature set. */
export function disposeFeatures(f: TeacherFeatures): void {
  tf.dispose([f.logits, ...(f.hidden ?? []), ...(f.attentions ?? [])]);
  if (f.embeddings && !f.hidden?.includes(f.embeddings)) f.embeddings.dispose();
}

async function readConfig(dir: string): Promise<JsonObject> {
  const path = join(dir, 'config.json');
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new FormatError(path, `cannot read the teacher config (${e.code ?? e.message})`);
  });
  try {
    return JSON.parse(text) as JsonObject;
  } catch (e) {
    throw new FormatError(path, `not valid JSON: ${(e as Error).message}`);
  }
}

/** A registry causal LM as a teacher. */
export class NativeTeacher implements Teacher {
  readonly kind = 'native';
  readonly provides = { hidden: true, attentions: true, embeddings: true };
  private constructor(
    readonly dir: string,
    readonly config: JsonObject,
    readonly tokenizerHash: string,
    readonly model: PretrainedModel & CausalLM,
  ) {}

  get vocabSize(): number {
    return this.model.vocabSize;
  }

  /** Load the folder `dir` (config.json + model.safetensors of a registry model). */
  static async load(dir: string): Promise<NativeTeacher> {
    const root = resolve(dir);
    const config = await readConfig(root);
    const model = await loadCausalLM(root);
    for (const [, v] of model.namedParameters()) v.trainable = false; // frozen
    return new NativeTeacher(root, config, await hashTokenizerFolder(root), model);
  }

  async features(ids: Tensor, want: FeatureRequest = {}): Promise<TeacherFeatures> {
    const needHidden = Boolean(want.hidden || want.embeddings);
    const out = this.model.forward(ids, {
      outputHiddenStates: needHidden,
      outputAttentions: Boolean(want.attentions),
    });
    const f: TeacherFeatures = { logits: out.logits };
    const hs = out.hiddenStates ?? [];
    if (want.embeddings) f.embeddings = hs[0];
    if (want.hidden) f.hidden = hs;
    else if (want.embeddings) tf.dispose(hs.slice(1));
    if (want.attentions) f.attentions = out.attentions ?? [];
    return Promise.resolve(f);
  }

  dispose(): Promise<void> {
    this.model.dispose();
    return Promise.resolve();
  }
}

// The parts of transformers.js this adapter uses (kept narrow so its types stay ours).
interface HfTensorLike {
  dims: number[];
  data: Float32Array;
  dispose?: () => void;
}
interface HfCausalLM {
  (inputs: Record<string, unknown>): Promise<{ logits: HfTensorLike }>;
  dispose(): Promise<unknown>;
}

/** An ONNX causal LM run by transformers.js: logits only. */
export class TransformersJsTeacher implements Teacher {
  readonly kind = 'transformersjs';
  readonly provides = { hidden: false, attentions: false, embeddings: false };
  readonly #warned = new Set<string>();

  private constructor(
    readonly dir: string,
    readonly config: JsonObject,
    readonly tokenizerHash: string,
    readonly vocabSize: number,
    private readonly model: HfCausalLM,
    private readonly HfTensor: new (type: string, data: unknown, dims: number[]) => unknown,
  ) {}

  /** Load `dir` (config.json, tokenizer files, `onnx/model.onnx`) without touching the network. */
  static async load(dir: string): Promise<TransformersJsTeacher> {
    const root = resolve(dir);
    const config = await readConfig(root);
    const onnx = join(root, 'onnx', 'model.onnx');
    if (!existsSync(onnx)) {
      throw new FormatError(onnx, 'missing: a transformers.js teacher needs onnx/model.onnx');
    }
    const vocab = config.vocab_size;
    if (typeof vocab !== 'number' || !Number.isInteger(vocab) || vocab <= 0) {
      throw new FormatError(join(root, 'config.json'), `bad vocab_size ${JSON.stringify(vocab)}`);
    }
    const hf = await import('@huggingface/transformers');
    const { env } = hf;
    const saved = { allow: env.allowRemoteModels, local: env.localModelPath };
    // NOTE: transformers.js resolves a model name under `localModelPath`; pointing it at
    // the parent folder and naming the folder keeps the lookup local and exact.
    env.allowRemoteModels = false;
    env.localModelPath = dirname(root) + sep;
    let model: HfCausalLM;
    try {
      model = (await hf.AutoModelForCausalLM.from_pretrained(basename(root), {
        dtype: 'fp32',
        device: 'cpu',
        local_files_only: true,
      })) as unknown as HfCausalLM;
    } finally {
      env.localModelPath = saved.local;
      env.allowRemoteModels = saved.allow;
    }
    const HfTensor = hf.Tensor as unknown as new (t: string, d: unknown, s: number[]) => unknown;
    return new TransformersJsTeacher(
      root,
      config,
      await hashTokenizerFolder(root),
      vocab,
      model,
      HfTensor,
    );
  }

  async features(ids: Tensor, want: FeatureRequest = {}): Promise<TeacherFeatures> {
    for (const k of ['hidden', 'attentions', 'embeddings'] as const) {
      if (want[k] && !this.#warned.has(k)) {
        this.#warned.add(k);
        log.warn(
          `teacher ${this.dir}: an ONNX (transformers.js) teacher gives logits only; ` +
            `the ${k} alignment term is switched off`,
        );
      }
    }
    const [B, N] = ids.shape as [number, number];
    const flat = ids.dataSync();
    const inputIds = new BigInt64Array(B * N);
    for (let i = 0; i < flat.length; i++) inputIds[i] = BigInt(flat[i]);
    const mask = new BigInt64Array(B * N).fill(1n);
    const out = await this.model({
      input_ids: new this.HfTensor('int64', inputIds, [B, N]),
      attention_mask: new this.HfTensor('int64', mask, [B, N]),
    });
    const [b, n, v] = out.logits.dims;
    if (b !== B || n !== N || v !== this.vocabSize) {
      throw new ConfigError(
        `teacher ${this.dir}: logits are [${out.logits.dims.join(', ')}], expected [${B}, ${N}, ${this.vocabSize}]`,
      );
    }
    const logits = tf.tensor3d(Float32Array.from(out.logits.data), [B, N, v]); // [B, N, V]
    out.logits.dispose?.();
    return { logits };
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

/**
 * Load a teacher folder: the native teacher when it has model weights
 * (`model.safetensors` or an index) and `prefer` is not `transformersjs`, else the
 * transformers.js teacher when it has `onnx/model.onnx`.
 */
export async function loadTeacher(
  dir: string,
  prefer: 'auto' | 'native' | 'transformersjs' = 'auto',
): Promise<Teacher> {
  const root = resolve(dir);
  if (!existsSync(root)) {
    throw new ConfigError(`teacher folder ${root} does not exist`, 'pass --teacher DIR');
  }
  const hasWeights =
    existsSync(join(root, 'model.safetensors')) ||
    existsSync(join(root, 'model.safetensors.index.json'));
  const hasOnnx = existsSync(join(root, 'onnx', 'model.onnx'));
  if (prefer === 'transformersjs' || (prefer === 'auto' && !hasWeights && hasOnnx)) {
    return TransformersJsTeacher.load(root);
  }
  if (!hasWeights) {
    throw new FormatError(
      join(root, 'model.safetensors'),
      'missing: the teacher folder has neither model.safetensors nor onnx/model.onnx',
      'convert a checkpoint first, e.g. `snnlm convert llama2c`',
    );
  }
  return NativeTeacher.load(root);
}

/**
 * Check that teacher and student (or data) share a tokenizer: equal vocabulary
 * size, and equal tokenizer hashes when both are known. A clear ConfigError otherwise.
 */
export function checkTokenizerMatch(
  teacher: { dir: string; vocabSize: number; tokenizerHash: string },
  other: { what: string; vocabSize: number; tokenizerHash?: string | null },
): void {
  if (teacher.vocabSize !== other.vocabSize) {
    throw new ConfigError(
      `tokenizer mismatch: the teacher ${teacher.dir} has a vocabulary of ${teacher.vocabSize}, ` +
        `${other.what} has ${other.vocabSize}`,
      'teacher, student and data must use the same tokenizer',
    );
  }
  if (other.tokenizerHash && other.tokenizerHash !== teacher.tokenizerHash) {
    throw new ConfigError(
      `tokenizer mismatch: the tokenizer files of ${other.what} differ from the teacher's ` +
        `(${other.tokenizerHash.slice(0, 19)}… vs ${teacher.tokenizerHash.slice(0, 19)}…)`,
      'teacher, student and data must use the same tokenizer',
    );
  }
}
