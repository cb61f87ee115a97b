// Reset rules and the gradient cut used by the neuron core (SpikingJelly
// `neuronal_reset` hard/soft with `detach_reset`; methods-vision.md 0.3 reset and
// the "detach" gradient switches of SLTT/OTTT).
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import type { Threshold } from './types.js';

const detachOp = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as Tensor;
  return {
    value: tf.clone(x), // same shape as x
    gradFunc: (dy: Tensor) => tf.zerosLike(dy),
  };
});

/**
 * Identity forward, zero gradient backward (torch's `.detach()`): the value is used
 * but no gradient flows back through it. tfjs has no stop-gradient op of its own.
 */
export function detach(x: Tensor): Tensor {
  return detachOp(x);
}

/** Hard reset `V = H (1 - S) + v_reset S`. h, s: `[B, ...]`. */
export function resetHard(h: Tensor, s: Tensor, vReset: number): Tensor {
  const kept = tf.mul(h, tf.sub(1, s)); // [B, ...]
  return vReset === 0 ? kept : tf.add(kept, tf.mul(s, vReset));
}

/** Soft reset `V = H - amount S` (`amount` = V_th, or SPIDE's `V_th - u_rest`). h, s: `[B, ...]`. */
export function resetSoft(h: Tensor, s: Tensor, amount: Threshold): Tensor {
  return tf.sub(h, tf.mul(s, amount));
}
