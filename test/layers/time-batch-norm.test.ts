// TimeBatchNorm: statistics over (T, B, N) per channel, running statistics and
// eval mode, the tdBN alpha * v_threshold scale, gradients, and the exact fold.
import { beforeAll, describe, expect, it } from 'vitest';
import { Linear, TimeBatchNorm } from '../../src/layers/index.js';
import { ShapeError } from '../../src/errors.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { expectClose, expectNoLeak, setupBackend, values } from '../helpers.js';
import { dot, numericGrad, randArray } from './reference.js';

const [T, B, N, C] = [2, 3, 4, 5];
const ROWS = T * B * N;

/** Input whose mean differs per time step and per channel, so per-t statistics would differ. */
function input(seed: number): number[] {
  const x = randArray(ROWS * C, seed);
  return x.map((v, k) => Math.fround(v * (1 + (k % C)) + 3 * Math.floor(k / (B * N * C))));
}

/** Per-channel mean and biased variance over all rows, float64. */
function stats(x: number[]): { mean: number[]; variance: number[] } {
  const rows = x.length / C;
  const mean = Array.from({ length: C }, (_, c) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += x[r * C + c];
    return s / rows;
  });
  const variance = mean.map((m, c) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += (x[r * C + c] - m) ** 2;
    return s / rows;
  });
  return { mean, variance };
}

function bnRef(
  x: number[],
  mean: number[],
  variance: number[],
  g: number[],
  b: number[],
  scale = 1,
): number[] {
  return x.map((v, k) => {
    const c = k % C;
    return ((scale * (v - mean[c])) / Math.sqrt(variance[c] + 1e-5)) * g[c] + b[c];
  });
}

function setAffine(bn: TimeBatchNorm, g: number[], b: number[], rm: number[], rv: number[]): void {
  const s = {
    weight: tf.tensor1d(g),
    bias: tf.tensor1d(b),
    running_mean: tf.tensor1d(rm),
    running_var: tf.tensor1d(rv),
  };
  bn.loadState(s);
  tf.dispose(Object.values(s));
}

describe('TimeBatchNorm', () => {
  beforeAll(setupBackend);

  it('normalises with statistics over (T, B, N) per channel in training mode', () => {
    const bn = new TimeBatchNorm({ num_features: C });
    const g = randArray(C, 1, 0.5, 2);
    const b = randArray(C, 2);
    setAffine(bn, g, b, new Array(C).fill(0), new Array(C).fill(1));
    const xs = input(3);
    const y = tf.tidy(() => bn.forward(tf.tensor4d(xs, [T, B, N, C])));
    expect(y.shape).toEqual([T, B, N, C]);
    const { mean, variance } = stats(xs);
    expectClose(values(y), bnRef(xs, mean, variance, g, b), 1e-4, 1e-4);
    y.dispose();
    bn.dispose();
  });

  it('updates running statistics with momentum and the unbiased variance', () => {
    const bn = new TimeBatchNorm({ num_features: C, momentum: 0.25 });
    const xs = input(4);
    tf.tidy(() => void bn.forward(tf.tensor4d(xs, [T, B, N, C])));
    const { mean, variance } = stats(xs);
    expectClose(
      values(bn.runningMean),
      mean.map((m) => 0.25 * m),
      1e-5,
      1e-5,
    );
    expectClose(
      values(bn.runningVar),
      variance.map((v) => 0.75 + 0.25 * v * (ROWS / (ROWS - 1))),
      1e-5,
      1e-5,
    );
    bn.dispose();
  });

  it('uses (and keeps) the running statistics in eval mode, with the alpha * v_threshold scale', () => {
    const bn = new TimeBatchNorm({ num_features: C, alpha: 0.5, v_threshold: 2 / 3 }).eval();
    const g = randArray(C, 5, 0.5, 2);
    const b = randArray(C, 6);
    const rm = randArray(C, 7);
    const rv = randArray(C, 8, 0.5, 3);
    setAffine(bn, g, b, rm, rv);
    const xs = input(9);
    const y = tf.tidy(() => bn.forward(tf.tensor4d(xs, [T, B, N, C])));
    expectClose(values(y), bnRef(xs, rm, rv, g, b, 1 / 3), 1e-5, 1e-5);
    expectClose(values(bn.runningMean), rm, 0);
    expectClose(values(bn.runningVar), rv, 0);
    y.dispose();
    bn.dispose();
  });

  it('has training-mode gradients w.r.t. x and weight equal to float64 central differences', () => {
    const bn = new TimeBatchNorm({ num_features: C });
    const xs = randArray(ROWS * C, 10);
    const r = randArray(ROWS * C, 11);
    const x = tf.tensor2d(xs, [ROWS, C]);
    const rt = tf.tensor2d(r, [ROWS, C]);
    const ones = new Array<number>(C).fill(1);
    const zeros = new Array<number>(C).fill(0);
    const ref = (v: number[]) => {
      const { mean, variance } = stats(v);
      return dot(r, bnRef(v, mean, variance, ones, zeros));
    };
    const f = (xx: Tensor) => tf.sum(tf.mul(bn.forward(xx), rt));
    const gx = tf.grad(f)(x);
    expectClose(values(gx), numericGrad(ref, xs), 2e-4, 1e-3);
    const { value, grads } = tf.variableGrads(() => f(x) as tf.Scalar, [bn.weight as tf.Variable]);
    const { mean, variance } = stats(xs);
    const xhat = bnRef(xs, mean, variance, ones, zeros);
    const gw = Array.from({ length: C }, (_, c) =>
      xhat.reduce((s, v, k) => (k % C === c ? s + v * r[k] : s), 0),
    );
    expectClose(values(grads[(bn.weight as tf.Variable).name]), gw, 1e-4, 1e-4);
    tf.dispose([x, rt, gx, value, ...Object.values(grads)]);
    bn.dispose();
  });

  for (const weight_precision of ['float', 'binary', 'ternary'] as const) {
    it(`folds exactly into a preceding ${weight_precision} Linear (eval mode)`, () => {
      const lin = new Linear({ in_features: 6, out_features: C, weight_precision, seed: 12 });
      const bn = new TimeBatchNorm({ num_features: C, alpha: 2 }).eval();
      setAffine(
        bn,
        randArray(C, 13, -2, 2),
        randArray(C, 14),
        randArray(C, 15),
        randArray(C, 16, 0.1, 2),
      );
      const folded = bn.foldInto(lin);
      expect(folded.getConfig().weight_precision).toBe('float');
      const x = tf.tensor4d(randArray(T * B * N * 6, 17, 0, 2), [T, B, N, 6]);
      const a = tf.tidy(() => bn.forward(lin.forward(x)));
      const f = tf.tidy(() => folded.forward(x));
      expectClose(values(f), values(a), 1e-5, 1e-5);
      tf.dispose([x, a, f]);
      [lin, bn, folded].forEach((m) => m.dispose());
    });
  }

  it('validates config, input shape and fold width; round-trips its config', () => {
    expect(() => new TimeBatchNorm({ num_features: 2, momentum: 1.5 })).toThrow(
      /momentum must be in \[0, 1\]/,
    );
    expect(() => new TimeBatchNorm({ num_features: 2.5 })).toThrow(
      /num_features must be a positive integer/,
    );
    const bn = new TimeBatchNorm({ num_features: C, affine: false, alpha: 0.5 });
    expect(bn.namedParameters().map(([k]) => k)).toEqual(['running_mean', 'running_var']);
    expect(bn.trainableVariables()).toHaveLength(0);
    expect(new TimeBatchNorm(bn.getConfig()).getConfig()).toEqual({
      num_features: C,
      eps: 1e-5,
      momentum: 0.1,
      affine: false,
      alpha: 0.5,
      v_threshold: 1,
    });
    const bad = tf.zeros([2, 3]);
    const one = tf.zeros([1, C]);
    expect(() => bn.forward(bad)).toThrow(ShapeError);
    expect(() => bn.forward(one)).toThrow(/more than 1 value per channel/);
    const lin = new Linear({ in_features: 2, out_features: 3 });
    expect(() => bn.foldInto(lin)).toThrow(/out_features 3 \(num_features 5\)/);
    tf.dispose([bad, one]);
    [bn, lin].forEach((m) => m.dispose());
  });

  it('leaks no tensors over repeated training steps (running stats included)', async () => {
    const bn = new TimeBatchNorm({ num_features: C });
    const x = tf.tensor4d(input(18), [T, B, N, C]);
    const opt = tf.train.sgd(0.1);
    const step = () =>
      opt.minimize(() => tf.sum(tf.square(bn.forward(x))) as tf.Scalar, true)?.dispose();
    step();
    await expectNoLeak(() => {
      for (let i = 0; i < 3; i++) step();
      bn.eval();
      tf.tidy(() => void bn.forward(x));
      bn.train();
    });
    x.dispose();
    opt.dispose();
    bn.dispose();
  });
});
