// SoftmaxAttention as a module: parameter names and shapes, a float64 check of
// projections + attention + output projection, fused qkv equal to separate
// projections, bidirectional with padding, GQA equal to MHA with repeated kv
// rows, config round trip and argument validation.
import { beforeAll, describe, expect, it } from 'vitest';
import { SoftmaxAttention } from '../../src/attention/index.js';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { expectNoLeak, setupBackend, values } from '../helpers.js';
import { attentionRef, flat, maxDiff, rand, to4 } from './softmax-reference.js';

/** `x W^T + b` in float64 on flat row-major arrays. */
function lin(x: number[], w: number[], b: number[] | null, rows: number, I: number, O: number) {
  const y: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < O; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < I; i++) s += x[r * I + i] * w[o * I + i];
      y.push(s);
    }
  }
  return y;
}

/** `[B*N, H*d]` rows -> `[B][H][N][d]`. */
function heads(y: number[], B: number, N: number, H: number, d: number) {
  return Array.from({ length: B }, (_, b) =>
    Array.from({ length: H }, (_, h) =>
      Array.from({ length: N }, (_, n) =>
        Array.from({ length: d }, (_, j) => y[(b * N + n) * H * d + h * d + j]),
      ),
    ),
  );
}

describe('SoftmaxAttention', () => {
  beforeAll(setupBackend);

  it('names its parameters q, k, v, o (or qkv, o) with PyTorch [out, in] shapes', () => {
    const a = new SoftmaxAttention({
      hidden_size: 16,
      num_heads: 4,
      num_kv_heads: 2,
      qkv_bias: true,
    });
    expect(a.namedParameters().map(([n, v]) => [n, v.shape])).toEqual([
      ['q.weight', [16, 16]],
      ['q.bias', [16]],
      ['k.weight', [8, 16]],
      ['k.bias', [8]],
      ['v.weight', [8, 16]],
      ['v.bias', [8]],
      ['o.weight', [16, 16]],
    ]);
    const f = new SoftmaxAttention({
      ...{ hidden_size: 16, num_heads: 4, fused_qkv: true },
      ...{ qkv_bias: true, out_bias: true },
    });
    expect(f.namedParameters().map(([n, v]) => [n, v.shape])).toEqual([
      ['qkv.weight', [48, 16]],
      ['qkv.bias', [48]],
      ['o.weight', [16, 16]],
      ['o.bias', [16]],
    ]);
    expect(new SoftmaxAttention(f.getConfig()).getConfig()).toEqual(f.getConfig());
    a.dispose();
    f.dispose();
  });

  for (const causal of [true, false]) {
    it(`matches float64 projections + attention (GQA, biases, causal=${causal}, padding)`, () => {
      const [B, N, D, H, Hkv, d] = [2, 5, 12, 4, 2, 3];
      const a = new SoftmaxAttention({
        ...{ hidden_size: D, num_heads: H, num_kv_heads: Hkv, causal },
        ...{ qkv_bias: true, out_bias: true, seed: 4 },
      });
      const p = Object.fromEntries(a.namedParameters().map(([n, v]) => [n, values(v)]));
      const xf = rand(B * N * D, 6);
      const x = tf.tensor3d(xf, [B, N, D]);
      const mask = tf.tensor2d([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], [B, N], 'int32');
      const out = tf.tidy(() => a.forward(x, { attentionMask: mask }).output);
      const q = heads(lin(xf, p['q.weight'], p['q.bias'], B * N, D, H * d), B, N, H, d);
      const k = heads(lin(xf, p['k.weight'], p['k.bias'], B * N, D, Hkv * d), B, N, Hkv, d);
      const v = heads(lin(xf, p['v.weight'], p['v.bias'], B * N, D, Hkv * d), B, N, Hkv, d);
      const pad = (b: number, j: number) => !(b === 1 && j >= 3);
      const ref = attentionRef(q, k, v, (b, i, j) => (!causal || j <= i) && pad(b, j));
      const merged = to4(flat(ref.out), [B, H, N, d]).flatMap((ob) =>
        Array.from({ length: N }, (_, n) => ob.flatMap((oh) => oh[n])),
      ); // [B*N, H*d]
      const y = lin(merged.flat(), p['o.weight'], p['o.bias'], B * N, H * d, D);
      expect(maxDiff(values(out), y)).toBeLessThan(1e-5);
      tf.dispose([x, mask, out]);
      a.dispose();
    });
  }

  it('a fused qkv projection equals separate q, k, v with the rows stacked', () => {
    const sep = new SoftmaxAttention({
      hidden_size: 8,
      num_heads: 2,
      num_kv_heads: 1,
      qkv_bias: true,
      seed: 1,
    });
    const fused = new SoftmaxAttention({ ...sep.getConfig(), fused_qkv: true });
    const s = sep.stateDict();
    const get = (n: string) => s.get(n) as Tensor;
    const state = tf.tidy(() => ({
      'qkv.weight': tf.concat([get('q.weight'), get('k.weight'), get('v.weight')], 0),
      'qkv.bias': tf.concat([get('q.bias'), get('k.bias'), get('v.bias')], 0),
      'o.weight': tf.clone(get('o.weight')),
    }));
    fused.loadState(state);
    const x = tf.tensor3d(rand(3 * 7 * 8, 2), [3, 7, 8]);
    const [a, b] = tf.tidy(() => [sep.forward(x).output, fused.forward(x).output]);
    expect(maxDiff(values(a), values(b))).toBeLessThanOrEqual(1e-6);
    tf.dispose([x, a, b, ...Object.values(state)]);
    sep.dispose();
    fused.dispose();
  });

  it('returns attention maps on request and leaves no tensors behind', async () => {
    const a = new SoftmaxAttention({ hidden_size: 8, num_heads: 2 });
    const x = tf.tensor3d(rand(6 * 8, 3), [1, 6, 8]);
    const r = tf.tidy(() => {
      const o = a.forward(x, { outputAttentions: true });
      return [o.output, o.weights as Tensor];
    });
    expect(r[1].shape).toEqual([1, 2, 6, 6]);
    tf.dispose(r);
    await expectNoLeak(() => {
      tf.tidy(() => {
        a.forward(x, { outputAttentions: true });
      });
    });
    x.dispose();
    a.dispose();
  });

  it('validates its arguments and inputs, naming them', () => {
    expect(() => new SoftmaxAttention({ hidden_size: 8, num_heads: 3 })).toThrow(
      /hidden_size \(8\) is not divisible by num_heads \(3\)/,
    );
    expect(() => new SoftmaxAttention({ hidden_size: 8, num_heads: 4, num_kv_heads: 3 })).toThrow(
      ConfigError,
    );
    expect(
      () =>
        new SoftmaxAttention({ hidden_size: 8, num_heads: 2, causal: 'yes' as unknown as boolean }),
    ).toThrow(/causal must be true or false/);
    const a = new SoftmaxAttention({ hidden_size: 8, num_heads: 2 });
    const bad = tf.zeros([1, 3, 6]);
    expect(() => a.forward(bad)).toThrow(ShapeError);
    expect(() => a.forward(bad)).toThrow(/expected \[B, N, 8\], got \[1, 3, 6\]/);
    bad.dispose();
    a.dispose();
  });
});
