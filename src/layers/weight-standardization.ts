// Scaled weight standardisation (sWS; Brock et al., NF-ResNets, arXiv 2101.08692),
// the normaliser OTTT uses instead of BatchNorm because online training cannot take
// statistics across time (methods-vision.md 4(b)): per output unit i,
//   Ŵ_i = γ_i · (W_i − mean(W_i)) / (std(W_i) · √fan_in)
// with the biased std over the unit's fan-in and a learnable gain γ (init 1). `eps`
// keeps an all-equal row finite (our choice; the reference adds it to the variance).
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ShapeError } from '../errors.js';

/**
 * sWS of `w` `[out, ...fan-in axes]` with gain `[out]`; differentiable in both.
 * Run under the caller's tidy.
 */
export function scaledWeightStandardization(w: Tensor, gain: Tensor, eps = 1e-4): Tensor {
  if (w.rank < 2)
    throw new ShapeError(`sWS: weight must be [out, ...], got [${w.shape.join(', ')}]`);
  const out = w.shape[0];
  if (gain.rank !== 1 || gain.shape[0] !== out) {
    throw new ShapeError(`sWS: gain must be [${out}], got [${gain.shape.join(', ')}]`);
  }
  const fanIn = w.size / out;
  const w2 = tf.reshape(w, [out, fanIn]); // [out, fanIn]
  const { mean, variance } = tf.moments(w2, 1, true); // [out, 1]
  const scale = tf.div(
    tf.reshape(gain, [out, 1]),
    tf.mul(tf.sqrt(tf.add(variance, eps)), Math.sqrt(fanIn)),
  ); // [out, 1]
  return tf.reshape(tf.mul(tf.sub(w2, mean), scale), w.shape); // [out, ...]
}
