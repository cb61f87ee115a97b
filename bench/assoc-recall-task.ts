// Synthetic associative recall (methods-language.md 1(f) check 7) for the spiking
// decoders: a sequence of K key→value pairs `k1 v1 k2 v2 … kK vK` followed by a query
// key `q` (one of the K keys); the target is the value paired with `q`. Keys use ids
// 0..numKeys-1 and values numKeys..numKeys+numValues-1 (disjoint ranges); the K keys of
// a sequence are distinct, values are drawn uniformly (repeats allowed), so a model that
// cannot look back at the pairs is at chance 1 / numValues. Loss and accuracy are taken
// on the answer position only (the logits at the query, the last position). Also holds
// the training loop shared by bench/assoc-recall.ts and its test: AdamW + warm-up/cosine
// schedule + global-norm clipping, one tidy per step, and the "attention replaced by
// zeros" control (every `layers.{i}.attn.o.weight` set to 0 and left out of training,
// so each attention sub-block adds exactly 0 to the residual stream).
import { tf } from '../src/tf.js';
import type { Scalar, Tensor, Variable } from '../src/tf.js';
import { createRng } from '../src/generate/rng.js';
import type { Rng } from '../src/generate/rng.js';
import { AdamW, makeSchedule, optimizerStep, valueAndGrads } from '../src/train/index.js';
import { buildModel, studentPreset } from '../models/index.js';
import type { SpikingCausalLM } from '../models/index.js';
import type { JsonObject } from '../src/io/index.js';

/** Shape of the task. */
export interface RecallTask {
  /** Key→value pairs per sequence (K). */
  pairs: number;
  numKeys: number;
  numValues: number;
}

/** A batch: ids `[B, 2K + 1]` int32 and the answer ids `[B]` int32 (owned by the caller). */
export interface RecallBatch {
  ids: Tensor;
  targets: Tensor;
}

/** Sequence length of a task: K pairs and the query. */
export const seqLength = (t: RecallTask): number => 2 * t.pairs + 1;
/** Vocabulary size: keys then values. */
export const vocabSize = (t: RecallTask): number => t.numKeys + t.numValues;

function randInt(rng: Rng, n: number): number {
  return Math.floor(rng.next() * n);
}

/** Plain arrays of `batch` sequences drawn from `rng` (no tensors). */
export function sampleRecall(
  task: RecallTask,
  batch: number,
  rng: Rng,
): { ids: number[][]; targets: number[] } {
  if (task.pairs > task.numKeys) throw new Error('pairs must not exceed numKeys');
  const ids: number[][] = [];
  const targets: number[] = [];
  for (let b = 0; b < batch; b++) {
    const keys = Array.from({ length: task.numKeys }, (_, i) => i);
    for (let i = 0; i < task.pairs; i++) {
      // partial Fisher–Yates: the first K entries become K distinct keys
      const j = i + randInt(rng, task.numKeys - i);
      [keys[i], keys[j]] = [keys[j], keys[i]];
    }
    const seq: number[] = [];
    const vals: number[] = [];
    for (let i = 0; i < task.pairs; i++) {
      const v = task.numKeys + randInt(rng, task.numValues);
      vals.push(v);
      seq.push(keys[i], v);
    }
    const qi = randInt(rng, task.pairs);
    seq.push(keys[qi]);
    ids.push(seq);
    targets.push(vals[qi]);
  }
  return { ids, targets };
}

/** A batch as tensors. */
export function recallBatch(task: RecallTask, batch: number, rng: Rng): RecallBatch {
  const s = sampleRecall(task, batch, rng);
  return {
    ids: tf.tensor2d(s.ids, [batch, seqLength(task)], 'int32'),
    targets: tf.tensor1d(s.targets, 'int32'),
  };
}

/** Model size and mixer switches (the WD tiny preset with the check-7 overrides). */
export interface RecallModelOptions {
  hiddenSize?: number;
  layers?: number;
  heads?: number;
  timeSteps?: number;
  wtaK?: number;
  attentionType?: 'cwssa' | 'sfsa' | 'ssa' | 'softmax_spiking';
  /** Further config.json fields (diagnostics: neuron, thresholds, norms...). */
  config?: JsonObject;
}

/** WD-Spikingformer (D 64, L 2, H 2, T 2 by default) sized for the task. */
export function buildRecallModel(task: RecallTask, o: RecallModelOptions = {}): SpikingCausalLM {
  const attention = o.attentionType ?? 'cwssa';
  const config = studentPreset('wd-spikingformer', 'tiny', {
    vocab_size: vocabSize(task),
    hidden_size: o.hiddenSize ?? 64,
    num_hidden_layers: o.layers ?? 2,
    num_attention_heads: o.heads ?? 2,
    time_steps: o.timeSteps ?? 2,
    max_position_embeddings: seqLength(task),
    attention_type: attention,
    ...(attention === 'cwssa' ? { wta_k: o.wtaK ?? 1 } : {}),
    ...(o.config ?? {}),
  });
  return buildModel(config, 'assoc-recall') as SpikingCausalLM;
}

/** What training and evaluation need of a model (a spiking student or a softmax reference). */
export type RecallModel = Pick<
  SpikingCausalLM,
  'forward' | 'namedParameters' | 'train' | 'eval' | 'training' | 'dispose'
>;

/**
 * The softmax reference of the same shape: a float LLaMA (RoPE, softmax attention, SwiGLU
 * MLP 4D) with D, L, H of the student — what the task costs a non-spiking model under the
 * same recipe (a calibration of the budget, not part of check 7).
 */
export function buildRecallReference(task: RecallTask, o: RecallModelOptions = {}): RecallModel {
  const D = o.hiddenSize ?? 64;
  const H = o.heads ?? 2;
  const config = {
    ...{ model_type: 'llama', vocab_size: vocabSize(task), hidden_size: D },
    ...{ intermediate_size: 4 * D, num_hidden_layers: o.layers ?? 2, num_attention_heads: H },
    ...{ num_key_value_heads: H, max_position_embeddings: seqLength(task) },
    ...{ rms_norm_eps: 1e-5, initializer_range: 0.02, tie_word_embeddings: false },
  };
  return buildModel(config, 'assoc-recall reference') as unknown as RecallModel;
}

/** Names of the attention output projections (zeroed and frozen in the control). */
export const isAttnOut = (name: string): boolean => /^layers\.\d+\.attn\.o\.weight$/.test(name);

/**
 * The "attention replaced by zeros" control: every attention output projection Wo is set
 * to 0; with the per-token norm after it (RMSNorm(0) = 0) each attention sub-block then
 * adds exactly 0 to the residual stream, so no position sees any other. Returns the
 * parameters left to train (everything but those weights).
 */
export function zeroAttention(model: RecallModel): [string, Variable][] {
  for (const [name, v] of model.namedParameters()) {
    if (isAttnOut(name)) tf.tidy(() => v.assign(tf.zerosLike(v)));
  }
  return model.namedParameters().filter(([n, v]) => v.trainable && !isAttnOut(n));
}

/** Logits at the answer (last) position `[B, V]`. */
function answerLogits(model: RecallModel, ids: Tensor): Tensor {
  const logits = model.forward(ids).logits; // [B, N, V]
  const [B, N, V] = logits.shape as [number, number, number];
  return tf.reshape(tf.slice(logits, [0, N - 1, 0], [B, 1, V]), [B, V]);
}

/** Mean cross-entropy on the answer position. Run under a tidy / tape. */
export function recallLoss(model: RecallModel, batch: RecallBatch): Scalar {
  const logits = answerLogits(model, batch.ids);
  const onehot = tf.oneHot(batch.targets, logits.shape[1] as number);
  return tf.losses.softmaxCrossEntropy(onehot, logits) as Scalar;
}

/** Accuracy (argmax over the whole vocabulary) on a fixed held-out batch, eval mode. */
export function recallAccuracy(model: RecallModel, batch: RecallBatch): number {
  const wasTraining = model.training;
  model.eval();
  try {
    const acc = tf.tidy(() => {
      const pred = tf.argMax(answerLogits(model, batch.ids), -1);
      return tf.mean(tf.cast(tf.equal(pred, batch.targets), 'float32'));
    });
    const v = acc.dataSync()[0];
    acc.dispose();
    return v;
  } finally {
    model.train(wasTraining);
  }
}

/** Training settings. */
export interface RecallTrainOptions {
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  maxGradNorm: number;
  /** Seed of the training batches. */
  seed: number;
  /** Evaluate every this many steps (0 = only at the end). */
  evalEvery: number;
  /** Replace the attention by zeros (the control). */
  zeroAttention: boolean;
  /** Label of the progress lines; null = silent. */
  label: string | null;
}

/** One run's record. */
export interface RecallRun {
  curve: { step: number; accuracy: number; loss: number }[];
  finalAccuracy: number;
  seconds: number;
}

/** Train `model` on fresh batches; accuracy on `heldOut` every `evalEvery` steps and at the end. */
export async function trainRecall(
  model: RecallModel,
  task: RecallTask,
  heldOut: RecallBatch,
  o: RecallTrainOptions,
): Promise<RecallRun> {
  const t0 = performance.now();
  model.train();
  const params = o.zeroAttention
    ? zeroAttention(model)
    : model.namedParameters().filter(([, v]) => v.trainable);
  const opt = new AdamW(params, { lr: o.lr, weightDecay: o.weightDecay });
  const schedule = makeSchedule({
    kind: 'cosine',
    lr: o.lr,
    warmupSteps: Math.min(o.warmupSteps, o.steps - 1),
    totalSteps: o.steps,
    minLr: o.lr / 10,
  });
  const rng = createRng(o.seed);
  const curve: RecallRun['curve'] = [];
  let lossSum = 0;
  let lossCount = 0;
  try {
    for (let step = 1; step <= o.steps; step++) {
      const batch = recallBatch(task, o.batchSize, rng);
      const { loss, grads } = valueAndGrads(() => recallLoss(model, batch), params);
      try {
        opt.lr = schedule(opt.stepCount);
        await optimizerStep(opt, grads, { maxGradNorm: o.maxGradNorm });
        lossSum += (await loss.data())[0];
        lossCount += 1;
      } finally {
        tf.dispose([loss, batch.ids, batch.targets, ...grads.values()]);
      }
      if ((o.evalEvery > 0 && step % o.evalEvery === 0) || step === o.steps) {
        const accuracy = recallAccuracy(model, heldOut);
        const entry = { step, accuracy, loss: lossSum / lossCount };
        curve.push(entry);
        [lossSum, lossCount] = [0, 0];
        if (o.label !== null) {
          const secs = ((performance.now() - t0) / 1000).toFixed(1);
          process.stderr.write(
            `assoc-recall ${o.label}: step ${step}/${o.steps} loss ${entry.loss.toFixed(4)} ` +
              `held-out acc ${(accuracy * 100).toFixed(1)}% (${secs} s, ${tf.memory().numTensors} tensors)\n`,
          );
        }
      }
    }
  } finally {
    opt.dispose();
  }
  return {
    curve,
    finalAccuracy: curve[curve.length - 1].accuracy,
    seconds: (performance.now() - t0) / 1000,
  };
}
