// Toy layers for the energy tests: a linear layer and a `Kᵀ V` product that report
// to the active recorder exactly as src/layers does, plus brute-force pair counters.
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { activeRecorder } from '../../src/energy/index.js';
import type { Encoding, LayerWork } from '../../src/energy/index.js';

/** x: [..., in] (time-first when T > 1), w: [in, out] -> [..., out]; reports when counting. */
export function toyLinear(
  layer: string,
  x: Tensor,
  w: Tensor,
  encoding: Encoding,
  timeSteps: number,
  extra: Partial<LayerWork> = {},
): Tensor {
  const [cin, cout] = w.shape;
  const rec = activeRecorder();
  if (rec) {
    const flopsPerStep = (x.size / timeSteps / cin) * cin * cout;
    rec.record({ layer, kind: 'linear', input: x, timeSteps, flopsPerStep, encoding, ...extra });
  }
  return tf.tidy(() =>
    tf.reshape(tf.matMul(tf.reshape(x, [-1, cin]), w), [...x.shape.slice(0, -1), cout]),
  );
}

/** k, v: [T, N, d] -> Kᵀ V per step [T, d, d]; reports both spike operands when counting. */
export function toyKv(layer: string, k: Tensor, v: Tensor): Tensor {
  const [T, N, d] = k.shape;
  const rec = activeRecorder();
  if (rec) {
    rec.record({
      layer,
      kind: 'attention',
      input: k,
      other: v,
      timeSteps: T,
      flopsPerStep: N * d * d,
      encoding: 'spike',
    });
  }
  return tf.matMul(k, v, true, false);
}

/**
 * Brute force: (input event, weight) pairs with a non-zero weight, one per unit of
 * |x| (an integer count n is n events; a -1 is one event). x: [M, in], w: [in, out].
 */
export function bruteForcePairs(x: Tensor, w: Tensor): number {
  const [cin, cout] = w.shape;
  const xs = x.dataSync();
  const ws = w.dataSync();
  let pairs = 0;
  for (let e = 0; e < xs.length; e++) {
    const n = Math.abs(xs[e]);
    if (n === 0) continue;
    const i = e % cin;
    for (let j = 0; j < cout; j++) if (ws[i * cout + j] !== 0) pairs += n;
  }
  return pairs;
}

/** Fraction of non-zero elements, by a plain loop. */
export function nonzeroFraction(x: Tensor): number {
  const xs = x.dataSync();
  let nz = 0;
  for (const v of xs) if (v !== 0) nz++;
  return nz / xs.length;
}

/** A seeded 0/1 tensor with P(1) = p. */
export function spikes(shape: number[], p: number, seed: number): Tensor {
  return tf.tidy(() =>
    tf.cast(tf.less(tf.randomUniform(shape, 0, 1, 'float32', seed), p), 'float32'),
  );
}

/** Weights with no zero entry (so every event reaches its full fan-out). */
export function denseWeights(cin: number, cout: number, seed: number): Tensor {
  return tf.randomUniform([cin, cout], 0.1, 1, 'float32', seed);
}
