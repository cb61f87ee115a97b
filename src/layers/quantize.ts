// Weight quantisers with straight-through estimators (STE), used by `Linear`.
//
// - binary: `Wb = alpha * sign(W)`, `alpha_o = mean_i |W_oi|` per output row,
//   sign(0) := +1 (so only +-alpha_o occur) — XNOR-Net's scaled sign, as
//   specified in methods-language.md 3(b) and 4(b).
// - ternary: BitNet b1.58 absmean (arXiv 2402.17764; code form of
//   github.com/ridgerchu/matmulfreellm): `gamma = mean |W|` over the whole
//   tensor, `Wt = clip(round(W / (gamma + eps)), -1, 1) * gamma`.
//
// Backward of both is the STE: the gradient w.r.t. the quantised weight is passed
// unchanged to the latent weight W (alpha/gamma are treated as constants), masked
// to `|W| <= 1` when `steClip` is on (BinaryConnect / Bi-Real "hardtanh" STE,
// the clipping methods-language.md 3(c) and 4(c) ask for on binary weights).
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';

/** Weight precision of a linear layer. */
export type WeightPrecision = 'float' | 'binary' | 'ternary';

export const WEIGHT_PRECISIONS: readonly WeightPrecision[] = ['float', 'binary', 'ternary'];

type Quantiser = (w: Tensor) => Tensor;

/** The STE mask `1[|W| <= 1]` as float32 (no gradient needed: used inside gradFunc). */
function clipMask(w: Tensor): Tensor {
  return tf.cast(tf.lessEqual(tf.abs(w), 1), 'float32');
}

function withSte(forward: (w: Tensor) => Tensor, steClip: boolean): Quantiser {
  const f = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const [w, save] = args as [Tensor, tf.GradSaveFunc];
    if (steClip) save([w]);
    return {
      value: forward(w),
      gradFunc: (dy: Tensor, saved: Tensor[]) => (steClip ? tf.mul(dy, clipMask(saved[0])) : dy),
    };
  });
  return (w: Tensor) => f(w);
}

/** Forward of the binary quantiser: `alpha_o * sign(W_o)`, sign(0) = +1. w: [out, in]. */
export function binaryValue(w: Tensor): Tensor {
  return tf.tidy(() => {
    const alpha = tf.mean(tf.abs(w), -1, true); // [out, 1]
    const sign = tf.sub(tf.mul(tf.cast(tf.greaterEqual(w, 0), 'float32'), 2), 1); // [out, in] in {-1, +1}
    return tf.mul(alpha, sign); // [out, in], exactly +-alpha_o
  });
}

/** Forward of the ternary quantiser (absmean, per tensor). w: any shape. */
export function ternaryValue(w: Tensor, eps: number): Tensor {
  return tf.tidy(() => {
    const gamma = tf.mean(tf.abs(w)); // []
    const q = tf.clipByValue(tf.round(tf.div(w, tf.add(gamma, eps))), -1, 1); // {-1, 0, 1}
    return tf.mul(q, gamma);
  });
}

const cache = new Map<string, Quantiser>();

/** One STE quantiser per (precision, clip, eps), built on first use. */
function steQuantiser(precision: 'binary' | 'ternary', steClip: boolean, eps: number): Quantiser {
  const key = `${precision}:${steClip}:${eps}`;
  let q = cache.get(key);
  if (!q) {
    q = withSte(precision === 'binary' ? binaryValue : (w) => ternaryValue(w, eps), steClip);
    cache.set(key, q);
  }
  return q;
}

/**
 * The effective weight for `precision`, differentiable w.r.t. the latent weight
 * through the STE. `float` returns `w` itself.
 */
export function quantizeWeight(
  w: Tensor,
  precision: WeightPrecision,
  steClip: boolean,
  eps: number,
): Tensor {
  return precision === 'float' ? w : steQuantiser(precision, steClip, eps)(w);
}
