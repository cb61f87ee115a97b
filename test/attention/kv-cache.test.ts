// The KV cache: segment bookkeeping (tail appends, merges every blockSize
// positions), the context bound, disposal; and SoftmaxAttention decoding through
// it (prompt, then token by token, RoPE offsets, GQA) equal to the full forward.
import { beforeAll, describe, expect, it } from 'vitest';
import { KVCache, RotaryEmbedding, SoftmaxAttention } from '../../src/attention/index.js';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { setupBackend, values } from '../helpers.js';
import { maxDiff, rand } from './softmax-reference.js';

function step(n: number, start: number): Tensor {
  // [1, 1, n, 2] holding the absolute positions, so contents are easy to check.
  return tf.tensor4d(Array.from({ length: n }, (_, i) => [start + i, -(start + i)]).flat(), [
    1,
    1,
    n,
    2,
  ]);
}

describe('KVCache', () => {
  beforeAll(setupBackend);

  it('appends to a short tail and merges it into the main segment every blockSize positions', () => {
    const cache = new KVCache({ layers: 2, batch: 1, maxPositions: 20, blockSize: 4 });
    const lens: number[][] = [];
    let pos = 0;
    for (const n of [3, 1, 1, 2, 5, 1]) {
      expect(cache.reserve(n)).toBe(pos);
      for (let l = 0; l < 2; l++) {
        const k = step(n, pos);
        const segs = cache.layer(l).append(k, k);
        k.dispose();
        if (l === 0) lens.push(segs.keys.map((s) => s.shape[2] as number));
        const all = segs.keys.flatMap((s) => values(s).filter((_, i) => i % 2 === 0));
        expect(all).toEqual(Array.from({ length: pos + n }, (_, i) => i));
      }
      pos += n;
    }
    // tail 3 -> 4 merges -> main 4, tail 1 -> tail 3 -> 8 merges -> 9 merges.
    expect(lens).toEqual([[3], [4], [4, 1], [4, 3], [12], [12, 1]]);
    expect(cache.length).toBe(13);
    cache.dispose();
  });

  it("'auto' keeps one segment while the history is small, then a 64-position tail", () => {
    const cache = new KVCache({ layers: 1, batch: 1, maxPositions: 600 });
    const segs: number[][] = [];
    for (const n of [100, 100, 100, 10, 10, 10, 10, 10, 10, 10]) {
      cache.reserve(n);
      const k = tf.zeros([1, 2, n, 128]); // 100 positions = 25 600 numbers
      const s = cache.layer(0).append(k, k);
      segs.push(s.keys.map((x) => x.shape[2] as number));
      k.dispose();
    }
    // One segment until the keys pass SEGMENT_MIN_ELEMENTS (65 536 = 256 positions
    // here), then a tail that merges when it reaches 64 positions.
    expect(segs).toEqual([
      [100],
      [200],
      [300],
      ...[10, 20, 30, 40, 50, 60].map((t) => [300, t]),
      [370],
    ]);
    cache.dispose();
  });

  it('refuses positions past the context with a clear error', () => {
    const cache = new KVCache({ layers: 1, batch: 1, maxPositions: 5 });
    cache.reserve(3);
    const k = step(3, 0);
    cache.layer(0).append(k, k);
    expect(() => cache.reserve(3)).toThrow(ConfigError);
    expect(() => cache.reserve(3)).toThrow(
      /context exceeded: 3 cached \+ 3 new tokens = 6 positions, but the model context is 5/,
    );
    expect(() => cache.layer(0).append(k, k)).toThrow(/context exceeded in layer 0/);
    expect(() => cache.layer(1)).toThrow(/layers 0\.\.0/);
    const wrong = tf.zeros([2, 1, 1, 2]);
    expect(() => cache.layer(0).append(wrong, wrong)).toThrow(ShapeError);
    tf.dispose([k, wrong]);
    cache.dispose();
    expect(() => cache.reserve(1)).toThrow(/disposed/);
  });

  it('detects a step that stopped midway', () => {
    const cache = new KVCache({ layers: 2, batch: 1, maxPositions: 8 });
    const k = step(1, 0);
    cache.layer(0).append(k, k);
    expect(() => cache.reserve(1)).toThrow(/inconsistent \(layer lengths 1, 0\)/);
    k.dispose();
    cache.dispose();
  });

  it('frees every tensor it holds', () => {
    const before = tf.memory().numTensors;
    const cache = new KVCache({ layers: 3, batch: 1, maxPositions: 64, blockSize: 4 });
    for (let t = 0; t < 10; t++) {
      cache.reserve(1);
      for (let l = 0; l < 3; l++) {
        tf.tidy(() => {
          const k = step(1, t);
          cache.layer(l).append(k, k);
        });
      }
    }
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  for (const blockSize of [3, 64]) {
    it(`SoftmaxAttention: prompt then token-by-token decoding equals the full forward (blockSize ${blockSize})`, () => {
      const [D, H, Hkv, N, P] = [16, 4, 2, 60, 52];
      const attn = new SoftmaxAttention({
        hidden_size: D,
        num_heads: H,
        num_kv_heads: Hkv,
        seed: 3,
      });
      const rope = new RotaryEmbedding({ head_dim: D / H, max_positions: 64 });
      const x = tf.tensor3d(rand(2 * N * D, 9), [2, N, D]);
      const full = tf.tidy(() => attn.forward(x, { rotary: rope.angles(0, N) }).output);
      const cache = new KVCache({ layers: 1, batch: 2, maxPositions: 64, blockSize });
      const parts: Tensor[] = [];
      for (let t = 0; t < N; t += t === 0 ? P : 1) {
        const n = t === 0 ? P : 1;
        const off = cache.reserve(n);
        parts.push(
          tf.tidy(() => {
            const xs = tf.slice(x, [0, t, 0], [2, n, D]);
            return attn.forward(xs, { rotary: rope.angles(off, n), cache: cache.layer(0) }).output;
          }),
        );
      }
      const inc = tf.concat(parts, 1);
      expect(maxDiff(values(inc), values(full))).toBeLessThanOrEqual(1e-6);
      tf.dispose([x, full, inc, ...parts]);
      cache.dispose();
      rope.dispose();
      attn.dispose();
    });
  }
});
