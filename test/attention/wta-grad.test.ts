// WTA backward (methods-language.md 1(b)-(c), 1(f) 6): the customGrad of the hard map
// equals autodiff of its softmax relaxation (the smooth twin `sum(G ⊙ P(C))`), which in
// turn matches float64 central finite differences; with the surrogate Wq and Wk get
// non-zero gradients, without it exactly zero; the soft map trains Q and K; no leaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wssa } from '../../src/attention/wssa.js';
import type { WssaOptions } from '../../src/attention/wssa.js';
import { wtaMap, wtaSoftMap } from '../../src/attention/wta.js';
import { surrogate } from '../../src/neurons/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { expectNoLeak, setupBackend, values } from '../helpers.js';
import { rng } from '../neurons/reference.js';
import { softmaxRow } from './spiking-reference.js';

const [T, B, H, N, d] = [2, 2, 2, 6, 8];

/** Causal + padding allowed mask `[1, B, 1, N, N]` as float 0/1, and the same as booleans. */
function mask(): { t: Tensor; ok: (b: number, i: number, j: number) => boolean } {
  const pad = [
    [1, 1, 1, 1, 1, 1],
    [0, 1, 1, 0, 1, 1],
  ];
  const ok = (b: number, i: number, j: number) => j <= i && pad[b][j] === 1;
  const data: number[] = [];
  for (let b = 0; b < B; b++)
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) data.push(ok(b, i, j) ? 1 : 0);
  return { t: tf.tensor(data, [1, B, 1, N, N]), ok };
}

function randInts(n: number, hi: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * (hi + 1)));
}

function randReal(n: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => 2 * r() - 1);
}

describe('WTA softmax-Jacobian surrogate', () => {
  beforeAll(setupBackend);
  const size = T * B * H * N * N;
  const tauS = Math.sqrt(d) / 2;

  it('customGrad backward equals tf.grad of the smooth twin sum(G ⊙ softmax(C/τ_s))', () => {
    const m = mask();
    const c = tf.tensor(randInts(size, d, 1), [T, B, H, N, N]);
    const g = tf.tensor(randReal(size, 2), [T, B, H, N, N]);
    const [hard, twin] = tf.tidy(() => [
      tf.grad((x: Tensor) =>
        tf.sum(tf.mul(wtaMap(x, m.t, { k: 2, tauS, surrogate: true, maxScore: d }), g)),
      )(c),
      tf.grad((x: Tensor) => tf.sum(tf.mul(wtaSoftMap(x, m.t, tauS), g)))(c),
    ]);
    const [h, s] = [values(hard), values(twin)];
    h.forEach((v, e) => expect(Math.abs(v - s[e])).toBeLessThan(1e-6));
    expect(h.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    tf.dispose([c, g, hard, twin, m.t]);
  });

  it('the backward matches float64 finite differences of the relaxation, masked keys get 0', () => {
    const m = mask();
    const cf = randInts(size, d, 3);
    const gf = randReal(size, 4);
    const c = tf.tensor(cf, [T, B, H, N, N]);
    const g = tf.tensor(gf, [T, B, H, N, N]);
    const grad = tf.tidy(() =>
      tf.grad((x: Tensor) =>
        tf.sum(tf.mul(wtaMap(x, m.t, { k: 1, tauS, surrogate: true, maxScore: d }), g)),
      )(c),
    );
    const got = values(grad);
    // L(C) = Σ_rows Σ_j G_ij P_ij(C), P = masked softmax of the row / τ_s, in float64.
    const rowLoss = (row: number, cRow: number[]) => {
      const b = Math.floor(row / (H * N)) % B;
      const i = row % N;
      const allowed = cRow.map((_, j) => m.ok(b, i, j));
      return softmaxRow(cRow, allowed, tauS).reduce((acc, p, j) => acc + p * gf[row * N + j], 0);
    };
    const h = 1e-5;
    for (let row = 0; row < size / N; row++) {
      const base = cf.slice(row * N, (row + 1) * N);
      for (let j = 0; j < N; j++) {
        const up = base.slice();
        const dn = base.slice();
        up[j] += h;
        dn[j] -= h;
        const fd = (rowLoss(row, up) - rowLoss(row, dn)) / (2 * h);
        expect(Math.abs(got[row * N + j] - fd)).toBeLessThan(2e-6);
      }
    }
    tf.dispose([c, g, grad, m.t]);
  });

  describe('gradients through spiking projections', () => {
    const D = 12;
    let x: Tensor;
    let r: Tensor;
    let w: Tensor[];
    const sg = surrogate('sigmoid');
    beforeAll(() => {
      x = tf.tensor(randReal(T * B * N * D, 5), [T, B, N, D]);
      r = tf.tensor(randReal(T * B * H * N * d, 6), [T, B, H, N, d]);
      w = [7, 8, 9].map((s) => tf.tensor(randReal(D * H * d, s), [D, H * d]));
    });
    afterAll(() => tf.dispose([x, r, ...w]));
    const proj = (wt: Tensor): Tensor => {
      const y = tf.reshape(tf.matMul(tf.reshape(x, [-1, D]), wt), [T, B, N, H, d]);
      return tf.transpose(sg.spike(tf.sub(y, 0.3)), [0, 1, 3, 2, 4]); // [T, B, H, N, d] spikes
    };
    const grads = (opts: WssaOptions): number[][] =>
      tf.tidy(() => {
        const f = (wq: Tensor, wk: Tensor, wv: Tensor) =>
          tf.sum(tf.mul(wssa(proj(wq), proj(wk), proj(wv), opts).spikes, r));
        return tf
          .grads(f)(w)
          .map((t) => values(t));
      });
    // Loss on the soft map alone: V plays no part, so only Wq and Wk are differentiated.
    const softMapGrads = (opts: WssaOptions): number[][] =>
      tf.tidy(() => {
        const target = tf.slice(r, [0, 0, 0, 0, 0], [-1, -1, -1, -1, N]); // [T, B, H, N, N]
        const f = (wq: Tensor, wk: Tensor) => {
          const res = wssa(proj(wq), proj(wk), proj(w[2]), { ...opts, returnSoftMap: true });
          return tf.sum(tf.mul(res.softMap as Tensor, target));
        };
        return tf
          .grads(f)(w.slice(0, 2))
          .map((t) => values(t));
      });
    const nonzero = (g: number[]) => g.some((e) => e !== 0);

    for (const causal of [false, true]) {
      it(`causal=${causal}: with the surrogate ∂/∂Wq and ∂/∂Wk are non-zero`, () => {
        const [gq, gk, gv] = grads({ causal, k: 2 });
        expect(nonzero(gq) && nonzero(gk) && nonzero(gv)).toBe(true);
      });

      it(`causal=${causal}: without it ∂/∂Wq and ∂/∂Wk are exactly zero, ∂/∂Wv is not`, () => {
        const [gq, gk, gv] = grads({ causal, k: 2, wtaSurrogate: false });
        expect(gq.every((e) => e === 0)).toBe(true);
        expect(gk.every((e) => e === 0)).toBe(true);
        expect(nonzero(gv)).toBe(true);
      });
    }

    it('the returned soft map P trains Wq and Wk (a distillation target)', () => {
      const [gq, gk] = softMapGrads({ causal: true, wtaSurrogate: false });
      expect(nonzero(gq) && nonzero(gk)).toBe(true);
    });

    it('a gradient step leaves no tensors behind', async () => {
      grads({ causal: true, k: 2 }); // warm-up (kernels, default surrogate)
      await expectNoLeak(() => {
        grads({ causal: true, k: 2 });
        grads({ causal: false, k: 1, wtaSurrogate: false });
      });
    });
  });
});
