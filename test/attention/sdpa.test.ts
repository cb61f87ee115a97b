// Scaled dot-product attention against a float64 reference: MHA, GQA and MQA,
// causal, bidirectional and padded; both execution paths (one batched product for
// few query rows, per-item products for many rows on wasm); key segments; GQA
// versus MHA with repeated kv heads; bit-exact causality; weights; errors.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  LOOP_MIN_ROWS,
  buildAttentionBias,
  causalBias,
  repeatKvHeads,
  scaledDotProductAttention,
} from '../../src/attention/index.js';
import { ShapeError } from '../../src/errors.js';
import { withRecorder } from '../../src/energy/recorder.js';
import type { LayerWork } from '../../src/energy/recorder.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { expectNoLeak, setupBackend, values } from '../helpers.js';
import { attentionRef, flat, maxDiff, rand, to4 } from './softmax-reference.js';

const d = 8;

function inputs(B: number, H: number, Hkv: number, N: number, seed: number) {
  const qf = rand(B * H * N * d, seed);
  const kf = rand(B * Hkv * N * d, seed + 1);
  const vf = rand(B * Hkv * N * d, seed + 2);
  return {
    qf,
    kf,
    vf,
    q: tf.tensor4d(qf, [B, H, N, d]),
    k: tf.tensor4d(kf, [B, Hkv, N, d]),
    v: tf.tensor4d(vf, [B, Hkv, N, d]),
  };
}

describe('scaledDotProductAttention', () => {
  beforeAll(setupBackend);

  // N = 5 runs one loop call per product on wasm; N = 64 (>= LOOP_MIN_ROWS) may run
  // one product per item (the routed matMul of src/ops).
  for (const N of [5, 64]) {
    for (const [H, Hkv] of [
      [4, 4],
      [4, 2],
      [4, 1],
    ]) {
      for (const causal of [true, false]) {
        it(`matches float64: N=${N}, H=${H}, Hkv=${Hkv}, causal=${causal}`, () => {
          expect(N >= LOOP_MIN_ROWS).toBe(N === 64);
          const B = 2;
          const x = inputs(B, H, Hkv, N, 10 * N + H + Hkv);
          const res = tf.tidy(() => {
            const bias = causal ? causalBias(N, N) : null;
            const r = scaledDotProductAttention(x.q, x.k, x.v, { bias, returnWeights: true });
            return [r.output, r.weights as Tensor];
          });
          const ref = attentionRef(
            to4(x.qf, [B, H, N, d]),
            to4(x.kf, [B, Hkv, N, d]),
            to4(x.vf, [B, Hkv, N, d]),
            (_b, i, j) => !causal || j <= i,
          );
          expect(res[0].shape).toEqual([B, H, N, d]);
          expect(res[1].shape).toEqual([B, H, N, N]);
          expect(maxDiff(values(res[0]), flat(ref.out))).toBeLessThan(1e-5);
          expect(maxDiff(values(res[1]), flat(ref.probs))).toBeLessThan(1e-5);
          tf.dispose([...res, x.q, x.k, x.v]);
        });
      }
    }
  }

  for (const N of [6, 64]) {
    it(`GQA equals MHA with repeated kv heads (N=${N})`, () => {
      const x = inputs(2, 8, 2, N, 77);
      const [a, b] = tf.tidy(() => {
        const bias = causalBias(N, N);
        const gqa = scaledDotProductAttention(x.q, x.k, x.v, { bias }).output;
        const kr = repeatKvHeads(x.k, 4);
        const vr = repeatKvHeads(x.v, 4);
        const mha = scaledDotProductAttention(x.q, kr, vr, { bias }).output;
        return [gqa, mha];
      });
      expect(maxDiff(values(a), values(b))).toBeLessThanOrEqual(1e-6);
      tf.dispose([a, b, x.q, x.k, x.v]);
    });
  }

  for (const N of [7, 64]) {
    it(`changing a future key/value changes no earlier output, bit for bit (N=${N})`, () => {
      const x = inputs(1, 4, 2, N, 5);
      const j = N - 3;
      const kf2 = x.kf.slice();
      const vf2 = x.vf.slice();
      for (let h = 0; h < 2; h++) {
        for (let t = 0; t < d; t++) {
          kf2[(h * N + j) * d + t] += 3;
          vf2[(h * N + j) * d + t] -= 5;
        }
      }
      const run = (k: Tensor, v: Tensor) =>
        tf.tidy(() => scaledDotProductAttention(x.q, k, v, { bias: causalBias(N, N) }).output);
      const k2 = tf.tensor4d(kf2, [1, 2, N, d]);
      const v2 = tf.tensor4d(vf2, [1, 2, N, d]);
      const [a, b] = [run(x.k, x.v), run(k2, v2)];
      const av = to4(values(a), [1, 4, N, d]);
      const bv = to4(values(b), [1, 4, N, d]);
      for (let h = 0; h < 4; h++) {
        expect(bv[0][h].slice(0, j)).toEqual(av[0][h].slice(0, j));
        expect(bv[0][h][j]).not.toEqual(av[0][h][j]);
      }
      tf.dispose([a, b, k2, v2, x.q, x.k, x.v]);
    });
  }

  for (const N of [6, 64]) {
    it(`left padding: padded rows equal the unpadded sequence (N=${N})`, () => {
      const pad = 2;
      const x = inputs(1, 4, 2, N, 99);
      const mask = tf.tensor2d(
        [[...Array(pad).fill(0), ...Array(N - pad).fill(1)]],
        [1, N],
        'int32',
      );
      const [padded, plain] = tf.tidy(() => {
        const bias = buildAttentionBias({ queries: N, keys: N, causal: true, attentionMask: mask });
        const a = scaledDotProductAttention(x.q, x.k, x.v, { bias }).output;
        const cut = (t: Tensor) => tf.slice(t, [0, 0, pad, 0], [1, -1, N - pad, d]);
        const b = scaledDotProductAttention(cut(x.q), cut(x.k), cut(x.v), {
          bias: causalBias(N - pad, N - pad),
        }).output;
        return [tf.slice(a, [0, 0, pad, 0], [1, 4, N - pad, d]), b, a];
      });
      expect(maxDiff(values(padded), values(plain))).toBeLessThanOrEqual(1e-6);
      tf.dispose([padded, plain, mask, x.q, x.k, x.v]);
    });
  }

  it('padding queries that see no token stay finite (uniform rows, no NaN)', () => {
    const x = inputs(2, 2, 2, 4, 3);
    const mask = tf.tensor2d([0, 0, 1, 1, 1, 1, 1, 1], [2, 4], 'int32');
    const out = tf.tidy(() => {
      const bias = buildAttentionBias({ queries: 4, keys: 4, causal: true, attentionMask: mask });
      return scaledDotProductAttention(x.q, x.k, x.v, { bias }).output;
    });
    expect(values(out).every(Number.isFinite)).toBe(true);
    tf.dispose([out, mask, x.q, x.k, x.v]);
  });

  it('key/value segments give the same result as one tensor', () => {
    for (const Nq of [1, 3, 64]) {
      const x = inputs(2, 4, 2, 64, 21);
      const [one, segs] = tf.tidy(() => {
        const q = tf.slice(x.q, [0, 0, 64 - Nq, 0], [2, 4, Nq, d]);
        const bias = causalBias(Nq, 64);
        const whole = scaledDotProductAttention(q, x.k, x.v, { bias }).output;
        const ks = tf.split(x.k, [40, 20, 4], 2);
        const vs = tf.split(x.v, [40, 20, 4], 2);
        return [whole, scaledDotProductAttention(q, ks, vs, { bias }).output];
      });
      expect(maxDiff(values(one), values(segs))).toBeLessThanOrEqual(1e-6);
      tf.dispose([one, segs, x.q, x.k, x.v]);
    }
  });

  it('rejects shapes that do not fit, naming them', () => {
    const x = inputs(1, 3, 3, 4, 1);
    const k2 = tf.zeros([1, 2, 4, d]);
    expect(() => scaledDotProductAttention(x.q, k2, k2)).toThrow(ShapeError);
    expect(() => scaledDotProductAttention(x.q, k2, k2)).toThrow(/3 query heads.*2 kv heads/);
    expect(() => scaledDotProductAttention(x.q, x.k, tf.zeros([1, 3, 5, d]))).toThrow(
      /segment 0: k \[1, 3, 4, 8\] and v \[1, 3, 5, 8\]/,
    );
    expect(() => scaledDotProductAttention(x.q, [], [])).toThrow(/segments/);
    tf.dispose([x.q, x.k, x.v, k2]);
  });

  it('reports both products to a running energy recorder', () => {
    const x = inputs(1, 4, 2, 5, 8);
    const seen: LayerWork[] = [];
    const out = withRecorder({ record: (w) => seen.push(w) }, () =>
      tf.tidy(() => scaledDotProductAttention(x.q, x.k, x.v, { name: 'layers.0.attn' }).output),
    );
    expect(seen.map((w) => [w.layer, w.kind, w.flopsPerStep])).toEqual([
      ['layers.0.attn.qk', 'attention', 4 * 5 * 5 * d],
      ['layers.0.attn.av', 'attention', 4 * 5 * 5 * d],
    ]);
    tf.dispose([out, x.q, x.k, x.v]);
  });

  it('leaves no tensors behind', async () => {
    const x = inputs(1, 4, 2, 64, 2);
    await expectNoLeak(() => {
      for (const N of [64, 2]) {
        tf.tidy(() => {
          const q = tf.slice(x.q, [0, 0, 0, 0], [1, 4, N, d]);
          scaledDotProductAttention(q, x.k, x.v, { bias: causalBias(N, 64, 64 - N) });
        });
      }
    });
    tf.dispose([x.q, x.k, x.v]);
  });
});
