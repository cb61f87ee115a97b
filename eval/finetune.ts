// `snnlm finetune`: fine-tune an encoder (BERT, WE-Spikingformer) with a sequence-
// classification head on a GLUE task, as transformers' run_glue.py does it
// (conventions.md 2.4): cross-entropy (MSE with one output for STS-B) on the train split,
// AdamW with linear decay, dev scores after every epoch, the best epoch kept. Optional
// distillation from a fine-tuned ANN teacher: (1 − α)·task loss + α·T²·KL(teacher‖student)
// on temperature-softened logits (Hinton et al. 2015), MSE to the teacher's output for
// STS-B. Spiking students train with BPTT: one forward over all T steps under the tape,
// the surrogate gradients of their neurons, time-batch norm in training mode.
//
// Output folder `--out`: the best model as a model folder (config.json with num_labels and
// problem_type, model.safetensors, the tokenizer files, finetune_config.json,
// eval_results.json, all_results.json), `checkpoints/checkpoint-<step>` (resume state,
// one per evaluation, last 2 + best kept) and `finetune.log.jsonl`. A folder holding a
// checkpoint resumes from the newest one (HF example scripts' rule).
import { copyFile, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { tf } from '../src/tf.js';
import type { Scalar, Tensor } from '../src/tf.js';
import { ConfigError } from '../src/errors.js';
import { CONFIG_FILE, WEIGHTS_FILE, writeFileAtomic } from '../src/io/index.js';
import type { JsonObject } from '../src/io/index.js';
import { log } from '../src/log.js';
import { createRng } from '../src/generate/rng.js';
import { ProgressBar, RunLog } from '../src/progress.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import {
  AdamW,
  GradientAccumulator,
  NO_DECAY,
  checkpointTensors,
  findLatestCheckpoint,
  installStopSignal,
  loadCheckpoint,
  makeSchedule,
  optimizerStep,
  saveCheckpoint,
  valueAndGrads,
} from '../src/train/index.js';
import { modelSpec, loadPretrained, savePretrained, studentPreset } from '../models/index.js';
import { GLUE_TASKS, readGlue } from '../datasets/tasks/index.js';
import type { GlueTask } from '../datasets/tasks/index.js';
import {
  FINETUNE_CONFIG_FILE,
  GLUE_NUM_LABELS,
  batchLogits,
  disposeBatch,
  encodeGlueDocs,
  isSequenceClassifier,
  makeBatch,
  primaryMetric,
  scoreExamples,
} from './finetune-data.js';
import type { EncodedExample, SequenceClassifier } from './finetune-data.js';
import type { MetricValue } from './runner.js';

/** Built-in starting points: fresh weights of our two encoder families at two sizes. */
export const FINETUNE_PRESETS = [
  'bert-small',
  'bert-tiny',
  'we-spikingformer-small',
  'we-spikingformer-tiny',
] as const;
export type FinetunePreset = (typeof FINETUNE_PRESETS)[number];

/** Tokenizer files copied next to the fine-tuned weights. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

/** Settings of one fine-tuning run (the CLI flags). */
export interface FinetuneOptions {
  /** A model folder (encoder body, any head) or a preset name. */
  model: string;
  /** config.json fields to set on the model (e.g. `{ classifier_pooling: 'mean' }`). */
  modelConfig?: JsonObject;
  /** Tokenizer folder; default the model folder (required for presets). */
  tokenizer?: string;
  task: GlueTask;
  dataDir: string;
  out: string;
  /** @default 3 (run_glue's recipe) */
  epochs?: number;
  /** Peak learning rate. @default 2e-5 (run_glue's recipe) */
  lr?: number;
  /** @default 32 */
  batchSize?: number;
  /** @default 128 */
  maxLength?: number;
  /** @default 0 */
  seed?: number;
  /** Stop (evaluate, save) after this many minutes of training. */
  timeBudgetMin?: number;
  /** Fine-tuned teacher folder (same tokenizer, same head size) for distillation. */
  teacher?: string;
  /** Distillation temperature [P]. @default 2 */
  temperature?: number;
  /** Weight of the distillation term [P]. @default 0.5 */
  alpha?: number;
  /** Linear warm-up as a fraction of all steps [P]. @default 0.06 */
  warmupRatio?: number;
  /** @default 0.01 (biases and norms exempt) */
  weightDecay?: number;
  /** @default 1 */
  maxGradNorm?: number;
  /** Also evaluate (and checkpoint) every this many steps; default once per epoch. */
  evalEvery?: number;
  /** Train on a seeded subset of this many examples. */
  trainLimit?: number;
  /** Dev batch size. @default 64 */
  evalBatchSize?: number;
  /** Start afresh in a folder that already holds a run. @default false */
  overwrite?: boolean;
  /** Split a batch into micro-batches of at most this many padded tokens (memory). */
  maxBatchTokens?: number;
  /** Stop after this many optimizer steps in this call (tests of resume). */
  maxStepsThisRun?: number;
  /** Log progress to stderr. @default true */
  progress?: boolean;
}

/** What a run returns. */
export interface FinetuneResult {
  out: string;
  step: number;
  totalSteps: number;
  epoch: number;
  best: { metric: string; value: number; step: number } | null;
  /** Dev metrics of the last evaluation (of the model as it ended). */
  last: Record<string, MetricValue> | null;
  /** Dev metrics of the saved (best) model. */
  bestMetrics: Record<string, MetricValue> | null;
  stopped: 'done' | 'signal' | 'time' | 'steps';
}

const CLASSIFIER_ARCH: Record<string, string> = {
  bert: 'BertForSequenceClassification',
  'we-spikingformer': 'WESpikingformerForSequenceClassification',
};

/** config.json of a preset with a classification head for `numLabels` outputs. */
export function presetConfig(
  name: FinetunePreset,
  vocabSize: number,
  numLabels: number,
): JsonObject & { model_type: string } {
  const small = name.endsWith('-small');
  if (name.startsWith('bert')) {
    // Same trunk as the spiking `small`/`tiny` presets (D, L, H, MLP 4D) [P].
    const D = small ? 256 : 32;
    return {
      model_type: 'bert',
      architectures: [CLASSIFIER_ARCH.bert],
      vocab_size: vocabSize,
      hidden_size: D,
      num_hidden_layers: small ? 4 : 2,
      num_attention_heads: small ? 4 : 2,
      intermediate_size: 4 * D,
      max_position_embeddings: small ? 128 : 32,
      type_vocab_size: 2,
      num_labels: numLabels,
      problem_type: problemType(numLabels),
    };
  }
  return studentPreset('we-spikingformer', small ? 'small' : 'tiny', {
    architectures: [CLASSIFIER_ARCH['we-spikingformer']],
    vocab_size: vocabSize,
    num_labels: numLabels,
    problem_type: problemType(numLabels),
  });
}

/** transformers' `problem_type` for a GLUE head. */
export const problemType = (numLabels: number): string =>
  numLabels === 1 ? 'regression' : 'single_label_classification';

const isPreset = (s: string): s is FinetunePreset =>
  (FINETUNE_PRESETS as readonly string[]).includes(s);

/** Build the model to fine-tune: a preset with fresh weights, or a folder's body under a classifier. */
export async function buildFinetuneModel(
  spec: string,
  tok: Tokenizer,
  numLabels: number,
  seed: number,
  overrides: JsonObject = {},
): Promise<SequenceClassifier> {
  if (isPreset(spec)) {
    const config = { ...presetConfig(spec, tok.vocabSize, numLabels), ...overrides };
    return modelSpec(config.model_type, `preset ${spec}`).fromConfig(config, `preset ${spec}`, {
      seed,
    }) as unknown as SequenceClassifier;
  }
  const folderConfig = await readConfig(spec);
  const type = String(folderConfig.model_type);
  const arch = CLASSIFIER_ARCH[type];
  if (!arch) {
    throw new ConfigError(
      `${join(spec, CONFIG_FILE)}: model_type "${type}" is not an encoder we fine-tune`,
      `use a bert or we-spikingformer folder, or a preset: ${FINETUNE_PRESETS.join(', ')}`,
    );
  }
  if (isSequenceClassifier(folderConfig)) {
    const have = Number(folderConfig.num_labels ?? 2);
    if (have !== numLabels) {
      throw new ConfigError(
        `${join(spec, CONFIG_FILE)}: the classifier head has num_labels ${have}, the task needs ${numLabels}`,
        'start from the encoder body (an MLM or base folder) or a folder fine-tuned on a task with as many labels',
      );
    }
  }
  const model = await loadPretrained(spec, {
    config: {
      ...overrides,
      architectures: [arch],
      num_labels: numLabels,
      problem_type: problemType(numLabels),
    },
    seed,
  });
  return model as unknown as SequenceClassifier;
}

async function readConfig(dir: string): Promise<JsonObject> {
  const file = join(dir, CONFIG_FILE);
  const text = await readFile(file, 'utf8').catch(() => {
    throw new ConfigError(
      `--model ${dir}: no ${CONFIG_FILE} there`,
      `give a model folder or a preset: ${FINETUNE_PRESETS.join(', ')}`,
    );
  });
  return JSON.parse(text) as JsonObject;
}

/** Seeded permutation of `n` indices for `epoch` (Fisher–Yates). */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  const rng = createRng(seed * 1009 + epoch + 1);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** Batches per length-sorted group (transformers' `group_by_length` megabatches) [P]. */
export const LENGTH_GROUP_BATCHES = 50;

/**
 * The batches of one epoch, as example indices: a seeded shuffle cut into groups of
 * `LENGTH_GROUP_BATCHES` batches, each group sorted by length (longest first) and cut
 * into batches, so a batch pads little; then the batch order is shuffled too.
 */
export function epochBatches(
  lengths: readonly number[],
  batchSize: number,
  seed: number,
  epoch: number,
): number[][] {
  const order = epochOrder(lengths.length, seed, epoch);
  const group = batchSize * LENGTH_GROUP_BATCHES;
  const batches: number[][] = [];
  for (let g = 0; g < order.length; g += group) {
    const chunk = order.slice(g, g + group).sort((a, b) => lengths[b] - lengths[a] || a - b);
    for (let i = 0; i < chunk.length; i += batchSize) batches.push(chunk.slice(i, i + batchSize));
  }
  const perm = epochOrder(batches.length, seed + 1, epoch);
  return perm.map((i) => batches[i]);
}

function checkTask(task: string): GlueTask {
  if (!(GLUE_TASKS as readonly string[]).includes(task)) {
    throw new ConfigError(
      `unknown GLUE task ${JSON.stringify(task)}; known: ${GLUE_TASKS.join(', ')}`,
    );
  }
  return task as GlueTask;
}

function positive(value: number, name: string, integer: boolean): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new ConfigError(
      `${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`,
    );
  }
  return value;
}

/** The loss of one batch (scalar); `teacher` logits `[B, C]` when distilling. */
function batchLoss(
  logits: Tensor,
  labels: number[],
  regression: boolean,
  teacher: Tensor | null,
  temperature: number,
  alpha: number,
): Scalar {
  const C = logits.shape[1]!;
  let task: Scalar;
  if (regression) {
    const y = tf.reshape(logits, [-1]); // [B]
    task = tf.mean(tf.square(tf.sub(y, tf.tensor1d(labels))));
  } else {
    const logp = tf.logSoftmax(logits); // [B, C]
    const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), C); // [B, C]
    task = tf.neg(tf.mean(tf.sum(tf.mul(logp, onehot), 1))) as Scalar;
  }
  if (!teacher) return task;
  let kd: Scalar;
  if (regression) {
    kd = tf.mean(tf.square(tf.sub(logits, teacher)));
  } else {
    const pt = tf.softmax(tf.div(teacher, temperature)); // [B, C]
    const logPt = tf.logSoftmax(tf.div(teacher, temperature));
    const logPs = tf.logSoftmax(tf.div(logits, temperature));
    const kl = tf.mean(tf.sum(tf.mul(pt, tf.sub(logPt, logPs)), 1));
    kd = tf.mul(kl, temperature * temperature);
  }
  return tf.add(tf.mul(task, 1 - alpha), tf.mul(kd, alpha));
}

async function writeModelFolder(
  model: SequenceClassifier,
  out: string,
  tokDir: string,
  record: JsonObject,
  results: JsonObject,
): Promise<void> {
  const tmp = join(out, `.model.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const extra: Record<string, string> = {
    [FINETUNE_CONFIG_FILE]: `${JSON.stringify(record, null, 2)}\n`,
    'eval_results.json': `${JSON.stringify(results, null, 2)}\n`,
  };
  try {
    await savePretrained(model, tmp, { extraFiles: extra });
    for (const f of TOKENIZER_FILES) {
      const src = join(tokDir, f);
      if (await stat(src).catch(() => null)) await copyFile(src, join(tmp, f));
    }
    // The weights first and config.json last: a folder whose config is readable is whole.
    const names = (await readdir(tmp)).sort((a, b) =>
      a === CONFIG_FILE ? 1 : b === CONFIG_FILE ? -1 : a === WEIGHTS_FILE ? -1 : 0,
    );
    for (const f of names) await rename(join(tmp, f), join(out, f));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Fine-tune per `o`; see the file header. */
export async function finetune(o: FinetuneOptions): Promise<FinetuneResult> {
  const task = checkTask(o.task);
  const epochs = positive(o.epochs ?? 3, '--epochs', true);
  const lr = positive(o.lr ?? 2e-5, '--lr', false);
  const batchSize = positive(o.batchSize ?? 32, '--batch-size', true);
  const maxLength = positive(o.maxLength ?? 128, '--max-length', true);
  const evalBatchSize = positive(o.evalBatchSize ?? 64, 'eval batch size', true);
  const seed = o.seed ?? 0;
  const temperature = positive(o.temperature ?? 2, '--temperature', false);
  const alpha = o.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new ConfigError(`--alpha must be in [0, 1], got ${alpha}`);
  const numLabels = GLUE_NUM_LABELS[task];
  const regression = numLabels === 1;
  const out = resolve(o.out);
  const ckptDir = join(out, 'checkpoints');

  // The output folder: resume from its newest checkpoint, refuse other content.
  let resumeFrom: string | null = null;
  const existing = await readdir(out).catch(() => [] as string[]);
  if (existing.length > 0) {
    if (o.overwrite) {
      await rm(out, { recursive: true, force: true });
    } else {
      resumeFrom = (await findLatestCheckpoint(ckptDir))?.dir ?? null;
      if (!resumeFrom) {
        throw new ConfigError(
          `--out ${o.out} is not empty and holds no checkpoint to resume from`,
          'pass --overwrite-output-dir to start afresh there, or choose another folder',
        );
      }
    }
  }
  await mkdir(out, { recursive: true });

  const tokDir = o.tokenizer ?? (isPreset(o.model) ? null : o.model);
  if (!tokDir) {
    throw new ConfigError(
      `--model ${o.model} is a preset: pass --tokenizer DIR (a folder with tokenizer.json)`,
    );
  }
  const tok = await Tokenizer.fromFolder(tokDir);
  const padId = tok.padId ?? 0;
  const trainDocs = await readGlue(o.dataDir, task, 'train');
  const devDocs = await readGlue(o.dataDir, task, 'dev');
  let train: EncodedExample[] = encodeGlueDocs(tok, trainDocs, maxLength);
  if (o.trainLimit !== undefined && o.trainLimit < train.length) {
    train = epochOrder(train.length, seed, -1)
      .slice(0, o.trainLimit)
      .map((i) => train[i]);
  }
  const dev = encodeGlueDocs(tok, devDocs, maxLength);
  if (!regression) {
    const bad = [...train, ...dev].find((e) => e.label < 0 || e.label >= numLabels);
    if (bad) throw new ConfigError(`${task}: label ${bad.label} outside 0..${numLabels - 1}`);
  }

  const model = await buildFinetuneModel(o.model, tok, numLabels, seed, o.modelConfig);
  const teacher = o.teacher
    ? ((await loadPretrained(o.teacher)) as unknown as SequenceClassifier)
    : null;
  const stop = installStopSignal();
  const runLog = new RunLog(join(out, 'finetune.log.jsonl'));
  try {
    if (model.getConfig().max_position_embeddings !== undefined) {
      const maxPos = Number(model.getConfig().max_position_embeddings);
      if (maxLength > maxPos) {
        throw new ConfigError(
          `--max-length ${maxLength} exceeds the model's max_position_embeddings ${maxPos}`,
        );
      }
    }
    if (teacher) {
      const tc = teacher.getConfig();
      if (!isSequenceClassifier(tc) || Number(tc.num_labels ?? 2) !== numLabels) {
        throw new ConfigError(
          `--teacher ${o.teacher}: needs a classifier head with num_labels ${numLabels} (fine-tuned on ${task})`,
        );
      }
      if (Number(tc.vocab_size) !== tok.vocabSize) {
        throw new ConfigError(
          `--teacher ${o.teacher}: vocab_size ${String(tc.vocab_size)} differs from the tokenizer's ${tok.vocabSize}`,
          'teacher and student must share the tokenizer',
        );
      }
    }
    const stepsPerEpoch = Math.ceil(train.length / batchSize);
    const totalSteps = stepsPerEpoch * epochs;
    const warmup = Math.round((o.warmupRatio ?? 0.06) * totalSteps);
    const schedule = makeSchedule({ kind: 'linear', lr, warmupSteps: warmup, totalSteps });
    const params = model.namedParameters();
    const opt = new AdamW(params, { lr, weightDecay: o.weightDecay ?? 0.01, groups: [NO_DECAY] });
    const evalEvery = o.evalEvery ?? stepsPerEpoch;
    const record: JsonObject = {
      task,
      num_labels: numLabels,
      problem_type: problemType(numLabels),
      base_model: o.model,
      model_config: o.modelConfig ?? {},
      tokenizer: tokDir,
      teacher: o.teacher ?? null,
      ...(o.teacher ? { temperature, alpha } : {}),
      epochs,
      learning_rate: lr,
      lr_schedule: 'linear',
      warmup_steps: warmup,
      weight_decay: o.weightDecay ?? 0.01,
      max_grad_norm: o.maxGradNorm ?? 1,
      train_batch_size: batchSize,
      max_batch_tokens: o.maxBatchTokens ?? null,
      eval_batch_size: evalBatchSize,
      max_length: maxLength,
      seed,
      train_examples: train.length,
      dev_examples: dev.length,
      gradient_rule: model.modelType === 'we-spikingformer' ? 'bptt' : 'backprop',
      time_budget_min: o.timeBudgetMin ?? null,
    };

    let step = 0;
    let best: FinetuneResult['best'] = null;
    let bestMetrics: Record<string, MetricValue> | null = null;
    let trainLossSum = 0;
    let trainLossCount = 0;
    if (resumeFrom) {
      const ck = await loadCheckpoint(resumeFrom);
      const tensors = checkpointTensors(ck);
      try {
        model.loadState(tensors);
      } finally {
        tf.dispose([...tensors.values()]);
      }
      opt.loadState(ck.optimizer);
      step = ck.step;
      const bm = ck.trainerState.bestMetric;
      const bs = ck.trainerState.bestStep;
      const extra = (ck.trainerState.dataCursor ?? {}) as {
        best_metrics?: Record<string, MetricValue>;
        loss_sum?: number;
        loss_count?: number;
      };
      if (bm !== null && bs !== null) best = { metric: primaryMetric(task), value: bm, step: bs };
      bestMetrics = extra.best_metrics ?? null;
      trainLossSum = extra.loss_sum ?? 0;
      trainLossCount = extra.loss_count ?? 0;
      log.info(`finetune: resuming from ${resumeFrom} (step ${step} of ${totalSteps})`);
      runLog.write({ event: 'resume', from: resumeFrom, step });
    } else {
      runLog.write({ event: 'start', ...record, total_steps: totalSteps });
    }

    const evaluate = async (): Promise<Record<string, MetricValue>> => {
      const r = await scoreExamples(model, task, dev, { batchSize: evalBatchSize, padId });
      const flat = Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [k, v.value]));
      runLog.write({
        event: 'eval',
        split: 'dev',
        step,
        epoch: step / stepsPerEpoch,
        loss: r.loss,
        ...flat,
      });
      const key = primaryMetric(task);
      const value = r.metrics[key].value;
      const results: JsonObject = {
        epoch: step / stepsPerEpoch,
        eval_loss: r.loss,
        eval_samples: dev.length,
        ...Object.fromEntries(Object.entries(flat).map(([k, v]) => [`eval_${k}`, v])),
      };
      if (
        best === null ||
        (Number.isFinite(value) && value > best.value) ||
        !Number.isFinite(best.value)
      ) {
        best = { metric: key, value: Number.isFinite(value) ? value : -Infinity, step };
        bestMetrics = r.metrics;
        await writeModelFolder(model, out, tokDir, { ...record, best_step: step }, results);
      }
      process.stderr.write(
        `finetune: step ${step} dev ${Object.entries(flat)
          .map(([k, v]) => `${k} ${v.toFixed(4)}`)
          .join(', ')} (best ${best.metric} ${best.value.toFixed(4)} at step ${best.step})\n`,
      );
      return r.metrics;
    };

    const checkpoint = async () => {
      await saveCheckpoint(ckptDir, step, {
        model: { config: model.getConfig(), tensors: model.stateDict() },
        optimizer: opt,
        trainerState: {
          epoch: step / stepsPerEpoch,
          bestMetric: best && Number.isFinite(best.value) ? best.value : null,
          bestStep: best?.step ?? null,
          dataCursor: {
            step,
            best_metrics: bestMetrics,
            loss_sum: trainLossSum,
            loss_count: trainLossCount,
          } as unknown as JsonObject,
          rngState: { seed },
          logHistory: runLog.tail() as JsonObject[],
        },
        keepLast: 2,
      });
    };

    const bar =
      o.progress === false
        ? null
        : new ProgressBar({ total: totalSteps, initialStep: step, everySteps: 20 });
    const t0 = performance.now();
    let stopped: FinetuneResult['stopped'] = 'done';
    let last: Record<string, MetricValue> | null = null;
    let stepsThisRun = 0;
    let dirty = false;
    const accum = new GradientAccumulator();
    let order: number[][] = [];
    let orderEpoch = -1;
    const lengths = train.map((e) => e.ids.length);
    while (step < totalSteps) {
      if (stop.requested) {
        stopped = 'signal';
        break;
      }
      if (o.timeBudgetMin !== undefined && performance.now() - t0 > o.timeBudgetMin * 60_000) {
        stopped = 'time';
        break;
      }
      if (o.maxStepsThisRun !== undefined && stepsThisRun >= o.maxStepsThisRun) {
        stopped = 'steps';
        break;
      }
      const epoch = Math.floor(step / stepsPerEpoch);
      if (epoch !== orderEpoch) {
        [order, orderEpoch] = [epochBatches(lengths, batchSize, seed, epoch), epoch];
      }
      const members = order[step % stepsPerEpoch].map((i) => train[i]);
      const longest = Math.max(...members.map((e) => e.ids.length));
      const rows = o.maxBatchTokens
        ? Math.max(1, Math.floor(o.maxBatchTokens / longest))
        : members.length;
      model.train();
      opt.lr = schedule(step);
      let lossValue = 0;
      let tokens = 0;
      // Micro-batches of at most `rows` examples; gradients weighted by their size, so the
      // update is that of the whole batch (batch norm sees each micro-batch on its own).
      for (let m = 0; m < members.length; m += rows) {
        const batch = makeBatch(members.slice(m, m + rows), padId);
        try {
          const tLogits = teacher
            ? tf.tidy(() => {
                teacher.eval();
                return batchLogits(teacher, batch);
              })
            : null;
          const { loss, grads } = valueAndGrads(
            () =>
              batchLoss(
                batchLogits(model, batch),
                batch.labels,
                regression,
                tLogits,
                temperature,
                alpha,
              ),
            params,
          );
          tLogits?.dispose();
          accum.add(grads, batch.labels.length);
          tf.dispose([...grads.values()]);
          lossValue += ((await loss.data())[0] * batch.labels.length) / members.length;
          loss.dispose();
          tokens += batch.tokens;
        } finally {
          disposeBatch(batch);
        }
      }
      const grads = accum.mean();
      accum.reset();
      const r = await optimizerStep(opt, grads, { maxGradNorm: o.maxGradNorm ?? 1 });
      tf.dispose([...grads.values()]);
      step += 1;
      stepsThisRun += 1;
      dirty = true;
      trainLossSum += lossValue;
      trainLossCount += 1;
      const lrNow = opt.lr;
      bar?.update(step, { tokens, metrics: { loss: lossValue, lr: lrNow } });
      if (step % 10 === 0 || step === 1) {
        runLog.write({
          step,
          epoch: step / stepsPerEpoch,
          loss: lossValue,
          lr: lrNow,
          grad_norm: r.gradNorm,
          tokens,
        });
      }
      if (step % evalEvery === 0 || step === totalSteps) {
        last = await evaluate();
        await checkpoint();
        dirty = false;
      }
    }
    bar?.close();
    if (dirty) {
      // Interrupted (signal, time or step limit) between evaluations: score what we have,
      // keep it if best, and save the state to continue from.
      if (stopped !== 'steps') last = await evaluate();
      await checkpoint();
    }
    const trainTime = (performance.now() - t0) / 1000;
    const summary: JsonObject = {
      epoch: step / stepsPerEpoch,
      global_step: step,
      total_steps: totalSteps,
      train_loss: trainLossCount ? trainLossSum / trainLossCount : null,
      train_runtime: trainTime,
      train_steps_per_second: stepsThisRun / Math.max(trainTime, 1e-9),
      train_samples_per_second: (stepsThisRun * batchSize) / Math.max(trainTime, 1e-9),
      stopped,
      best_step: (best as FinetuneResult['best'])?.step ?? null,
      ...Object.fromEntries(
        Object.entries((bestMetrics ?? {}) as Record<string, MetricValue>).map(([k, v]) => [
          `eval_${k}`,
          v.value,
        ]),
      ),
    };
    await writeFileAtomic(join(out, 'all_results.json'), `${JSON.stringify(summary, null, 2)}\n`);
    runLog.write({ event: 'done', ...summary });
    if (stopped === 'signal')
      log.info(`finetune: stopped by signal; rerun the same command to resume`);
    return {
      out,
      step,
      totalSteps,
      epoch: step / stepsPerEpoch,
      best,
      last,
      bestMetrics,
      stopped,
    };
  } finally {
    stop.dispose();
    runLog.close();
    model.dispose();
    teacher?.dispose();
  }
}
