// RoPE in both conventions against float64 references (HF rotate-half, llama2.c
// adjacent pairs), position offsets and per-row positions, the q/k row reordering
// that maps one convention onto the other, and bad arguments.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  RotaryEmbedding,
  applyRotary,
  inverseFrequencies,
  ropeRowsToHalf,
  ropeRowsToInterleaved,
  splitHeads,
} from '../../src/attention/index.js';
import type { RopeStyle } from '../../src/attention/index.js';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { tf } from '../../src/tf.js';
import { expectNoLeak, setupBackend, values } from '../helpers.js';
import { flat, maxDiff, rand, ropeHalfRef, ropeInterleavedRef, to4 } from './softmax-reference.js';

describe('RotaryEmbedding', () => {
  beforeAll(setupBackend);

  const refs: Record<RopeStyle, (x: number[], p: number, theta: number) => number[]> = {
    rotate_half: ropeHalfRef,
    interleaved: ropeInterleavedRef,
  };

  for (const style of ['rotate_half', 'interleaved'] as const) {
    it(`${style}: matches float64 at positions offset..offset+N-1`, () => {
      const [B, H, N, d, offset, theta] = [2, 3, 5, 8, 37, 500];
      const rope = new RotaryEmbedding({ head_dim: d, max_positions: 64, theta, style });
      const xf = rand(B * H * N * d, 3);
      const x = tf.tensor4d(xf, [B, H, N, d]);
      const y = tf.tidy(() => applyRotary(x, rope.angles(offset, N)));
      const x4 = to4(xf, [B, H, N, d]);
      const ref = x4.map((xb) =>
        xb.map((xh) => xh.map((v, n) => refs[style](v, offset + n, theta))),
      );
      expect(maxDiff(values(y), flat(ref))).toBeLessThan(2e-6);
      tf.dispose([x, y]);
      rope.dispose();
    });
  }

  it('position 0 is the identity and norms are kept at every position', () => {
    const rope = new RotaryEmbedding({ head_dim: 4, max_positions: 16 });
    const x = tf.tensor4d([1, 2, 3, 4, 1, 2, 3, 4], [1, 1, 2, 4]);
    const y = tf.tidy(() => applyRotary(x, rope.angles(0, 2)));
    const v = values(y);
    expect(v.slice(0, 4)).toEqual([1, 2, 3, 4]);
    expect(Math.hypot(...v.slice(4))).toBeCloseTo(Math.hypot(1, 2, 3, 4), 5);
    tf.dispose([x, y]);
    rope.dispose();
  });

  it('inverse frequencies are theta^(-2i/d), rounded to float32', () => {
    const f = inverseFrequencies(8, 10000);
    expect(Array.from(f)).toEqual([1, 0.1, 0.01, 0.001].map(Math.fround));
  });

  it('ropeRowsToHalf orders every head [0,2,4,6,1,3,5,7]; ropeRowsToInterleaved undoes it', () => {
    const rows = Array.from({ length: 16 }, (_, i) => i);
    const w = tf.tensor2d(
      rows.flatMap((r) => [r, 100 + r]),
      [16, 2],
    );
    const b = tf.tensor1d(rows);
    const [wh, bh, back] = tf.tidy(() => {
      const h = ropeRowsToHalf(w, 2, 8);
      return [h, ropeRowsToHalf(b, 2, 8), ropeRowsToInterleaved(h, 2, 8)];
    });
    const order = [0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15];
    expect(values(bh)).toEqual(order);
    expect(values(wh)).toEqual(order.flatMap((r) => [r, 100 + r]));
    expect(values(back)).toEqual(values(w));
    expect(() => ropeRowsToHalf(w, 3, 8)).toThrow(ShapeError);
    tf.dispose([w, b, wh, bh, back]);
  });

  it('the conventions agree after reordering the q/k rows (as llama2.c -> HF)', () => {
    const [B, N, D, H, d] = [2, 6, 16, 2, 8];
    const half = new RotaryEmbedding({ head_dim: d, max_positions: 32, style: 'rotate_half' });
    const inter = new RotaryEmbedding({ head_dim: d, max_positions: 32, style: 'interleaved' });
    const x = tf.tensor3d(rand(B * N * D, 1), [B, N, D]);
    const wq = tf.tensor2d(rand(H * d * D, 2), [H * d, D]);
    const wk = tf.tensor2d(rand(H * d * D, 3), [H * d, D]);
    const [qi, qh, si, sh] = tf.tidy(() => {
      const proj = (w: tf.Tensor, r: RotaryEmbedding) =>
        applyRotary(
          splitHeads(
            tf.matMul(tf.reshape(x, [-1, D]), w, false, true).reshape([B, N, H * d]),
            H,
            d,
          ),
          r.angles(3, N),
        );
      const qI = proj(wq, inter);
      const kI = proj(wk, inter);
      const qH = proj(ropeRowsToHalf(wq, H, d), half);
      const kH = proj(ropeRowsToHalf(wk, H, d), half);
      return [qI, qH, tf.matMul(qI, kI, false, true), tf.matMul(qH, kH, false, true)];
    });
    // Same numbers, per-head dimensions in the reordered positions, bit for bit.
    const perm = [0, 2, 4, 6, 1, 3, 5, 7];
    const a = values(qi);
    const b = values(qh);
    for (let r = 0; r < a.length / d; r++) {
      for (let j = 0; j < d; j++) expect(b[r * d + j]).toBe(a[r * d + perm[j]]);
    }
    // Hence the same attention scores (summed in another order).
    expect(maxDiff(values(si), values(sh))).toBeLessThan(1e-5);
    tf.dispose([x, wq, wk, qi, qh, si, sh]);
    half.dispose();
    inter.dispose();
  });

  it('per-row positions (anglesAt) equal the shared offsets', () => {
    const rope = new RotaryEmbedding({ head_dim: 8, max_positions: 32 });
    const x = tf.tensor4d(rand(2 * 2 * 3 * 8, 4), [2, 2, 3, 8]);
    const pos = tf.tensor2d([4, 5, 6, 4, 5, 6], [2, 3], 'int32');
    const [a, b] = tf.tidy(() => [
      applyRotary(x, rope.anglesAt(pos)),
      applyRotary(x, rope.angles(4, 3)),
    ]);
    expect(values(a)).toEqual(values(b));
    tf.dispose([x, pos, a, b]);
    rope.dispose();
  });

  it('rejects odd head_dim, unknown styles and positions past the table', () => {
    expect(() => new RotaryEmbedding({ head_dim: 7, max_positions: 8 })).toThrow(/even head_dim/);
    expect(
      () => new RotaryEmbedding({ head_dim: 8, max_positions: 8, style: 'gptj' as 'interleaved' }),
    ).toThrow(ConfigError);
    const rope = new RotaryEmbedding({ head_dim: 8, max_positions: 8 });
    expect(() => rope.angles(6, 3)).toThrow(
      /6\.\.8 are outside the table of 8.*max_position_embeddings/,
    );
    const x = tf.zeros([1, 1, 2, 4]);
    expect(() => tf.tidy(() => applyRotary(x, rope.angles(0, 2)))).toThrow(ShapeError);
    x.dispose();
    rope.dispose();
  });

  it('leaves no tensors behind', async () => {
    const rope = new RotaryEmbedding({ head_dim: 8, max_positions: 16 });
    const x = tf.zeros([1, 2, 4, 8]);
    await expectNoLeak(() => {
      tf.tidy(() => {
        applyRotary(x, rope.angles(2, 4));
      });
    });
    x.dispose();
    rope.dispose();
  });
});
