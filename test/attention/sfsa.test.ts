// SFSA (methods-language.md 3(b), 3(f) 1, 2, 4): parallel form against explicit sums,
// parallel = recurrent exactly (integer O and Z), state continuation, bit-exact causality,
// the division-free comparison, the training form, state decay against a loop reference,
// Â for SpAD, gradients to Wq/Wk/Wv, energy reports, no leaks.
import { beforeAll, describe, expect, it } from 'vitest';
import { sfsaParallel, sfsaRecurrent } from '../../src/attention/sfsa.js';
import type { SfsaState } from '../../src/attention/sfsa.js';
import { integerSpikes } from '../../src/attention/spiking-common.js';
import { withRecorder } from '../../src/energy/recorder.js';
import type { LayerWork } from '../../src/energy/recorder.js';
import { surrogate } from '../../src/neurons/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { expectNoLeak, setupBackend, values } from '../helpers.js';
import { rng } from '../neurons/reference.js';
import { disposeQKV, fromData, makeQKV, sfsaRecurrentRef, sfsaRef } from './spiking-reference.js';
import type { Dims, QKV } from './spiking-reference.js';

const dims: Dims = { T: 2, B: 2, H: 2, Nq: 10, Nk: 10, d: 6, dv: 5 };
const PAD = [
  [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  [0, 0, 0, 1, 1, 1, 1, 1, 1, 1],
];

function parallel(x: QKV, opts: Parameters<typeof sfsaParallel>[3] = {}): Tensor[] {
  return tf.tidy(() => {
    const r = sfsaParallel(x.q, x.k, x.v, { ...opts, returnCounts: true, returnMap: true });
    return [r.spikes, r.counts?.output, r.counts?.rowSum, r.counts?.scores, r.map] as Tensor[];
  });
}

function recurrent(x: QKV, opts: Parameters<typeof sfsaRecurrent>[3] = {}): Tensor[] {
  return tf.tidy(() => {
    const r = sfsaRecurrent(x.q, x.k, x.v, { ...opts, returnCounts: true });
    return [r.spikes, r.counts?.output, r.counts?.rowSum, r.state.S, r.state.z] as Tensor[];
  });
}

describe('sfsa', () => {
  beforeAll(setupBackend);

  it('parallel form equals the explicit sums P = QKᵀ ⊙ M, O = P V, Z = rowsum(P) (padding too)', () => {
    const x = makeQKV(dims, 0.5, 1);
    const mask = tf.tensor2d(PAD, [2, 10], 'int32');
    const ref = sfsaRef(x.qf, x.kf, x.vf, dims, 0.5, PAD);
    for (const inference of [false, true]) {
      const [y, o, z, p, a] = parallel(x, { attentionMask: mask, inference });
      expect(values(o)).toEqual(ref.O);
      expect(values(z)).toEqual(ref.rowSum);
      expect(values(p)).toEqual(ref.map);
      expect(values(y)).toEqual(ref.Y);
      // Â = P / (Z + 1e-6): rows sum to 1 where Z > 0, all zero where Z = 0.
      const A = values(a);
      ref.rowSum.forEach((zr, row) => {
        const sum = A.slice(row * 10, row * 10 + 10).reduce((s, e) => s + e, 0);
        expect(Math.abs(sum - (zr > 0 ? zr / (zr + 1e-6) : 0))).toBeLessThan(1e-5);
      });
      tf.dispose([y, o, z, p, a]);
    }
    expect(ref.rowSum.some((zr) => zr === 0)).toBe(true);
    mask.dispose();
    disposeQKV(x);
  });

  it('parallel = recurrent exactly: same integer O, Z and spikes (padding too)', () => {
    const x = makeQKV(dims, 0.5, 2);
    const mask = tf.tensor2d(PAD, [2, 10], 'int32');
    const [y1, o1, z1] = parallel(x, { attentionMask: mask });
    const [y2, o2, z2, S, zs] = recurrent(x, { attentionMask: mask });
    expect(values(o2)).toEqual(values(o1));
    expect(values(z2)).toEqual(values(z1));
    expect(values(y2)).toEqual(values(y1));
    expect(values(o1).every(Number.isInteger)).toBe(true);
    tf.dispose([y1, o1, z1, y2, o2, z2, S, zs]);
    mask.dispose();
    disposeQKV(x);
  });

  it('recurrent chunks continued through the state equal one pass', () => {
    const x = makeQKV(dims, 0.5, 3);
    const [y, , , S, z] = recurrent(x);
    const half = (t: Tensor, from: number, n: number) =>
      tf.slice(t, [0, 0, 0, from, 0], [-1, -1, -1, n, -1]);
    const [ya, yb, Sb, zb] = tf.tidy(() => {
      const a = sfsaRecurrent(half(x.q, 0, 4), half(x.k, 0, 4), half(x.v, 0, 4));
      const state: SfsaState = a.state;
      const b = sfsaRecurrent(half(x.q, 4, 6), half(x.k, 4, 6), half(x.v, 4, 6), { state });
      return [a.spikes, b.spikes, b.state.S, b.state.z];
    });
    expect(values(tf.concat([ya, yb], 3))).toEqual(values(y));
    expect(values(Sb)).toEqual(values(S));
    expect(values(zb)).toEqual(values(z));
    tf.dispose([y, S, z, ya, yb, Sb, zb]);
    disposeQKV(x);
  });

  it('is causal bit for bit: changing positions > i leaves rows <= i unchanged (both forms)', () => {
    const x = makeQKV(dims, 0.5, 4);
    const i = 5;
    const flip = (f: number[], w: number) =>
      f.map((s, e) => (Math.floor(e / w) % 10 > i ? 1 - s : s));
    const y = fromData(dims, flip(x.qf, 6), flip(x.kf, 6), flip(x.vf, 5));
    const rows = (t: Tensor) =>
      values(tf.tidy(() => tf.slice(t, [0, 0, 0, 0, 0], [-1, -1, -1, i + 1, -1])));
    const [pa, pb, ra, rb] = [parallel(x), parallel(y), recurrent(x), recurrent(y)];
    for (const [a, b] of [
      [pa, pb],
      [ra, rb],
    ]) {
      for (const e of [0, 1, 2]) expect(rows(b[e])).toEqual(rows(a[e]));
      expect(values(b[1])).not.toEqual(values(a[1]));
    }
    tf.dispose([...pa, ...pb, ...ra, ...rb]);
    disposeQKV(x);
    disposeQKV(y);
  });

  it('1[O >= θZ] equals 1[O/Z >= θ] for every Z > 0 (and is 0 at Z = 0)', () => {
    const r = rng(5);
    const n = 20000;
    const Z = Array.from({ length: n }, () => Math.floor(r() * 300));
    const O = Z.map((z) => Math.floor(r() * (z + 1)));
    for (const theta of [0.5, 0.25, 0.75, 1, 0.125]) {
      const y = tf.tidy(() => integerSpikes(tf.tensor2d(O, [n, 1]), tf.tensor2d(Z, [n, 1]), theta));
      const got = values(y);
      expect(got).toEqual(Z.map((z, e) => (z > 0 && O[e] / z >= theta ? 1 : 0)));
      expect(got.some((g) => g === 1) && got.some((g) => g === 0)).toBe(true);
      y.dispose();
    }
  });

  it('training form (surrogate of O/Z − θ) spikes equal the integer form, every θ', () => {
    const x = makeQKV(dims, 0.5, 6);
    for (const threshold of [0.5, 0.3, 1 / 3, 0.9]) {
      const [a] = parallel(x, { threshold });
      const [b] = parallel(x, { threshold, inference: true });
      expect(values(a)).toEqual(values(b));
      tf.dispose([a, b]);
    }
    disposeQKV(x);
  });

  it('decay S <- S − floor(S / 2^m) + KᵀV (and z) matches the loop reference', () => {
    const long: Dims = { T: 1, B: 1, H: 2, Nq: 40, Nk: 40, d: 4, dv: 3 };
    const x = makeQKV(long, 0.7, 7);
    for (const m of [1, 2, 5]) {
      const ref = sfsaRecurrentRef(x.qf, x.kf, x.vf, long, 0.5, m);
      const [y, o, z, S] = recurrent(x, { decayShift: m });
      expect(values(o)).toEqual(ref.O);
      expect(values(z)).toEqual(ref.rowSum);
      expect(values(y)).toEqual(ref.Y);
      // The state stays bounded: S <= 2^m (a fixed point of s - floor(s / 2^m) + 1).
      expect(Math.max(...values(S))).toBeLessThanOrEqual(2 ** m);
      tf.dispose([y, o, z, S]);
    }
    // A shift larger than any count changes nothing; no decay matches the reference too.
    const [o0] = recurrent(x).slice(1, 2);
    const [o9] = recurrent(x, { decayShift: 9 }).slice(1, 2);
    expect(values(o9)).toEqual(values(o0));
    expect(values(o0)).toEqual(sfsaRecurrentRef(x.qf, x.kf, x.vf, long, 0.5, null).O);
    tf.dispose([o0, o9]);
    disposeQKV(x);
  });

  it('gradients reach Wq, Wk and Wv through the surrogate (parallel and recurrent)', () => {
    const [T, B, N, D, H, d] = [2, 1, 6, 8, 2, 4];
    const r = rng(8);
    const real = (n: number) => Array.from({ length: n }, () => 2 * r() - 1);
    const sg = surrogate('sigmoid');
    const x = tf.tensor(real(T * B * N * D), [T, B, N, D]);
    const target = tf.tensor(real(T * B * H * N * d), [T, B, H, N, d]);
    const w = [0, 1, 2].map(() => tf.tensor(real(D * H * d), [D, H * d]));
    const proj = (wt: Tensor) =>
      tf.transpose(
        sg.spike(tf.sub(tf.reshape(tf.matMul(tf.reshape(x, [-1, D]), wt), [T, B, N, H, d]), 0.2)),
        [0, 1, 3, 2, 4],
      );
    for (const form of [sfsaParallel, sfsaRecurrent]) {
      const g = tf.tidy(() =>
        tf
          .grads((wq: Tensor, wk: Tensor, wv: Tensor) =>
            tf.sum(tf.mul(form(proj(wq), proj(wk), proj(wv)).spikes, target)),
          )(w)
          .map(values),
      );
      for (const gi of g) expect(gi.some((e) => e !== 0)).toBe(true);
    }
    tf.dispose([x, target, ...w]);
  });

  it('reports its products to a running recorder (spike operands)', () => {
    const x = makeQKV(dims, 0.5, 9);
    const seen: LayerWork[] = [];
    const out = withRecorder({ record: (w) => seen.push(w) }, () => [
      ...parallel(x),
      ...recurrent(x),
    ]);
    const M = 55;
    expect(seen.map((w) => [w.layer, w.encoding, w.flopsPerStep, w.timeSteps])).toEqual([
      ['sfsa.qk', 'spike', 2 * 2 * M * 6, 2],
      ['sfsa.av', 'spike', 2 * 2 * M * 5, 2],
      ['sfsa.kv', 'spike', 2 * 2 * 10 * 6 * 5, 2],
      ['sfsa.qs', 'spike', 2 * 2 * 10 * 6 * 5, 2],
    ]);
    tf.dispose(out);
    disposeQKV(x);
  });

  it('leaves no tensors behind (results disposed)', async () => {
    const x = makeQKV(dims, 0.5, 10);
    const mask = tf.tensor2d(PAD, [2, 10], 'int32');
    parallel(x).forEach((t) => t.dispose()); // warm-up
    await expectNoLeak(() => {
      tf.dispose(parallel(x, { attentionMask: mask }));
      tf.dispose(recurrent(x, { attentionMask: mask, decayShift: 3 }));
      tf.dispose(recurrent(x, { inference: true }));
    });
    mask.dispose();
    disposeQKV(x);
  });
});
