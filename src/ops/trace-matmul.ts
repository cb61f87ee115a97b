// A weight product whose WEIGHT gradient reads a presynaptic trace instead of its input
// (OTTT, methods-vision.md 4(c)): forward `y = x Wᵀ` (the routed `matMul`), backward
//   dx = dy W          (the input gradient still reaches the spikes x)
//   dW = dyᵀ â         (the trace â of x replaces x in the weight gradient)
//   dâ = 0             (the trace is a constant)
// x and â `[M, in]`, W `[out, in]` -> y `[M, out]`. With â = x this is `x Wᵀ` with its
// ordinary gradient.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ShapeError } from '../errors.js';
import { matMul } from './matmul.js';

const shape = (t: Tensor) => `[${t.shape.join(', ')}]`;

/**
 * `x Wᵀ` with the trace-based weight gradient (see the file header). x, trace `[M, in]`,
 * w `[out, in]` -> `[M, out]`. Run under the caller's tidy.
 */
export function traceMatMul(x: Tensor, trace: Tensor, w: Tensor): Tensor {
  if (x.rank !== 2 || w.rank !== 2 || x.shape[1] !== w.shape[1]) {
    throw new ShapeError(
      `traceMatMul: x must be [M, in] and w [out, in], got ${shape(x)} and ${shape(w)}`,
    );
  }
  if (trace.rank !== 2 || trace.shape[0] !== x.shape[0] || trace.shape[1] !== x.shape[1]) {
    throw new ShapeError(
      `traceMatMul: trace must have the shape of x ${shape(x)}, got ${shape(trace)}`,
    );
  }
  const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const [xi, ti, wi, save] = args as [Tensor, Tensor, Tensor, tf.GradSaveFunc];
    save([ti, wi]);
    return {
      value: matMul(xi, wi, false, true), // [M, out]
      gradFunc: (dy: Tensor, [ts, ws]: Tensor[]) => [
        matMul(dy, ws), // [M, in]
        tf.zerosLike(ts), // [M, in]: the trace is a constant
        matMul(dy, ts, true, false), // [out, in]
      ],
    };
  });
  return op(x, trace, w);
}
