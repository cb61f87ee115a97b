// Embedding: rows forward, summed gradient for repeated ids, an optimiser step
// that moves only the used rows — on the wasm backend — and bad-id errors.
import { beforeAll, describe, expect, it } from 'vitest';
import { Embedding } from '../../src/layers/index.js';
import { ConfigError } from '../../src/errors.js';
import { initBackend } from '../../src/backend.js';
import { tf } from '../../src/tf.js';
import { expectClose, expectNoLeak, setupBackend, values } from '../helpers.js';

const [V, D] = [5, 3];

function table(e: Embedding): number[][] {
  return (e.weight.arraySync() as number[][]).map((r) => r.slice());
}

describe('Embedding (wasm)', () => {
  beforeAll(async () => {
    await setupBackend();
    await initBackend('wasm'); // the backend whose missing gather gradient this layer routes around
  });

  it('runs on wasm', () => {
    expect(tf.getBackend()).toBe('wasm');
  });

  it('returns the rows of the table at the ids, shape [...S, D]', () => {
    const e = new Embedding({ num_embeddings: V, embedding_dim: D, seed: 3 });
    const w = table(e);
    const ids = tf.tensor2d([[4, 0, 4]], [1, 3], 'int32');
    const out = tf.tidy(() => e.forward(ids));
    expect(out.shape).toEqual([1, 3, D]);
    expect(values(out)).toEqual([...w[4], ...w[0], ...w[4]]);
    const fromArray = tf.tidy(() => e.forward([[1, 2]]));
    expect(values(fromArray)).toEqual([...w[1], ...w[2]]);
    tf.dispose([ids, out, fromArray]);
    e.dispose();
  });

  it('sums the gradient of repeated ids', () => {
    const e = new Embedding({ num_embeddings: V, embedding_dim: D });
    const ids = tf.tensor1d([2, 0, 2, 2], 'int32');
    const r = tf.tensor2d([1, 2, 3, 10, 20, 30, 100, 200, 300, 1000, 2000, 3000], [4, D]);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(e.forward(ids), r)) as tf.Scalar,
      [e.weight],
    );
    const g = grads[e.weight.name].arraySync() as number[][];
    expect(g[0]).toEqual([10, 20, 30]);
    expect(g[2]).toEqual([1101, 2202, 3303]);
    for (const row of [1, 3, 4]) expect(g[row]).toEqual([0, 0, 0]);
    tf.dispose([ids, r, value, ...Object.values(grads)]);
    e.dispose();
  });

  it('one optimiser step changes only the rows that were used', () => {
    const e = new Embedding({ num_embeddings: V, embedding_dim: D, seed: 1 });
    const before = table(e);
    const ids = tf.tensor1d([3, 1, 3], 'int32');
    const opt = tf.train.sgd(0.5);
    opt.minimize(() => tf.sum(tf.square(e.forward(ids))) as tf.Scalar)?.dispose();
    const after = table(e);
    for (let v = 0; v < V; v++) {
      if (v === 1 || v === 3) {
        // d/dW sum(x^2) = 2x per use; row 3 used twice: W - 0.5 * 2 * 2 W = -W.
        const k = v === 3 ? -1 : 0;
        expectClose(
          after[v],
          before[v].map((x) => k * x),
          1e-6,
        );
      } else {
        expect(after[v]).toEqual(before[v]);
      }
    }
    ids.dispose();
    opt.dispose();
    e.dispose();
  });

  it('rejects out-of-range, negative and non-integer ids with the bad value', () => {
    const e = new Embedding({ num_embeddings: V, embedding_dim: D });
    const hi = tf.tensor1d([0, 5], 'int32');
    const neg = tf.tensor1d([-1, 2], 'int32');
    const flt = tf.tensor1d([0, 1]);
    expect(() => e.forward(hi)).toThrow(/token id 5 is not an integer in \[0, 5\)/);
    expect(() => e.forward(neg)).toThrow(/token id -1 is not/);
    expect(() => e.forward(flt)).toThrow(/ids must be int32, got float32/);
    expect(() => e.forward([0, 1.5])).toThrow(/token id 1.5 is not an integer/);
    expect(() => e.forward([[7]])).toThrow(ConfigError);
    tf.dispose([hi, neg, flt]);
    e.dispose();
  });

  it('validates its config and round-trips it', () => {
    expect(() => new Embedding({ num_embeddings: 0, embedding_dim: 2 })).toThrow(
      /num_embeddings must be a positive integer/,
    );
    expect(() => new Embedding({ num_embeddings: 2, embedding_dim: 2, init_std: 0 })).toThrow(
      /init_std/,
    );
    const a = new Embedding({ num_embeddings: 4, embedding_dim: 2, init_std: 0.02, seed: 9 });
    const b = new Embedding(a.getConfig());
    expect(b.getConfig()).toEqual({ num_embeddings: 4, embedding_dim: 2, init_std: 0.02, seed: 9 });
    expect(values(b.weight)).toEqual(values(a.weight));
    a.dispose();
    b.dispose();
  });

  it('leaks no tensors over repeated training steps', async () => {
    const e = new Embedding({ num_embeddings: V, embedding_dim: D });
    const ids = tf.tensor2d([[0, 1, 1]], [1, 3], 'int32');
    const opt = tf.train.sgd(0.1);
    const step = () =>
      opt.minimize(() => tf.sum(tf.square(e.forward(ids))) as tf.Scalar, true)?.dispose();
    step();
    await expectNoLeak(() => {
      for (let i = 0; i < 3; i++) step();
    });
    ids.dispose();
    opt.dispose();
    e.dispose();
  });
});
