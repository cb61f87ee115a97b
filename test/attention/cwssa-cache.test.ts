// Incremental CWSSA decoding (methods-language.md 1(b) "Incremental decoding"): feeding
// tokens one (or a few) at a time against cached K and V spikes of every past position and
// time step gives the rows of the full computation bit for bit; cache errors; no leaks.
import { beforeAll, describe, expect, it } from 'vitest';
import { SpikeKVCache } from '../../src/attention/spike-cache.js';
import { cwssa } from '../../src/attention/wssa.js';
import { ShapeError } from '../../src/errors.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { expectNoLeak, setupBackend, values } from '../helpers.js';
import { disposeQKV, makeQKV } from './spiking-reference.js';
import type { Dims } from './spiking-reference.js';

const dims: Dims = { T: 2, B: 2, H: 2, Nq: 11, Nk: 11, d: 6, dv: 5 };
const PAD = [
  [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1],
];

/** Positions `from .. from + n - 1` of a `[T, B, H, N, c]` tensor. */
const cut = (t: Tensor, from: number, n: number) =>
  tf.slice(t, [0, 0, 0, from, 0], [-1, -1, -1, n, -1]);

describe('incremental CWSSA with a spike cache', () => {
  beforeAll(setupBackend);

  for (const chunk of [1, 3]) {
    for (const kWin of [1, 2]) {
      it(`chunks of ${chunk}, k=${kWin}: every new row equals the full computation bit for bit`, () => {
        const x = makeQKV(dims, 0.45, 31 + chunk + kWin);
        const mask = tf.tensor2d(PAD, [2, 11], 'int32');
        const full = tf.tidy(() => cwssa(x.q, x.k, x.v, { k: kWin, attentionMask: mask }).spikes);
        const cache = new SpikeKVCache(16);
        const steps: Tensor[] = [];
        for (let start = 0; start < 11; start += chunk) {
          const n = Math.min(chunk, 11 - start);
          steps.push(
            tf.tidy(() => {
              const seg = cache.append(cut(x.k, start, n), cut(x.v, start, n));
              const seen = tf.slice(mask, [0, 0], [2, start + n]); // [B, cached + new]
              return cwssa(cut(x.q, start, n), seg.keys, seg.values, {
                k: kWin,
                attentionMask: seen,
              }).spikes;
            }),
          );
        }
        expect(cache.length).toBe(11);
        const joined = tf.concat(steps, 3);
        expect(values(joined)).toEqual(values(full));
        tf.dispose([full, joined, mask, ...steps]);
        cache.dispose();
        expect(cache.length).toBe(0);
        disposeQKV(x);
      });
    }
  }

  it('rejects mismatched appends and overflow, naming the shapes', () => {
    const cache = new SpikeKVCache(3);
    const k = tf.zeros([1, 1, 2, 2, 4]);
    const v = tf.zeros([1, 1, 2, 2, 5]);
    cache.append(k, v);
    expect(() => cache.append(tf.zeros([1, 1, 3, 1, 4]), tf.zeros([1, 1, 3, 1, 5]))).toThrow(
      ShapeError,
    );
    expect(() => cache.append(k, tf.zeros([1, 1, 2, 3, 5]))).toThrow(/must be \[T, B, H, n, d\]/);
    expect(() => cache.append(k, v)).toThrow(/2 \+ 2 positions exceed maxPositions 3/);
    expect(() => new SpikeKVCache(0)).toThrow(/maxPositions must be a positive integer/);
    cache.dispose();
    tf.dispose([k, v]);
  });

  it('a decoding loop leaves no tensors behind once the cache is disposed', async () => {
    const x = makeQKV(dims, 0.5, 3);
    await expectNoLeak(() => {
      const cache = new SpikeKVCache(11);
      for (let i = 0; i < 11; i++) {
        tf.tidy(() => {
          const seg = cache.append(cut(x.k, i, 1), cut(x.v, i, 1));
          cwssa(cut(x.q, i, 1), seg.keys, seg.values, { k: 2 });
        });
      }
      cache.dispose();
    });
    disposeQKV(x);
  });
});
