// What a run is built from: the model to train (a preset `type:size`, a config.json, or a
// model folder), a student "at the teacher's width and depth", the seeded model, and the
// corpus prepared with the run's tokenizer (datasets/). Shared by `snnlm distill`,
// `snnlm train` and `snnlm quickstart`.
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError, FormatError } from '../src/errors.js';
import type { JsonObject } from '../src/io/index.js';
import type { CausalLM } from '../src/generate/index.js';
import { log } from '../src/log.js';
import { hashTokenizerFolder, loadDataTokenizer, prepareTextData } from '../datasets/index.js';
import type { HashedTokenizer, PreparedTextData, SequenceSource } from '../datasets/index.js';
import {
  BiSpikCLMForCausalLM,
  GPT2LMHeadModel,
  LlamaForCausalLM,
  STUDENT_SIZES,
  WDSpikingformerForCausalLM,
  buildModel,
  isCausalLM,
  loadPretrained,
  studentPreset,
} from '../models/index.js';
import type { PretrainedModel, StudentSize } from '../models/index.js';
import { nearestKey } from './config.js';
import type { RunConfig } from './config.js';

/** Causal students a preset can name. */
export const CAUSAL_STUDENTS = ['bispikclm', 'wd-spikingformer'] as const;

/**
 * LLaMA presets for `snnlm train` (teachers, ANN baselines). Sizes are OURS [P]:
 * `tiny` for tests, `small` a few-hundred-thousand-parameter model a CPU trains in
 * minutes (about stories260K's shape).
 */
export const LLAMA_PRESETS: Readonly<Record<'tiny' | 'small', JsonObject>> = {
  tiny: {
    hidden_size: 16,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 2,
  },
  small: {
    hidden_size: 64,
    intermediate_size: 176,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 4,
  },
};

/** A model to train: its config.json and, for a folder with weights, where they are. */
export interface ModelSource {
  config: JsonObject & { model_type: string };
  /** Folder with weights to start from (a model folder), else null (fresh init). */
  weightsDir: string | null;
  /** Tokenizer hash when the source is a folder with tokenizer files. */
  tokenizerHash: string | null;
  /** How the user named it (for messages and distill_config.json). */
  label: string;
}

/** Teacher dimensions read from its config.json (HF names, GPT-2 aliases). */
export function teacherShape(config: JsonObject, source: string): JsonObject {
  const pick = (...keys: string[]): number => {
    for (const k of keys) if (typeof config[k] === 'number') return config[k];
    throw new ConfigError(`${source}: the teacher config has none of ${keys.join(', ')}`);
  };
  return {
    vocab_size: pick('vocab_size'),
    hidden_size: pick('hidden_size', 'n_embd'),
    num_hidden_layers: pick('num_hidden_layers', 'n_layer'),
    num_attention_heads: pick('num_attention_heads', 'n_head'),
    max_position_embeddings: pick('max_position_embeddings', 'n_positions'),
  };
}

async function readJsonFile(path: string): Promise<JsonObject> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new ConfigError(`cannot read ${path} (${e.code ?? e.message})`);
  });
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as JsonObject;
  } catch (e) {
    throw new FormatError(path, `not a JSON object: ${(e as Error).message}`);
  }
}

/** Reject `model.*` overrides that are not fields of the model's config. */
function applyOverrides(
  config: JsonObject & { model_type: string },
  overrides: JsonObject,
): JsonObject & { model_type: string } {
  const known = Object.keys(config);
  for (const k of Object.keys(overrides)) {
    if (!known.includes(k)) {
      throw new ConfigError(
        `unknown config key "model.${k}" for model_type ${config.model_type}; did you mean "model.${nearestKey(k, known)}"?`,
      );
    }
  }
  return { ...config, ...overrides };
}

/** Fill every default of a config by building it once (the full config.json). */
function fullConfig(config: JsonObject, source: string): JsonObject & { model_type: string } {
  const m = buildModel(config, source);
  try {
    return m.getConfig();
  } finally {
    m.dispose();
  }
}

/**
 * Resolve `spec`: `TYPE:SIZE` (students `bispikclm`/`wd-spikingformer` with `tiny`,
 * `small` or `teacher`; `llama` with `tiny`/`small`), a config.json path, or a model
 * folder. `vocabSize` (the tokenizer's) fills presets; `teacher` is needed for `:teacher`;
 * `overrides` are the run config's `model.*` keys; `seqLen` widens a preset's context.
 */
export async function resolveModelSource(
  spec: string,
  o: {
    vocabSize: number;
    teacher?: { config: JsonObject; dir: string } | null;
    overrides?: JsonObject;
    seqLen: number;
  },
): Promise<ModelSource> {
  const overrides = o.overrides ?? {};
  const preset = /^([a-z0-9-]+):([a-z]+)$/.exec(spec);
  if (preset && !existsSync(spec)) {
    const [, type, size] = preset;
    let raw: JsonObject;
    if ((CAUSAL_STUDENTS as readonly string[]).includes(type)) {
      const t = type as (typeof CAUSAL_STUDENTS)[number];
      if (size === 'teacher') {
        if (!o.teacher) throw new ConfigError(`${spec}: ":teacher" needs --teacher`);
        const shape = teacherShape(o.teacher.config, join(o.teacher.dir, 'config.json'));
        raw = studentPreset(t, 'small', shape);
      } else if ((STUDENT_SIZES as readonly string[]).includes(size)) {
        const base = studentPreset(t, size as StudentSize);
        const ctx = Math.max(Number(base.max_position_embeddings), o.seqLen);
        raw = studentPreset(t, size as StudentSize, {
          vocab_size: o.vocabSize,
          max_position_embeddings: ctx,
        });
      } else {
        throw new ConfigError(
          `${spec}: unknown size "${size}"; known: ${[...STUDENT_SIZES, 'teacher'].join(', ')}`,
        );
      }
    } else if (type === 'llama') {
      if (!Object.hasOwn(LLAMA_PRESETS, size)) {
        throw new ConfigError(`${spec}: unknown size "${size}"; known: tiny, small`);
      }
      raw = {
        model_type: 'llama',
        architectures: ['LlamaForCausalLM'],
        vocab_size: o.vocabSize,
        max_position_embeddings: Math.max(256, o.seqLen),
        tie_word_embeddings: true,
        ...LLAMA_PRESETS[size as 'tiny' | 'small'],
      };
    } else {
      throw new ConfigError(
        `${spec}: unknown preset type "${type}"; known: ${[...CAUSAL_STUDENTS, 'llama'].join(', ')}`,
        'or give a config.json path or a model folder',
      );
    }
    const config = applyOverrides(fullConfig(raw, spec), overrides);
    return { config, weightsDir: null, tokenizerHash: null, label: spec };
  }
  const path = resolve(spec);
  if (!existsSync(path)) {
    throw new ConfigError(
      `${spec} is neither a preset (TYPE:SIZE) nor an existing config.json or model folder`,
    );
  }
  if (statSync(path).isDirectory()) {
    const raw = await readJsonFile(join(path, 'config.json'));
    const config = applyOverrides(fullConfig(raw, join(path, 'config.json')), overrides);
    const hasWeights = existsSync(join(path, 'model.safetensors'));
    const hasTok = existsSync(join(path, 'tokenizer.json'));
    return {
      config,
      weightsDir: hasWeights ? path : null,
      tokenizerHash: hasTok ? await hashTokenizerFolder(path) : null,
      label: spec,
    };
  }
  const raw = await readJsonFile(path);
  return {
    config: applyOverrides(fullConfig(raw, path), overrides),
    weightsDir: null,
    tokenizerHash: null,
    label: spec,
  };
}

const SEEDED: Readonly<
  Record<string, new (raw: JsonObject, o: { seed?: number; source?: string }) => PretrainedModel>
> = {
  llama: LlamaForCausalLM,
  gpt2: GPT2LMHeadModel,
  bispikclm: BiSpikCLMForCausalLM,
  'wd-spikingformer': WDSpikingformerForCausalLM,
};

/** Build the model of `source` (seeded), loading its weights when it is a folder with weights. */
export async function instantiate(
  source: ModelSource,
  seed: number,
): Promise<PretrainedModel & CausalLM> {
  let model: PretrainedModel;
  if (source.weightsDir) {
    model = await loadPretrained(source.weightsDir);
    const same = JSON.stringify(model.getConfig()) === JSON.stringify(source.config);
    if (!same) {
      // overrides changed the config: rebuild and copy the weights that fit
      const fresh = buildModel(source.config, source.label);
      fresh.loadState(model.stateDict());
      model.dispose();
      model = fresh;
    }
  } else {
    const Ctor = SEEDED[source.config.model_type];
    model = Ctor
      ? new Ctor(source.config, { seed, source: source.label })
      : buildModel(source.config, source.label);
  }
  if (!isCausalLM(model)) {
    model.dispose();
    throw new ConfigError(
      `${source.label}: model_type ${source.config.model_type} is not a causal LM`,
    );
  }
  model.train();
  return model as PretrainedModel & CausalLM;
}

/** The corpus of a run, prepared with `tokenizer`, and its splits opened. */
export interface RunData {
  prepared: PreparedTextData;
  train: SequenceSource;
  val: SequenceSource | null;
  close(): Promise<void>;
}

/** Tokenize, split and pack `corpus` for the run (cached under `data.cache_dir`). */
export async function prepareRunData(
  corpus: string,
  tokenizer: HashedTokenizer,
  c: RunConfig,
): Promise<RunData> {
  const prepared = await prepareTextData({
    corpus,
    tokenizer,
    seqLen: c.data.seq_len,
    validation: c.data.validation,
    splitBy: c.data.split_by,
    seed: c.seed,
    cacheDir: c.data.cache_dir,
    field: c.data.field,
  });
  const train = await prepared.openTrain();
  const val = await prepared.openVal();
  if (!val) log.warn('no validation split (data.validation = 0): no validation perplexity');
  return {
    prepared,
    train,
    val,
    close: async () => {
      await train.close();
      await val?.close();
    },
  };
}

export { loadDataTokenizer };
