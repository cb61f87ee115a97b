// RMSNorm and LayerNorm: hand-computed values, gradients against float64 central
// differences, config round trip and validation.
import { beforeAll, describe, expect, it } from 'vitest';
import { LayerNorm, RMSNorm } from '../../src/layers/index.js';
import { ShapeError } from '../../src/errors.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { expectClose, expectNoLeak, setupBackend, values } from '../helpers.js';
import { dot, numericGrad, randArray } from './reference.js';

const D = 4;

/** float64 reference, row by row over the last axis. */
function rmsRef(x: number[], w: number[], eps: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / D; r++) {
    const row = x.slice(r * D, (r + 1) * D);
    const inv = 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / D + eps);
    row.forEach((v, i) => out.push(v * inv * w[i]));
  }
  return out;
}

function lnRef(x: number[], w: number[], b: number[], eps: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / D; r++) {
    const row = x.slice(r * D, (r + 1) * D);
    const mean = row.reduce((s, v) => s + v, 0) / D;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / D;
    row.forEach((v, i) => out.push(((v - mean) / Math.sqrt(variance + eps)) * w[i] + b[i]));
  }
  return out;
}

describe('RMSNorm', () => {
  beforeAll(setupBackend);

  it('matches hand-computed values', () => {
    const n = new RMSNorm({ normalized_shape: 2 });
    const w = tf.tensor1d([1, 2]);
    n.loadState({ weight: w });
    // x = [3, 4]: mean square 12.5, rms 3.5355339
    const y = tf.tidy(() => n.forward(tf.tensor2d([[3, 4]])));
    expectClose(values(y), [3 / Math.sqrt(12.5 + 1e-6), 8 / Math.sqrt(12.5 + 1e-6)], 1e-6);
    expectClose(values(y), [0.8485281, 2.2627417], 1e-6);
    tf.dispose([w, y]);
    n.dispose();
  });

  it('has gradients w.r.t. x and weight equal to float64 central differences', () => {
    const n = new RMSNorm({ normalized_shape: D, eps: 1e-5 });
    const wv = randArray(D, 1, 0.5, 1.5);
    const w = tf.tensor1d(wv);
    n.loadState({ weight: w });
    const xs = randArray(3 * D, 2);
    const r = randArray(3 * D, 3);
    const x = tf.tensor2d(xs, [3, D]);
    const rt = tf.tensor2d(r, [3, D]);
    const f = (xx: Tensor) => tf.sum(tf.mul(n.forward(xx), rt));
    const gx = tf.grad(f)(x);
    const { value, grads } = tf.variableGrads(() => f(x) as tf.Scalar, [n.weight]);
    expectClose(
      values(gx),
      numericGrad((v) => dot(r, rmsRef(v, wv, 1e-5)), xs),
      1e-4,
      1e-4,
    );
    expectClose(
      values(grads[n.weight.name]),
      numericGrad((v) => dot(r, rmsRef(xs, v, 1e-5)), wv),
      1e-4,
      1e-4,
    );
    tf.dispose([w, x, rt, gx, value, ...Object.values(grads)]);
    n.dispose();
  });

  it('validates its config and round-trips it', () => {
    expect(() => new RMSNorm({ normalized_shape: -2 })).toThrow(
      /normalized_shape must be a positive integer/,
    );
    expect(() => new RMSNorm({ normalized_shape: 2, eps: 0 })).toThrow(/eps must be > 0/);
    const n = new RMSNorm({ normalized_shape: 3 });
    const copy = new RMSNorm(n.getConfig());
    expect(copy.getConfig()).toEqual({ normalized_shape: 3, eps: 1e-6 });
    const x = tf.zeros([2, 4]);
    expect(() => n.forward(x)).toThrow(ShapeError);
    x.dispose();
    n.dispose();
    copy.dispose();
  });
});

describe('LayerNorm', () => {
  beforeAll(setupBackend);

  it('matches hand-computed values', () => {
    const n = new LayerNorm({ normalized_shape: D });
    const w = tf.tensor1d([1, 1, 2, 2]);
    const b = tf.tensor1d([0, 1, 0, 1]);
    n.loadState({ weight: w, bias: b });
    // x = [1, 2, 3, 4]: mean 2.5, biased var 1.25
    const y = tf.tidy(() => n.forward(tf.tensor1d([1, 2, 3, 4])));
    const s = 1 / Math.sqrt(1.25 + 1e-5);
    expectClose(values(y), [-1.5 * s, -0.5 * s + 1, 1 * s, 3 * s + 1], 1e-6);
    tf.dispose([w, b, y]);
    n.dispose();
  });

  it('has gradients w.r.t. x, weight and bias equal to float64 central differences', () => {
    const n = new LayerNorm({ normalized_shape: D });
    const wv = randArray(D, 4, 0.5, 1.5);
    const bv = randArray(D, 5);
    const st = { weight: tf.tensor1d(wv), bias: tf.tensor1d(bv) };
    n.loadState(st);
    tf.dispose([st.weight, st.bias]);
    const xs = randArray(2 * 3 * D, 6);
    const r = randArray(2 * 3 * D, 7);
    const x = tf.tensor3d(xs, [2, 3, D]);
    const rt = tf.tensor3d(r, [2, 3, D]);
    const f = (xx: Tensor) => tf.sum(tf.mul(n.forward(xx), rt));
    const gx = tf.grad(f)(x);
    const bias = n.bias as tf.Variable;
    const { value, grads } = tf.variableGrads(() => f(x) as tf.Scalar, [n.weight, bias]);
    const eps = 1e-5;
    expectClose(
      values(gx),
      numericGrad((v) => dot(r, lnRef(v, wv, bv, eps)), xs),
      2e-4,
      1e-3,
    );
    expectClose(
      values(grads[n.weight.name]),
      numericGrad((v) => dot(r, lnRef(xs, v, bv, eps)), wv),
      1e-4,
      1e-4,
    );
    expectClose(
      values(grads[bias.name]),
      numericGrad((v) => dot(r, lnRef(xs, wv, v, eps)), bv),
      1e-4,
      1e-4,
    );
    tf.dispose([x, rt, gx, value, ...Object.values(grads)]);
    n.dispose();
  });

  it('works without bias, round-trips its config, leaks nothing', async () => {
    const n = new LayerNorm({ normalized_shape: D, bias: false });
    expect(n.namedParameters().map(([k]) => k)).toEqual(['weight']);
    const copy = new LayerNorm(n.getConfig());
    expect(copy.getConfig()).toEqual({
      normalized_shape: D,
      eps: 1e-5,
      bias: false,
    });
    const x = tf.ones([2, D]);
    tf.tidy(() => void n.forward(x));
    await expectNoLeak(() => {
      for (let i = 0; i < 3; i++) {
        tf.tidy(() => void tf.variableGrads(() => tf.sum(tf.square(n.forward(x))) as tf.Scalar));
      }
    });
    x.dispose();
    n.dispose();
    copy.dispose();
  });
});
