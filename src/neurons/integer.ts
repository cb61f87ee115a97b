// Integer mode, "integer training, spike inference": the I-LIF neuron of SpikeYOLO
// (github.com/BICLab/SpikeYOLO, ECCV 2024; methods-language.md 0.3) with its
// clip-round straight-through estimator, and the exact thermometer expansion of
// integer counts into D binary sub-steps (and back).
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ConfigError, ShapeError, checkFinite, checkPositiveInt } from '../errors.js';
import { checkSequence, unstackTime } from './functional.js';
import { detach } from './reset.js';

/** I-LIF parameters: `decay` (0.25 in SpikeYOLO) and the integer cap `maxCount` = D (4). */
export interface ILIFParams {
  decay: number;
  maxCount: number;
}

/** State of an I-LIF neuron: last membrane `u` and last (detached) count `n`, `[B, ...]`. */
export interface ILIFState {
  u: Tensor;
  n: Tensor;
}

/** I-LIF parameters with SpikeYOLO's defaults (decay 0.25, D = 4), validated. */
export function makeILIFParams(options: Partial<ILIFParams> = {}): ILIFParams {
  const p = { decay: options.decay ?? 0.25, maxCount: options.maxCount ?? 4 };
  checkFinite(p.decay, 'decay');
  if (p.decay < 0 || p.decay > 1) throw new ConfigError(`decay must be in [0, 1], got ${p.decay}`);
  checkPositiveInt(p.maxCount, 'max_count');
  return p;
}

/**
 * `n = clip(round(u), 0, D)` (round half to even) with a straight-through gradient:
 * `dn/du = 1` where `0 <= u <= D`, else 0. u: any shape; returns the same shape.
 */
export function clipRoundSTE(u: Tensor, maxCount: number): Tensor {
  return tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [Tensor, tf.GradSaveFunc];
    save([x]);
    return {
      // clip first: same values (the bounds are integers) and never a -0 count
      value: tf.round(tf.clipByValue(x, 0, maxCount)), // same shape as u
      gradFunc: (dy: Tensor, [xs]: Tensor[]) => {
        const inside = tf.logicalAnd(tf.greaterEqual(xs, 0), tf.lessEqual(xs, maxCount));
        return tf.mul(dy, tf.cast(inside, 'float32'));
      },
    };
  })(u);
}

/** A fresh I-LIF state (`u = 0, n = 0`, so that `u_0 = x_0`). */
export function initialILIFState(shape: readonly number[]): ILIFState {
  return { u: tf.zeros([...shape]), n: tf.zeros([...shape]) };
}

/** One I-LIF step: `u_t = (u_{t-1} - n_{t-1}) * decay + x_t` (n detached), `n_t = clip(round(u_t), 0, D)`. */
export function ilifStep(
  x: Tensor,
  state: ILIFState,
  p: ILIFParams,
): { counts: Tensor; state: ILIFState } {
  return tf.tidy(() => {
    const u = tf.add(tf.mul(tf.sub(state.u, state.n), p.decay), x); // [B, ...]
    const n = clipRoundSTE(u, p.maxCount); // [B, ...]
    return { counts: n, state: { u, n: detach(n) } };
  });
}

/**
 * Run I-LIF over `xSeq: [T, B, ...]`: integer counts `[T, B, ...]` in `{0..D}`, the
 * membrane sequence `[T, B, ...]` and the final state.
 */
export function ilifMultiStep(
  xSeq: Tensor,
  p: ILIFParams,
  state?: ILIFState,
): { counts: Tensor; uSeq: Tensor; state: ILIFState } {
  checkSequence(xSeq);
  const out = tf.tidy(() => {
    let st = state ?? initialILIFState(xSeq.shape.slice(1));
    const ns: Tensor[] = [];
    const us: Tensor[] = [];
    for (const x of unstackTime(xSeq)) {
      const r = ilifStep(x, st, p);
      ns.push(r.counts);
      us.push(r.state.u);
      st = r.state;
    }
    return [tf.stack(ns), tf.stack(us), st.u, st.n]; // [T, B, ...] x2, [B, ...] x2
  });
  return { counts: out[0], uSeq: out[1], state: { u: out[2], n: out[3] } };
}

/**
 * Thermometer expansion: counts `[T, B, ...]` in `{0..D}` -> binary spikes `[T*D, B, ...]`
 * where sub-step `r` (1..D) of step `t` (row `t*D + r - 1`) is `1[r <= n_t]`. The sum over
 * the D sub-steps of a step equals its count exactly. Not differentiable (inference only).
 */
export function expandCounts(counts: Tensor, maxCount: number): Tensor {
  checkPositiveInt(maxCount, 'max_count');
  checkSequence(counts, 'counts');
  const [T, ...rest] = counts.shape;
  return tf.tidy(() => {
    const n = tf.expandDims(counts, 1); // [T, 1, B, ...]
    const r = tf.reshape(tf.range(1, maxCount + 1, 1, 'float32'), [
      1,
      maxCount,
      ...rest.map(() => 1),
    ]); // [1, D, 1, ...]
    const bits = tf.cast(tf.greaterEqual(n, r), 'float32'); // [T, D, B, ...]
    return tf.reshape(bits, [T * maxCount, ...rest]); // [T*D, B, ...]
  });
}

/** Inverse of `expandCounts`: binary spikes `[T*D, B, ...]` -> counts `[T, B, ...]` (sum of each D block). */
export function collapseSpikes(spikes: Tensor, maxCount: number): Tensor {
  checkPositiveInt(maxCount, 'max_count');
  checkSequence(spikes, 'spikes');
  const [TD, ...rest] = spikes.shape;
  if (TD % maxCount !== 0) {
    throw new ShapeError(`spike steps ${TD} are not a multiple of max_count ${maxCount}`);
  }
  return tf.tidy(() => tf.sum(tf.reshape(spikes, [TD / maxCount, maxCount, ...rest]), 1)); // [T, B, ...]
}
