// The two jobs behind the CLI, as functions (the quickstart and the bench call them too):
// `distillJob` (teacher -> spiking student with SpAD) and `trainJob` (any registry causal
// LM on a corpus with cross-entropy, no teacher). Each: output-folder rule, effective
// config printed and saved, data prepared with the run's tokenizer, the loop, the final
// model folder with distill_config.json.
import { mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../src/errors.js';
import { writeFileAtomic } from '../src/io/index.js';
import type { JsonObject } from '../src/io/index.js';
import { log } from '../src/log.js';
import type { ProgressStream } from '../src/progress.js';
import type { StopSignal } from '../src/train/index.js';
import { loadDataTokenizer } from '../datasets/index.js';
import type { HashedTokenizer, PreparedTextData } from '../datasets/index.js';
import { SpikingCausalLM } from '../models/index.js';
import type { CausalLM } from '../src/generate/index.js';
import { resolveRunConfig } from './config.js';
import type { Override, RunConfig } from './config.js';
import { saveFinalModel } from './final-model.js';
import { RUN_CONFIG_FILE, prepareRunDir, runTraining } from './loop.js';
import type { TrainingResult } from './loop.js';
import { instantiate, prepareRunData, resolveModelSource, teacherShape } from './setup.js';
import { SpadProjections, layerMap } from './spad.js';
import { checkTokenizerMatch, loadTeacher } from './teacher.js';

/** Options shared by both jobs. */
export interface JobOptions {
  /** Corpus spec (`path.txt`, `file.jsonl:field`, glob, `builtin:moby-dick`). */
  data: string;
  out: string;
  /** Parsed config file (null: defaults) and its name for messages. */
  configFile?: JsonObject | null;
  configFileName?: string;
  overrides?: readonly Override[];
  /** Use this config as it is (the quickstart), instead of file + overrides. */
  config?: RunConfig;
  resume?: string | null;
  overwrite?: boolean;
  progress?: ProgressStream;
  stop?: StopSignal;
  /** Where the effective config is printed. @default process.stderr */
  echo?: { write(s: string): unknown };
}

/** Result of a job: the loop's result plus where things are. */
export interface JobResult extends TrainingResult {
  outDir: string;
  /** The final model folder (null when the run was stopped before the end). */
  modelDir: string | null;
  config: RunConfig;
}

/** The data part of a run's record (distill_config.json). */
function dataRecord(corpus: string, prepared: PreparedTextData, tokenizerHash: string): JsonObject {
  return {
    corpus,
    corpus_hash: prepared.corpusHash,
    tokenizer_hash: tokenizerHash,
    summary: prepared.summary as unknown as JsonObject,
  };
}

/** The rule, progress and outcome part of a run's record. */
function outcomeRecord(model: CausalLM, c: RunConfig, result: TrainingResult): JsonObject {
  return {
    rule: model instanceof SpikingCausalLM ? c.train.rule : 'backprop',
    steps: result.steps,
    tokens: result.tokens,
    seed: c.seed,
    status: result.status,
    val_ppl: result.valPpl,
    best_val_ppl: result.bestValPpl,
    config: c as unknown as JsonObject,
  };
}

/** The effective config: saved run config when resuming without new settings, else file + flags. */
async function effectiveConfig(o: JobOptions, resuming: boolean): Promise<RunConfig> {
  if (o.config) return o.config;
  const saved = join(resolve(o.out), RUN_CONFIG_FILE);
  if (resuming && !o.configFile && existsSync(saved)) {
    const base = resolveRunConfig(
      JSON.parse(await readFile(saved, 'utf8')) as JsonObject,
      [],
      saved,
    );
    return resolveRunConfig(null, o.overrides ?? [], 'flags', base);
  }
  return resolveRunConfig(o.configFile ?? null, o.overrides ?? [], o.configFileName);
}

async function saveRunConfig(
  outDir: string,
  c: RunConfig,
  echo: JobOptions['echo'],
): Promise<void> {
  const text = `${JSON.stringify(c, null, 2)}\n`;
  (echo ?? process.stderr).write(`effective config:\n${text}`);
  await mkdir(outDir, { recursive: true });
  await writeFileAtomic(join(outDir, RUN_CONFIG_FILE), text);
}

function checkContext(c: RunConfig, maxPositions: number, who: string): void {
  if (c.data.seq_len > maxPositions) {
    throw new ConfigError(
      `data.seq_len ${c.data.seq_len} exceeds the ${maxPositions}-token context of ${who}`,
      `lower --data.seq_len to at most ${maxPositions}`,
    );
  }
}

/** Options of `distillJob`. */
export interface DistillOptions extends JobOptions {
  /** Teacher folder (native model folder or ONNX folder). */
  teacher: string;
  /** Student: `TYPE:SIZE` (`bispikclm:teacher`), a config.json, or a model folder. */
  student: string;
}

/** Distill a spiking student from a teacher (see the file header). */
export async function distillJob(o: DistillOptions): Promise<JobResult> {
  const outDir = resolve(o.out);
  const resume = await prepareRunDir(outDir, { resume: o.resume, overwrite: o.overwrite });
  const c = await effectiveConfig(o, resume !== null);
  const teacher = await loadTeacher(o.teacher, c.teacher.engine);
  const cleanup: (() => Promise<void> | void)[] = [() => teacher.dispose()];
  try {
    const tokenizer: HashedTokenizer = await loadDataTokenizer(teacher.dir);
    if (tokenizer.tokenizer.vocabSize > teacher.vocabSize) {
      throw new ConfigError(
        `tokenizer mismatch: ${teacher.dir}/tokenizer.json has ${tokenizer.tokenizer.vocabSize} ids, ` +
          `the teacher's vocabulary is ${teacher.vocabSize}`,
      );
    }
    const tShape = teacherShape(teacher.config, join(teacher.dir, 'config.json'));
    checkContext(c, tShape.max_position_embeddings as number, `the teacher ${teacher.dir}`);
    const source = await resolveModelSource(o.student, {
      vocabSize: teacher.vocabSize,
      teacher,
      overrides: c.model,
      seqLen: c.data.seq_len,
    });
    if (!['bispikclm', 'wd-spikingformer'].includes(source.config.model_type)) {
      log.warn(`the student is a ${source.config.model_type} (not spiking); distilling anyway`);
    }
    checkTokenizerMatch(teacher, {
      what: `the student ${source.label}`,
      vocabSize: source.config.vocab_size as number,
      tokenizerHash: source.tokenizerHash,
    });
    checkContext(c, source.config.max_position_embeddings as number, `the student ${source.label}`);
    await saveRunConfig(outDir, c, o.echo);
    const data = await prepareRunData(o.data, tokenizer, c);
    cleanup.push(() => data.close());
    const model = await instantiate(source, c.seed);
    cleanup.push(() => model.dispose());
    const sL = source.config.num_hidden_layers as number;
    const sD = source.config.hidden_size as number;
    const tL = tShape.num_hidden_layers as number;
    const tD = tShape.hidden_size as number;
    const alignHidden = teacher.provides.hidden && (c.loss.hidden > 0 || c.loss.embedding > 0);
    const projections = alignHidden && sD !== tD ? new SpadProjections(sD, tD, sL, c.seed) : null;
    if (projections) cleanup.push(() => projections.dispose());
    const map = layerMap(sL, tL, c.loss.layer_map);
    if (
      model instanceof SpikingCausalLM &&
      model.config.num_attention_heads !== tShape.num_attention_heads
    ) {
      log.info('student and teacher head counts differ: attention maps are compared head-averaged');
    }
    const result = await runTraining({
      model,
      teacher,
      projections,
      layerMap: map,
      train: data.train,
      val: data.val,
      config: c,
      outDir,
      resume,
      progress: o.progress,
      stop: o.stop,
    });
    let modelDir: string | null = null;
    if (result.status !== 'stopped') {
      modelDir = await saveFinalModel({
        model,
        outDir,
        tokenizerDir: teacher.dir,
        generationConfigDir: teacher.dir,
        projections,
        record: {
          job: 'distill',
          teacher: {
            dir: teacher.dir,
            engine: teacher.kind,
            model_type: String(teacher.config.model_type ?? ''),
            tokenizer_hash: teacher.tokenizerHash,
          },
          student: { spec: source.label, model_type: source.config.model_type },
          data: dataRecord(o.data, data.prepared, tokenizer.hash),
          losses: { ...c.loss, layer_map: map },
          projections: projections ? 'spad_projections.safetensors' : null,
          ...outcomeRecord(model, c, result),
        },
      });
    }
    return { ...result, outDir, modelDir, config: c };
  } finally {
    for (const f of cleanup.reverse()) await f();
  }
}

/** Options of `trainJob`. */
export interface TrainOptions extends JobOptions {
  /** `llama:small`, `bispikclm:tiny`, a config.json, or a model folder. */
  model: string;
  /** Tokenizer folder; default the model folder when it has tokenizer files. */
  tokenizer?: string | null;
}

/** Train any registry causal LM with cross-entropy (see the file header). */
export async function trainJob(o: TrainOptions): Promise<JobResult> {
  const outDir = resolve(o.out);
  const resume = await prepareRunDir(outDir, { resume: o.resume, overwrite: o.overwrite });
  const c = await effectiveConfig(o, resume !== null);
  const modelPath = resolve(o.model);
  const tokDir = o.tokenizer ?? (existsSync(join(modelPath, 'tokenizer.json')) ? modelPath : null);
  if (!tokDir) {
    throw new ConfigError(
      `snnlm train needs a tokenizer: ${o.model} has no tokenizer.json`,
      'pass --tokenizer DIR (a folder with tokenizer.json)',
    );
  }
  const tokenizer = await loadDataTokenizer(tokDir);
  const cleanup: (() => Promise<void> | void)[] = [];
  try {
    const source = await resolveModelSource(o.model, {
      vocabSize: tokenizer.tokenizer.vocabSize,
      overrides: c.model,
      seqLen: c.data.seq_len,
    });
    const vocab = source.config.vocab_size as number;
    if (vocab < tokenizer.tokenizer.vocabSize) {
      throw new ConfigError(
        `tokenizer mismatch: ${tokDir}/tokenizer.json has ${tokenizer.tokenizer.vocabSize} ids, ` +
          `the model ${source.label} a vocabulary of ${vocab}`,
      );
    }
    if (source.tokenizerHash && source.tokenizerHash !== tokenizer.hash) {
      throw new ConfigError(
        `tokenizer mismatch: the tokenizer files of ${source.label} differ from ${tokDir}`,
      );
    }
    checkContext(c, source.config.max_position_embeddings as number, source.label);
    await saveRunConfig(outDir, c, o.echo);
    const data = await prepareRunData(o.data, tokenizer, c);
    cleanup.push(() => data.close());
    const model = await instantiate(source, c.seed);
    cleanup.push(() => model.dispose());
    const result = await runTraining({
      model,
      train: data.train,
      val: data.val,
      config: c,
      outDir,
      resume,
      progress: o.progress,
      stop: o.stop,
    });
    let modelDir: string | null = null;
    if (result.status !== 'stopped') {
      modelDir = await saveFinalModel({
        model,
        outDir,
        tokenizerDir: tokDir,
        record: {
          job: 'train',
          teacher: null,
          model: { spec: source.label, model_type: source.config.model_type },
          data: dataRecord(o.data, data.prepared, tokenizer.hash),
          losses: { ce: 1 },
          ...outcomeRecord(model, c, result),
        },
      });
    }
    return { ...result, outDir, modelDir, config: c };
  } finally {
    for (const f of cleanup.reverse()) await f();
  }
}
