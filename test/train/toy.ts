// A tiny deterministic training run shared by the resume tests: y = x·W + b
// with AdamW, a cosine schedule, clipping, a data cursor and RNG-driven input
// noise, so that an exact resume must restore weights, optimizer state, step,
// data position and RNG state.
import { createRng, rngFromState, rngState } from '../../src/generate/index.js';
import type { Rng } from '../../src/generate/index.js';
import { AdamW, cosineSchedule, optimizerStep, valueAndGrads } from '../../src/train/index.js';
import { tf } from '../../src/tf.js';
import type { Variable } from '../../src/tf.js';

const D_IN = 4;
const D_OUT = 3;
const ROWS = 32;
const BATCH = 4;
const DATA_X = Array.from({ length: ROWS * D_IN }, (_, i) => Math.sin(0.37 * i));
const DATA_Y = Array.from({ length: ROWS * D_OUT }, (_, i) => Math.cos(0.23 * i));
export const schedule = cosineSchedule(0.05, 12, { warmupSteps: 3, minLr: 0.005 });

/** Everything a run holds between steps. */
export interface Toy {
  readonly params: [string, Variable][];
  readonly opt: AdamW;
  rng: Rng;
  cursor: number;
  dispose(): void;
}

/** A fresh run: seeded weights, or zeros (to prove a load overwrites them). */
export function makeToy(init: 'seeded' | 'zeros' = 'seeded'): Toy {
  const w = tf.variable(
    init === 'seeded'
      ? tf.randomNormal([D_IN, D_OUT], 0, 0.5, 'float32', 7)
      : tf.zeros([D_IN, D_OUT]),
  );
  const b = tf.variable(tf.zeros([D_OUT]));
  const params: [string, Variable][] = [
    ['proj.weight', w],
    ['proj.bias', b],
  ];
  const opt = new AdamW(params, { lr: 0, weightDecay: 0.01 });
  return {
    params,
    opt,
    rng: createRng(1234),
    cursor: 0,
    dispose() {
      opt.dispose();
      tf.dispose([w, b]);
    },
  };
}

/** Run `n` steps; returns the losses. */
export async function trainSteps(toy: Toy, n: number): Promise<number[]> {
  const losses: number[] = [];
  for (let i = 0; i < n; i++) {
    const noise = Array.from({ length: BATCH * D_IN }, () => (toy.rng.next() - 0.5) * 0.1);
    const start = toy.cursor * D_IN;
    const xs = DATA_X.slice(start, start + BATCH * D_IN).map((v, j) => v + noise[j]);
    const ys = DATA_Y.slice(toy.cursor * D_OUT, (toy.cursor + BATCH) * D_OUT);
    toy.cursor = (toy.cursor + BATCH) % ROWS;
    const [w, b] = [toy.params[0][1], toy.params[1][1]];
    const x = tf.tensor(xs, [BATCH, D_IN]);
    const y = tf.tensor(ys, [BATCH, D_OUT]);
    const { loss, grads } = valueAndGrads(
      () => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, w), b), y))),
      toy.params,
    );
    losses.push((await loss.data())[0]);
    toy.opt.lr = schedule(toy.opt.stepCount);
    await optimizerStep(toy.opt, grads, { maxGradNorm: 0.5 });
    tf.dispose([x, y, loss, ...grads.values()]);
  }
  return losses;
}

/** The weights' raw bytes, for bitwise comparison. */
export async function weightBytes(toy: Toy): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const [, v] of toy.params) out.push(Buffer.from(((await v.data()) as Float32Array).buffer));
  return out;
}

/** The RNG as saved in a trainer state. */
export const saveRng = (rng: Rng) => ({ seed: rng.seed, state: rngState(rng) });

/** The RNG back from a trainer state. */
export function loadRng(saved: unknown): Rng {
  const s = saved as { seed: number; state: number[] };
  return rngFromState(s.state, s.seed);
}
