// Training throughput across worker threads (src/train/data-parallel.ts): tokens/s
// of a BiSpikCLM cross-entropy training step (loss, gradients, clipped AdamW
// update) at batch 8 x 64 tokens, run in-process on the main thread (the
// baseline), and through the data-parallel engine with 1 and with 2 workers (the
// batch split by rows), one step of each in turn (medians of `reps` rounds).
// `two_over_one` is the speed-up the second core gives;
// `one_over_in_process` is what the engine's copies and messages cost. Two
// sizes: the `tiny` preset, and the student at the stories260K teacher's width
// and depth (D 64, L 5, H 8, V 512) that distillation trains. Weights are fresh
// random ones: speed does not depend on their values.
//
// This file is also the engine's task module: workers import it and call
// `setup(options)` to build their replica.
import { loadavg } from 'node:os';
import { tf } from '../src/tf.js';
import type { Scalar } from '../src/tf.js';
import {
  AdamW,
  DataParallelEngine,
  optimizerStep,
  splitTokenBatch,
  valueAndGrads,
} from '../src/train/index.js';
import type { DataParallelTask, TokenBatch } from '../src/train/index.js';
import { buildModel, studentPreset } from '../models/index.js';
import type { SpikingCausalLM } from '../models/index.js';
import { round } from './timing.js';

const BATCH = 8;
const SEQ = 64;

/** The two student sizes measured; both take a 64-token context. */
const SIZES = {
  tiny: { size: 'tiny', overrides: { max_position_embeddings: SEQ } },
  teacher_shape: {
    size: 'small',
    overrides: {
      vocab_size: 512,
      hidden_size: 64,
      num_hidden_layers: 5,
      num_attention_heads: 8,
      max_position_embeddings: 512,
    },
  },
} as const;

type SizeName = keyof typeof SIZES;

/** Options of the task: which student. */
export interface BenchTaskOptions {
  size: SizeName;
}

function buildStudent(size: SizeName): SpikingCausalLM {
  const s = SIZES[size];
  return buildModel(
    studentPreset('bispikclm', s.size, s.overrides),
    `bench bispikclm ${size}`,
  ) as SpikingCausalLM;
}

/** Mean next-token cross-entropy over B·(N-1) predictions. */
function ceLoss(model: SpikingCausalLM, batch: TokenBatch): Scalar {
  const [B, N] = batch.shape;
  const ids = tf.tensor2d(batch.ids, [B, N], 'int32');
  const logits = model.forward(ids).logits; // [B, N, V]
  const V = logits.shape[2] as number;
  const pred = tf.reshape(tf.slice(logits, [0, 0, 0], [B, N - 1, V]), [B * (N - 1), V]);
  const next = tf.reshape(tf.slice(ids, [0, 1], [B, N - 1]), [B * (N - 1)]);
  return tf.losses.softmaxCrossEntropy(tf.oneHot(next, V), pred) as Scalar;
}

/** The task module entry: a replica of the student and its CE gradients. */
export function setup(options: BenchTaskOptions): DataParallelTask<TokenBatch> {
  const model = buildStudent(options.size);
  return {
    params: model.namedParameters(),
    grads(batch) {
      const { loss, grads } = valueAndGrads(() => ceLoss(model, batch), model.namedParameters());
      return { value: loss, weight: batch.shape[0] * (batch.shape[1] - 1), grads };
    },
    dispose: () => model.dispose(),
  };
}

function tokenBatch(vocab: number, step: number): TokenBatch {
  const ids = new Int32Array(BATCH * SEQ);
  for (let i = 0; i < ids.length; i++) ids[i] = (i * 7919 + step * 104729) % vocab;
  return { ids, shape: [BATCH, SEQ] };
}

/** Median of a list of times (ms). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function measureSize(size: SizeName, reps: number): Promise<Record<string, unknown>> {
  const model = buildStudent(size);
  const vocab = model.namedParameters().find(([n]) => n === 'embed.weight')![1].shape[0];
  const params = model.namedParameters().filter(([, v]) => v.trainable);
  const opt = new AdamW(params, { lr: 1e-4, weightDecay: 0.01 });
  const engines: DataParallelEngine[] = [];
  let step = 0;
  const trainStep = async (grads: Map<string, tf.Tensor>) => {
    await optimizerStep(opt, grads, { maxGradNorm: 1 });
    tf.dispose([...grads.values()]);
  };
  try {
    const startup: Record<string, number> = {};
    for (const workers of [1, 2]) {
      const t0 = performance.now();
      const engine = await DataParallelEngine.create(params, {
        task: new URL(import.meta.url),
        taskOptions: { size } satisfies BenchTaskOptions,
        workers,
      });
      engines.push(engine);
      startup[`w${workers}_startup_ms`] = round(performance.now() - t0, 0);
    }
    const variants: [string, () => Promise<void>][] = [
      [
        'in_process',
        async () => {
          const batch = tokenBatch(vocab, step++);
          const { loss, grads } = valueAndGrads(() => ceLoss(model, batch), params);
          await loss.data();
          loss.dispose();
          await trainStep(grads);
        },
      ],
      ...engines.map((engine): [string, () => Promise<void>] => [
        `w${engine.world}`,
        async () => {
          const shards = splitTokenBatch(tokenBatch(vocab, step), engine.world);
          const r = await engine.valueAndGrads(shards, { step: step++ });
          await trainStep(r.grads);
        },
      ]),
    ];
    // Rounds of one step of each variant, in turn (2 warm-up rounds untimed), so
    // that a change of load on the machine hits all three alike.
    const times = new Map<string, number[]>(variants.map(([name]) => [name, []]));
    for (let r = 0; r < reps + 2; r++) {
      for (const [name, run] of variants) {
        const t0 = performance.now();
        await run();
        if (r >= 2) times.get(name)!.push(performance.now() - t0);
      }
    }
    const ms = (name: string) => round(median(times.get(name)!));
    const rate = (name: string) => round((BATCH * SEQ * 1000) / median(times.get(name)!), 1);
    const [p, w1, w2] = [rate('in_process'), rate('w1'), rate('w2')];
    return {
      params: params.reduce((s, [, v]) => s + v.size, 0),
      in_process_step_ms: ms('in_process'),
      w1_step_ms: ms('w1'),
      w2_step_ms: ms('w2'),
      in_process_tok_per_s: p,
      w1_tok_per_s: w1,
      w2_tok_per_s: w2,
      two_over_one: round(w2 / w1, 2),
      two_over_in_process: round(w2 / p, 2),
      one_over_in_process: round(w1 / p, 2),
      ...startup,
    };
  } finally {
    await Promise.all(engines.map((e) => e.close()));
    opt.dispose();
    model.dispose();
  }
}

/** Tokens/s of a BiSpikCLM training step in-process and with 1 and 2 workers. */
export async function benchDataParallel(reps: number): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { batch: BATCH, seq: SEQ, tokens_per_step: BATCH * SEQ };
  // Other processes on the machine take cores from the workers: the load is recorded
  // beside the figures, since a speed-up from 2 workers needs 2 idle cores.
  const load = () => round(loadavg()[0], 2);
  out.loadavg_1m_before = load();
  for (const size of Object.keys(SIZES) as SizeName[]) out[size] = await measureSize(size, reps);
  out.loadavg_1m_after = load();
  return out;
}
