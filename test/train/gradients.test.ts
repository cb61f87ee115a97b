// Gradients by public name and accumulation: k micro-batches accumulated and
// divided by k equal one big batch; token-weighted accumulation; no leaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GradientAccumulator, valueAndGrads } from '../../src/train/index.js';
import { tf } from '../../src/tf.js';
import type { Scalar, Tensor, Variable } from '../../src/tf.js';
import { expectClose, setupBackend, values } from '../helpers.js';

beforeAll(async () => {
  await setupBackend();
});

// y = x·W + b, mean squared error over the batch. x [8, 3], W [3, 2], b [2].
let W: Variable;
let b: Variable;
let buffer: Variable;
let X: Tensor;
let Y: Tensor;
let params: [string, Variable][];

beforeAll(() => {
  W = tf.variable(
    tf.tensor([
      [0.1, -0.2],
      [0.3, 0.05],
      [-0.4, 0.2],
    ]),
  );
  b = tf.variable(tf.tensor([0.01, -0.02]));
  buffer = tf.variable(tf.zeros([2]), false);
  params = [
    ['proj.weight', W],
    ['proj.bias', b],
    ['stats.running_mean', buffer],
  ];
  X = tf.tensor(
    Array.from({ length: 24 }, (_, i) => Math.sin(i * 0.7)),
    [8, 3],
  );
  Y = tf.tensor(
    Array.from({ length: 16 }, (_, i) => Math.cos(i * 0.3)),
    [8, 2],
  );
});

afterAll(() => {
  tf.dispose([W, b, buffer, X, Y]);
});

const lossOn = (x: Tensor, y: Tensor) => (): Scalar =>
  tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, W), b), y)));

function rows(t: Tensor, start: number, n: number): Tensor {
  return tf.slice(t, [start, 0], [n, -1]);
}

describe('valueAndGrads', () => {
  it('keys gradients by public name and skips buffers', () => {
    const { loss, grads } = valueAndGrads(lossOn(X, Y), params);
    expect([...grads.keys()].sort()).toEqual(['proj.bias', 'proj.weight']);
    expect(grads.get('proj.weight')!.shape).toEqual([3, 2]);
    expect(loss.shape).toEqual([]);
    tf.dispose([loss, ...grads.values()]);
  });
});

describe('GradientAccumulator', () => {
  it('4 micro-batches of 2 give the gradient of the batch of 8', () => {
    const big = valueAndGrads(lossOn(X, Y), params);
    const acc = new GradientAccumulator();
    for (let i = 0; i < 4; i++) {
      const [x, y] = [rows(X, 2 * i, 2), rows(Y, 2 * i, 2)];
      const { loss, grads } = valueAndGrads(lossOn(x, y), params);
      acc.add(grads);
      tf.dispose([x, y, loss, ...grads.values()]);
    }
    expect(acc.count).toBe(4);
    const mean = acc.mean();
    for (const name of ['proj.weight', 'proj.bias']) {
      expectClose(values(mean.get(name)!), values(big.grads.get(name)!), 1e-6, 1e-5);
    }
    // Without the division by k it would be 4× too large: make sure that is not the case.
    expect(values(mean.get('proj.bias')!)).not.toEqual(
      values(big.grads.get('proj.bias')!).map((v) => 4 * v),
    );
    tf.dispose([big.loss, ...big.grads.values(), ...mean.values()]);
    acc.dispose();
  });

  it('weights unequal micro-batches by their size (token count)', () => {
    const big = valueAndGrads(lossOn(X, Y), params);
    const acc = new GradientAccumulator();
    for (const [start, n] of [
      [0, 5],
      [5, 3],
    ]) {
      const [x, y] = [rows(X, start, n), rows(Y, start, n)];
      const { loss, grads } = valueAndGrads(lossOn(x, y), params);
      acc.add(grads, n);
      tf.dispose([x, y, loss, ...grads.values()]);
    }
    expect(acc.totalWeight).toBe(8);
    const mean = acc.mean();
    expectClose(
      values(mean.get('proj.weight')!),
      values(big.grads.get('proj.weight')!),
      1e-6,
      1e-5,
    );
    tf.dispose([big.loss, ...big.grads.values(), ...mean.values()]);
    acc.dispose();
  });

  it('frees its sums on reset and refuses mean() when empty', () => {
    const acc = new GradientAccumulator();
    const before = tf.memory().numTensors;
    const g = tf.ones([3]);
    acc.add({ w: g });
    acc.add({ w: g });
    const m = acc.mean();
    expect(values(m.get('w')!)).toEqual([1, 1, 1]);
    tf.dispose([g, ...m.values()]);
    acc.reset();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => acc.mean()).toThrow(/before any add/);
    expect(() => acc.add({ w: g }, 0)).toThrow(/weight/);
  });
});
