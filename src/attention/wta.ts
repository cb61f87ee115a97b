// Winner-take-all selection over coincidence scores, the step that replaces softmax in
// WSSA/CWSSA (arXiv 2604.11321; the equations are the [P] design of
// methods-language.md 1(b) step 4 and 1(c), the paper's own are not available):
// the k largest allowed scores of each query row win, ties at the k-th value go to the
// lowest key index [P], masked keys score −1 and scores ≤ 0 never win (a row whose best
// allowed score is 0 is silent) [P]. Backward [P]: the hard map is kept in the forward;
// the backward is the Jacobian of `P = softmax(C'/τ_s)` over the allowed keys,
// `∂L/∂C = P ⊙ (G − rowsum(P ⊙ G)) / τ_s` with `G = ∂L/∂A`, default `τ_s = sqrt(d)/2`.
//
// Exact tie-break: each score is packed with its reversed key index into one integer key,
// `key_ij = (C'_ij + 1)·Nk + (Nk − 1 − j)`. Keys in a row are distinct and order by score
// first, lower index second. They are exact integers in float32 while
// `(maxScore + 2)·Nk <= 2^24` (d = 64: 254k keys), and in int32 (slower on wasm, used
// beyond that) while `<= 2^31 − 1` (checked). The k-th largest key (one
// `tf.topk`, or `tf.max` for k = 1) is the row's cut-off, and `C' > 0` means `key >= 2·Nk`, so
// `A_ij = 1[key_ij >= max(kth_i, 2·Nk)]`: one subtraction and one comparison with 0. No
// fractional ramp (inexact once scores·Nk pass 2^24), no scatter, and no reliance on a
// backend's tie order inside `tf.topk`.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ShapeError } from '../errors.js';
import { MASK_VALUE } from './mask.js';

/** Largest exact float32 key (fast path). */
export const WTA_FLOAT_KEY_LIMIT = 2 ** 24;
/** Largest exact int32 key: the selection needs `(maxScore + 2) * Nk <= WTA_KEY_LIMIT`. */
export const WTA_KEY_LIMIT = 2 ** 31 - 1;

/** Options of `wtaMap`. */
export interface WtaMapOptions {
  /** Winners per row (>= 1). */
  k: number;
  /** Temperature of the backward softmax (> 0). */
  tauS: number;
  /** Use the softmax-Jacobian surrogate in the backward; false = zero gradient to the scores. */
  surrogate: boolean;
  /** Largest possible score (the head width d for spikes); selects the exact key type. */
  maxScore: number;
}

/** The k-th largest entry along the last axis: `[..., n]` -> `[..., 1]`. */
function kthLargest(x: Tensor, k: number): Tensor {
  const best = tf.topk(x, k, true).values; // [..., k] descending
  const begin = new Array<number>(best.rank).fill(0);
  begin[best.rank - 1] = k - 1;
  return tf.slice(best, begin, best.shape.slice(0, -1).concat([1])); // [..., 1]
}

/**
 * The hard WTA map (forward only, not differentiable): `[..., Nq, Nk]` integer scores
 * 0..maxScore (float32) and a float 0/1 `allowed` mask broadcastable to them (null = all
 * keys allowed) -> `[..., Nq, Nk]` float32 0/1 with at most `k` ones per row.
 */
export function wtaHardMap(
  scores: Tensor,
  allowed: Tensor | null,
  k: number,
  maxScore: number,
): Tensor {
  const Nk = scores.shape[scores.rank - 1] as number;
  const top = (maxScore + 2) * Nk;
  if (top > WTA_KEY_LIMIT) {
    throw new ShapeError(
      `wta: (max score + 2) * Nk = ${top} exceeds the exact int32 key range ${WTA_KEY_LIMIT}`,
    );
  }
  return tf.tidy(() => {
    // Disallowed keys score −1: C' = C·a + (a − 1).
    const masked = allowed ? tf.add(tf.mul(scores, allowed), tf.sub(allowed, 1)) : scores; // [..., Nq, Nk]
    if (k >= Nk) return tf.cast(tf.greater(masked, 0), 'float32'); // every positive allowed key
    const dtype = top <= WTA_FLOAT_KEY_LIMIT ? 'float32' : 'int32';
    const ramp = tf.range(Nk - 1, -1, -1, dtype); // [Nk]: Nk-1 .. 0, a lower index ranks higher
    const keys = tf.add(tf.mul(tf.cast(tf.add(masked, 1), dtype), Nk), ramp); // [..., Nq, Nk]
    const kth = k === 1 ? tf.max(keys, -1, true) : kthLargest(keys, k); // [..., Nq, 1]
    const cut = tf.maximum(kth, tf.scalar(2 * Nk, dtype)); // [..., Nq, 1] also drops C' <= 0
    return tf.cast(tf.greaterEqual(tf.sub(keys, cut), 0), 'float32'); // [..., Nq, Nk]
  });
}

/**
 * The surrogate map `P = softmax(C'/τ_s)` over the allowed keys (0 on disallowed keys and
 * on rows without any allowed key). Differentiable: a distillation target can train Q, K
 * through it. scores `[..., Nq, Nk]` -> `[..., Nq, Nk]`, rows summing to 1 (or 0).
 */
export function wtaSoftMap(scores: Tensor, allowed: Tensor | null, tauS: number): Tensor {
  return tf.tidy(() => {
    const s = tf.div(scores, tauS); // [..., Nq, Nk]
    // Adding float32's lowest value to a finite logit gives exactly MASK_VALUE (mask.ts).
    const logits = allowed ? tf.add(s, tf.mul(tf.sub(1, allowed), MASK_VALUE)) : s;
    const p = tf.softmax(logits); // [..., Nq, Nk]
    return allowed ? tf.mul(p, allowed) : p; // [..., Nq, Nk], rows without allowed keys: 0
  });
}

/** `P ⊙ (G − rowsum(P ⊙ G)) / τ_s`: the softmax Jacobian (transposed) applied to `G`. */
export function softmaxJacobianBackward(p: Tensor, g: Tensor, tauS: number): Tensor {
  return tf.tidy(() => {
    const mean = tf.sum(tf.mul(p, g), -1, true); // [..., Nq, 1]
    return tf.div(tf.mul(p, tf.sub(g, mean)), tauS); // [..., Nq, Nk]
  });
}

/**
 * The WTA map with the softmax-surrogate backward: forward `wtaHardMap`, backward
 * `softmaxJacobianBackward(wtaSoftMap(C), ∂L/∂A)` (or exactly zero when
 * `options.surrogate` is false, so Q and K then receive no gradient through the map).
 * scores `[..., Nq, Nk]` -> `[..., Nq, Nk]` 0/1.
 */
export function wtaMap(scores: Tensor, allowed: Tensor | null, options: WtaMapOptions): Tensor {
  const { k, tauS, surrogate, maxScore } = options;
  const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const [c, save] = args as [Tensor, tf.GradSaveFunc];
    // The mask is saved with the scores so it outlives the caller's tidy until the backward.
    save(allowed ? [c, allowed] : [c]);
    return {
      value: wtaHardMap(c, allowed, k, maxScore), // [..., Nq, Nk]
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        if (!surrogate) return tf.zerosLike(dy);
        const p = wtaSoftMap(saved[0], saved.length > 1 ? saved[1] : null, tauS); // [..., Nq, Nk]
        return softmaxJacobianBackward(p, dy, tauS); // [..., Nq, Nk]
      },
    };
  });
  return op(scores);
}
