// Linear: forward values on inputs of any rank, gradients against float64 central
// differences, config round trip and validation, energy reports.
import { beforeAll, describe, expect, it } from 'vitest';
import { Linear } from '../../src/layers/index.js';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { withRecorder } from '../../src/energy/recorder.js';
import type { LayerWork } from '../../src/energy/recorder.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { expectClose, expectNoLeak, setupBackend, values } from '../helpers.js';
import { dot, linearRef, numericGrad, randArray } from './reference.js';

/** A Linear with the given weight [O, I] and bias. */
function fixed(w: number[][], b: number[] | null): Linear {
  const l = new Linear({ in_features: w[0].length, out_features: w.length, bias: b !== null });
  const state: Record<string, Tensor> = { weight: tf.tensor2d(w) };
  if (b) state.bias = tf.tensor1d(b);
  l.loadState(state);
  tf.dispose(Object.values(state));
  return l;
}

describe('Linear', () => {
  beforeAll(setupBackend);

  it('computes x W^T + b with weight [out, in]', () => {
    const l = fixed(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [0.5, -1],
    );
    const y = tf.tidy(() => l.forward(tf.tensor2d([[1, 0, -1]])));
    expect(y.shape).toEqual([1, 2]);
    expect(values(y)).toEqual([1 - 3 + 0.5, 4 - 6 - 1]);
    const y1 = tf.tidy(() => l.forward(tf.tensor1d([2, 1, 0])));
    expect(y1.shape).toEqual([2]);
    expect(values(y1)).toEqual([4.5, 12]);
    tf.dispose([y, y1]);
    l.dispose();
  });

  it('maps the last axis of inputs of rank 3 and 4 row by row', () => {
    const [I, O] = [3, 4];
    const l = new Linear({ in_features: I, out_features: O, seed: 7 });
    const w = values(l.weight);
    const b = values(l.bias as Tensor);
    for (const shape of [
      [2, 5, I],
      [2, 1, 3, I],
    ]) {
      const n = shape.reduce((a, c) => a * c, 1);
      const xs = randArray(n, 3);
      const y = tf.tidy(() => l.forward(tf.tensor(xs, shape)));
      expect(y.shape).toEqual([...shape.slice(0, -1), O]);
      expectClose(values(y), linearRef(xs, w, b, I, O), 1e-5);
      y.dispose();
    }
    l.dispose();
  });

  it('rejects an input whose last axis is not in_features', () => {
    const l = new Linear({ in_features: 3, out_features: 2 });
    const x = tf.zeros([2, 4]);
    expect(() => l.forward(x)).toThrow(ShapeError);
    expect(() => l.forward(x)).toThrow(/last axis must be 3, got shape \[2, 4\]/);
    x.dispose();
    l.dispose();
  });

  it('has gradients w.r.t. x, weight and bias equal to float64 central differences', () => {
    const [M, I, O] = [4, 3, 2];
    const l = new Linear({ in_features: I, out_features: O, seed: 1 });
    const w = values(l.weight);
    const b = values(l.bias as Tensor);
    const xs = randArray(M * I, 2);
    const r = randArray(M * O, 3);
    // loss = sum(r * y^2): nonlinear, so a wrong transpose or scale shows up.
    const ref = (x: number[], wv: number[], bv: number[]) =>
      dot(
        r,
        linearRef(x, wv, bv, I, O).map((v) => v * v),
      );
    const rt = tf.tensor2d(r, [M, O]);
    const x = tf.tensor2d(xs, [M, I]);
    const loss = () => tf.sum(tf.mul(rt, tf.square(l.forward(x)))) as tf.Scalar;
    const { grads } = tf.variableGrads(loss, [l.weight, l.bias as tf.Variable]);
    const gx = tf.grad((xx: Tensor) => tf.sum(tf.mul(rt, tf.square(l.forward(xx)))))(x);
    expectClose(
      values(grads[l.weight.name]),
      numericGrad((v) => ref(xs, v, b), w),
      1e-4,
      1e-4,
    );
    expectClose(
      values(grads[(l.bias as tf.Variable).name]),
      numericGrad((v) => ref(xs, w, v), b),
      1e-4,
      1e-4,
    );
    expectClose(
      values(gx),
      numericGrad((v) => ref(v, w, b), xs),
      1e-4,
      1e-4,
    );
    tf.dispose([rt, x, gx, ...Object.values(grads)]);
    l.dispose();
  });

  it('round-trips its config and reproduces its seeded init', () => {
    const a = new Linear({ in_features: 5, out_features: 3, weight_precision: 'binary', seed: 42 });
    const cfg = a.getConfig();
    expect(cfg).toEqual({
      in_features: 5,
      out_features: 3,
      bias: true,
      weight_precision: 'binary',
      ste_clip: true,
      ternary_eps: 1e-5,
      input_encoding: 'real',
      init_std: null,
      seed: 42,
    });
    const b = new Linear(cfg);
    expect(b.getConfig()).toEqual(cfg);
    expect(values(b.weight)).toEqual(values(a.weight));
    expect(
      new Linear({ in_features: 2, out_features: 2, weight_precision: 'ternary' }).steClip,
    ).toBe(false);
    const c = new Linear({ in_features: 5, out_features: 3, seed: 43 });
    expect(values(c.weight)).not.toEqual(values(a.weight));
    const k = 1 / Math.sqrt(5);
    expect(values(a.weight).every((v) => Math.abs(v) <= k)).toBe(true);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('validates its arguments', () => {
    expect(() => new Linear({ in_features: 0, out_features: 2 })).toThrow(
      /in_features must be a positive integer, got 0/,
    );
    expect(() => new Linear({ in_features: 2, out_features: 1.5 })).toThrow(ConfigError);
    expect(
      () => new Linear({ in_features: 2, out_features: 2, weight_precision: 'int4' as 'float' }),
    ).toThrow(/weight_precision must be one of float, binary, ternary, got "int4"/);
    expect(() => new Linear({ in_features: 2, out_features: 2, init_std: -1 })).toThrow(/init_std/);
    expect(
      () => new Linear({ in_features: 2, out_features: 2, input_encoding: 'dense' as 'real' }),
    ).toThrow(/input_encoding must be one of/);
    expect(
      () => new Linear({ in_features: 2, out_features: 2, bias: 'false' as unknown as boolean }),
    ).toThrow(/bias must be true or false, got "false"/);
  });
});

describe('Linear energy reports', () => {
  beforeAll(setupBackend);

  function record(fn: () => void): LayerWork[] {
    const got: LayerWork[] = [];
    withRecorder({ record: (w) => got.push({ ...w }) }, fn);
    return got;
  }

  it('reports spike input per time step: flopsPerStep = B*N*in*out', () => {
    const l = new Linear({ in_features: 5, out_features: 7, input_encoding: 'spike' });
    const x = tf.zeros([3, 2, 4, 5]); // [T, B, N, D]
    const got = record(() => tf.tidy(() => void l.forward(x)));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      layer: '',
      kind: 'linear',
      timeSteps: 3,
      flopsPerStep: 2 * 4 * 5 * 7,
      encoding: 'spike',
      weightCount: 35,
      weightBits: 32,
    });
    expect(got[0].input).toBe(x);
    x.dispose();
    l.dispose();
  });

  it('reports real input with one step over all tokens, and honours per-call overrides', () => {
    const l = new Linear({ in_features: 5, out_features: 7, weight_precision: 'binary' });
    const x = tf.zeros([3, 2, 4, 5]);
    const [real] = record(() => tf.tidy(() => void l.forward(x)));
    expect(real).toMatchObject({ timeSteps: 1, flopsPerStep: 3 * 2 * 4 * 35, encoding: 'real' });
    expect(real.weightBits).toBe(1);
    const [spk] = record(() => tf.tidy(() => void l.forward(x, { encoding: 'spike' })));
    expect(spk).toMatchObject({ timeSteps: 3, flopsPerStep: 2 * 4 * 35, encoding: 'spike' });
    expect(() => record(() => tf.tidy(() => void l.forward(x, { timeSteps: 2 })))).toThrow(
      /timeSteps 2 must be the first axis/,
    );
    x.dispose();
    l.dispose();
  });

  it('reports nothing when no recorder is active', () => {
    const got: LayerWork[] = [];
    const rec = { record: (w: LayerWork) => got.push(w) };
    const l = new Linear({ in_features: 2, out_features: 2, input_encoding: 'spike' });
    const x = tf.zeros([2, 1, 2]);
    withRecorder(rec, () => undefined);
    tf.tidy(() => void l.forward(x));
    expect(got).toHaveLength(0);
    x.dispose();
    l.dispose();
  });

  it('leaks no tensors over repeated forward + backward steps', async () => {
    for (const weight_precision of ['float', 'binary', 'ternary'] as const) {
      const l = new Linear({ in_features: 4, out_features: 3, weight_precision });
      const opt = tf.train.sgd(0.1);
      const x = tf.ones([2, 4]);
      const step = () =>
        opt.minimize(() => tf.sum(tf.square(l.forward(x))) as tf.Scalar, true)?.dispose();
      step();
      await expectNoLeak(() => {
        for (let i = 0; i < 3; i++) step();
        tf.tidy(() => void l.effectiveWeight());
      });
      x.dispose();
      opt.dispose();
      l.dispose();
    }
  });
});
