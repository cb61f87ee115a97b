// The data side of GLUE fine-tuning for encoders: sentence (pair) encoding with the
// tokenizer's own special tokens and segment ids, longest-first truncation, batches
// padded to their longest member, and dev-set prediction/scoring of a model with a
// sequence-classification head (shared by `snnlm finetune` and `snnlm eval`).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { ConfigError } from '../src/errors.js';
import type { JsonObject } from '../src/io/index.js';
import type { Tokenizer } from '../src/tokenizer/index.js';
import type { PretrainedModel } from '../models/index.js';
import { glueFile, readGlue, resolveDataFile, takeSubset } from '../datasets/tasks/index.js';
import type { GlueDoc, GlueTask } from '../datasets/tasks/index.js';
import { GLUE_METRICS, scoreGlue } from './glue.js';
import type { MetricValue } from './runner.js';

/** File of a fine-tuned folder that records how it was trained (and how to encode for it). */
export const FINETUNE_CONFIG_FILE = 'finetune_config.json';

/** Labels per task (STS-B: 1, a regression output). */
export const GLUE_NUM_LABELS: Readonly<Record<GlueTask, number>> = {
  sst2: 2,
  mrpc: 2,
  rte: 2,
  cola: 2,
  qnli: 2,
  stsb: 1,
};

/** One encoded example. */
export interface EncodedExample {
  ids: number[];
  /** Segment ids (0 first sentence, 1 second). */
  types: number[];
  /** Class id, or the STS-B score. */
  label: number;
}

/** A model with a sequence-classification (or regression) head: logits `[B, num_labels]`. */
export type SequenceClassifier = PretrainedModel & {
  forward(
    ids: Tensor,
    options: { attentionMask?: Tensor | null; tokenTypeIds?: Tensor | null },
  ): { logits?: Tensor };
};

/** True when a config.json asks for a sequence-classification head. */
export function isSequenceClassifier(config: JsonObject): boolean {
  const arch = Array.isArray(config.architectures) ? String(config.architectures[0]) : '';
  return arch.endsWith('ForSequenceClassification');
}

/**
 * Encode `docs`: the tokenizer's post-processor adds its special tokens (BERT: `[CLS] A
 * [SEP] B [SEP]`, segment ids 0/1); longer than `maxLength`, tokens are dropped from the
 * end of the longer sentence first (transformers' `longest_first`), special tokens kept.
 */
export function encodeGlueDocs(
  tok: Tokenizer,
  docs: readonly GlueDoc[],
  maxLength: number,
): EncodedExample[] {
  return docs.map((d, i) => {
    const e = tok.encodeDetailed(
      d.sentence1,
      d.sentence2 === undefined ? {} : { textPair: d.sentence2 },
    );
    const special = e.ids.map((id) => tok.specialIds.has(id));
    const plain = special.filter((s) => !s).length;
    const fixed = e.ids.length - plain;
    if (fixed >= maxLength) {
      throw new ConfigError(
        `--max-length ${maxLength} leaves no room for text after ${fixed} special tokens (example ${i})`,
      );
    }
    if (e.ids.length <= maxLength) return { ids: e.ids, types: e.typeIds, label: d.label };
    const count = [0, 0];
    e.typeIds.forEach((t, j) => {
      if (!special[j]) count[t === 1 ? 1 : 0] += 1;
    });
    let excess = e.ids.length - maxLength;
    while (excess > 0) {
      count[count[0] >= count[1] ? 0 : 1] -= 1;
      excess -= 1;
    }
    const seen = [0, 0];
    const ids: number[] = [];
    const types: number[] = [];
    e.ids.forEach((id, j) => {
      const seg = e.typeIds[j] === 1 ? 1 : 0;
      if (!special[j]) {
        if (seen[seg] >= count[seg]) return;
        seen[seg] += 1;
      }
      ids.push(id);
      types.push(e.typeIds[j]);
    });
    return { ids, types, label: d.label };
  });
}

/** A padded batch: ids, attention mask and segment ids `[B, N]` (N = longest member). */
export interface GlueBatch {
  ids: Tensor;
  mask: Tensor;
  types: Tensor;
  labels: number[];
  tokens: number;
}

/** Pad `examples` to their longest member with `padId` (caller disposes the tensors). */
export function makeBatch(examples: readonly EncodedExample[], padId: number): GlueBatch {
  const B = examples.length;
  const N = Math.max(...examples.map((e) => e.ids.length));
  const ids = new Int32Array(B * N).fill(padId);
  const mask = new Int32Array(B * N);
  const types = new Int32Array(B * N);
  let tokens = 0;
  examples.forEach((e, b) => {
    ids.set(e.ids, b * N);
    mask.fill(1, b * N, b * N + e.ids.length);
    types.set(e.types, b * N);
    tokens += e.ids.length;
  });
  return {
    ids: tf.tensor2d(ids, [B, N], 'int32'),
    mask: tf.tensor2d(mask, [B, N], 'int32'),
    types: tf.tensor2d(types, [B, N], 'int32'),
    labels: examples.map((e) => e.label),
    tokens,
  };
}

/** Free a batch's tensors. */
export function disposeBatch(b: GlueBatch): void {
  tf.dispose([b.ids, b.mask, b.types]);
}

/** Logits `[B, C]` of a batch (the model's mode is the caller's). */
export function batchLogits(model: SequenceClassifier, b: GlueBatch): Tensor {
  const out = model.forward(b.ids, { attentionMask: b.mask, tokenTypeIds: b.types });
  if (!out.logits) throw new ConfigError(`${model.modelType}: the model has no classifier head`);
  return out.logits;
}

/** Predictions of a model on encoded examples, in eval mode. */
export interface GluePredictions {
  /** Argmax class, or the regression output. */
  preds: number[];
  /** Mean loss (cross-entropy, or MSE for regression). */
  loss: number;
}

/** Predict `examples` in batches of `batchSize` (eval mode; the model is left in eval mode). */
export async function predictGlue(
  model: SequenceClassifier,
  examples: readonly EncodedExample[],
  options: { batchSize: number; padId: number; regression: boolean },
): Promise<GluePredictions> {
  model.eval();
  // Batches of similar lengths (longest first), predictions put back in input order.
  const order = examples
    .map((e, i) => [e.ids.length, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .map(([, i]) => i);
  const preds = new Array<number>(examples.length).fill(NaN);
  let lossSum = 0;
  for (let i = 0; i < examples.length; i += options.batchSize) {
    const idx = order.slice(i, i + options.batchSize);
    const b = makeBatch(
      idx.map((j) => examples[j]),
      options.padId,
    );
    try {
      const [p, l] = tf.tidy(() => {
        const logits = batchLogits(model, b); // [B, C]
        const labels = tf.tensor1d(b.labels, options.regression ? 'float32' : 'int32');
        if (options.regression) {
          const y = tf.reshape(logits, [-1]); // [B]
          return [y, tf.sum(tf.square(tf.sub(y, labels)))];
        }
        const logp = tf.logSoftmax(logits); // [B, C]
        const nll = tf.neg(tf.sum(tf.mul(logp, tf.oneHot(labels, logits.shape[1]!)), 1)); // [B]
        return [tf.argMax(logits, 1), tf.sum(nll)];
      });
      const got = await p.data();
      idx.forEach((j, k) => (preds[j] = got[k]));
      lossSum += (await l.data())[0];
      tf.dispose([p, l]);
    } finally {
      disposeBatch(b);
    }
  }
  return { preds, loss: lossSum / Math.max(1, examples.length) };
}

/** What `finetune_config.json` must say for scoring. */
export interface FinetuneRecord {
  task: GlueTask;
  max_length: number;
  eval_batch_size: number;
}

/** Read `finetune_config.json` of a fine-tuned folder (clear errors when absent or wrong). */
export async function readFinetuneRecord(dir: string): Promise<FinetuneRecord & JsonObject> {
  const file = join(dir, FINETUNE_CONFIG_FILE);
  let raw: JsonObject;
  try {
    raw = JSON.parse(await readFile(file, 'utf8')) as JsonObject;
  } catch (e) {
    throw new ConfigError(
      `${file}: cannot read the fine-tuning record (${(e as Error).message})`,
      'a folder written by `snnlm finetune` has one',
    );
  }
  for (const k of ['task', 'max_length', 'eval_batch_size']) {
    if (raw[k] === undefined) throw new ConfigError(`${file}: field "${k}" is missing`);
  }
  return raw as FinetuneRecord & JsonObject;
}

/** Scores of a fine-tuned model on a task's dev split. */
export interface GlueDevScore {
  task: GlueTask;
  file: string;
  metrics: Record<string, MetricValue>;
  loss: number;
  preds: number[];
  n_original: number;
  n_effective: number;
  tokens: number;
  time_s: number;
}

/** Score `model` on the dev split of `task` (`limit`: a seeded subset, as the QA tasks take). */
export async function scoreGlueDev(
  model: SequenceClassifier,
  tok: Tokenizer,
  task: GlueTask,
  dataDir: string,
  options: { maxLength: number; batchSize: number; limit?: number; seed?: number },
): Promise<GlueDevScore> {
  const t0 = performance.now();
  const file = await resolveDataFile(dataDir, glueFile(task, 'dev'));
  const docs = await readGlue(dataDir, task, 'dev');
  const subset = takeSubset(docs, options.limit, options.seed ?? 0);
  const examples = encodeGlueDocs(tok, subset.docs, options.maxLength);
  return {
    ...(await scoreExamples(model, task, examples, {
      batchSize: options.batchSize,
      padId: tok.padId ?? 0,
    })),
    file,
    n_original: docs.length,
    n_effective: examples.length,
    tokens: examples.reduce((s, e) => s + e.ids.length, 0),
    time_s: (performance.now() - t0) / 1000,
  };
}

/** Predict and score encoded dev examples. */
export async function scoreExamples(
  model: SequenceClassifier,
  task: GlueTask,
  examples: readonly EncodedExample[],
  options: { batchSize: number; padId: number },
): Promise<{
  task: GlueTask;
  metrics: Record<string, MetricValue>;
  loss: number;
  preds: number[];
}> {
  const regression = task === 'stsb';
  const p = await predictGlue(model, examples, { ...options, regression });
  const metrics = scoreGlue(
    task,
    examples.map((e) => e.label),
    p.preds,
    1000,
  );
  return { task, metrics, loss: p.loss, preds: p.preds };
}

/** The metric that picks the best epoch: the task's first (accuracy, MCC, Pearson). */
export const primaryMetric = (task: GlueTask): string => GLUE_METRICS[task][0];
