// Ablation baselines (methods-language.md 0.5, 1(b)): Spikformer SSA `Q (Kᵀ V) · 0.125`
// (bidirectional, padded) equals the loop `(Q Kᵀ) V · 0.125`, its causal re-ordering is
// causal, softmax spiking attention matches a float64 softmax, and both spike through
// Spikingformer's attention LIF (θ 0.5) checked against a plain-JS LIF; gradients; leaks.
import { beforeAll, describe, expect, it } from 'vitest';
import { softmaxSpikingAttention, spikformerSsa } from '../../src/attention/spiking-baselines.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { expectNoLeak, setupBackend, values } from '../helpers.js';
import { at, disposeQKV, fromData, makeQKV, softmaxRow } from './spiking-reference.js';
import type { Dims, QKV } from './spiking-reference.js';

const dims: Dims = { T: 3, B: 2, H: 2, Nq: 7, Nk: 7, d: 6, dv: 5 };
const PAD = [
  [1, 1, 1, 1, 1, 1, 1],
  [1, 0, 1, 1, 0, 1, 1],
];

/** Loop reference of the pre-neuron current: Σ_j w(i, j) V_j with w from the scores. */
function currentRef(x: QKV, weights: (row: number[], b: number, i: number) => number[]): number[] {
  const { T, B, H, Nq, Nk, d, dv } = x.dims;
  const out: number[] = [];
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < Nq; i++) {
          const s = Array.from({ length: Nk }, (_, j) => {
            let c = 0;
            for (let a = 0; a < d; a++)
              c += x.qf[at(x.dims, t, b, h, i, Nq, a, d)] * x.kf[at(x.dims, t, b, h, j, Nk, a, d)];
            return c;
          });
          const w = weights(s, b, i);
          for (let c = 0; c < dv; c++) {
            let o = 0;
            for (let j = 0; j < Nk; j++) o += w[j] * x.vf[at(x.dims, t, b, h, j, Nk, c, dv)];
            out.push(o);
          }
        }
  return out;
}

/** Spikingformer LIF over T (tau 2, decay_input, θ 0.5, hard reset 0) on flat `[T, ...]` data. */
/**
 * Multi-step LIF (tau 2, decay_input, hard reset to 0, threshold 0.5) in plain JS,
 * rounded to float32 in the neuron core's order (`V·λ + X·g` with λ = g = 1/2), so a
 * current that lands next to the threshold fires exactly as on every backend.
 */
function lifRef(x: number[], T: number): number[] {
  const f = Math.fround;
  const n = x.length / T;
  const u = new Array<number>(n).fill(0);
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < n; e++) {
      const h = f(f(u[e] * 0.5) + f(x[t * n + e] * 0.5));
      const s = h >= 0.5 ? 1 : 0;
      u[e] = s ? 0 : h;
      out.push(s);
    }
  }
  return out;
}

describe('spiking attention baselines', () => {
  beforeAll(setupBackend);

  for (const causal of [false, true]) {
    it(`SSA causal=${causal}: current is (Q Kᵀ ⊙ mask) V · 0.125, spikes are LIF(θ 0.5) of it`, () => {
      const x = makeQKV(dims, 0.5, 1);
      const mask = tf.tensor2d(PAD, [2, 7], 'int32');
      const [y, cur] = tf.tidy(() => {
        const r = spikformerSsa(x.q, x.k, x.v, {
          causal,
          attentionMask: mask,
          returnCurrent: true,
        });
        return [r.spikes, r.current as Tensor];
      });
      const ref = currentRef(x, (s, b, i) =>
        s.map((c, j) => ((!causal || j <= i) && PAD[b][j] ? c * 0.125 : 0)),
      );
      expect(values(cur)).toEqual(ref); // integers × 0.125: exact in float32
      expect(values(y)).toEqual(lifRef(ref, dims.T));
      expect(values(y).some((e) => e === 1)).toBe(true);
      tf.dispose([y, cur, mask]);
      disposeQKV(x);
    });
  }

  it('causal SSA is causal bit for bit', () => {
    const x = makeQKV(dims, 0.5, 2);
    const i = 3;
    const flip = (f: number[], w: number) =>
      f.map((s, e) => (Math.floor(e / w) % 7 > i ? 1 - s : s));
    const y = fromData(dims, flip(x.qf, 6), flip(x.kf, 6), flip(x.vf, 5));
    const rows = (z: QKV) =>
      values(
        tf.tidy(() =>
          tf.slice(
            spikformerSsa(z.q, z.k, z.v, { causal: true }).spikes,
            [0, 0, 0, 0, 0],
            [-1, -1, -1, i + 1, -1],
          ),
        ),
      );
    expect(rows(y)).toEqual(rows(x));
    disposeQKV(x);
    disposeQKV(y);
  });

  for (const causal of [false, true]) {
    it(`softmax SSA causal=${causal}: matches a float64 masked softmax, spikes are LIF of the current`, () => {
      const x = makeQKV(dims, 0.5, 3);
      const mask = tf.tensor2d(PAD, [2, 7], 'int32');
      const [y, cur, p] = tf.tidy(() => {
        const r = softmaxSpikingAttention(x.q, x.k, x.v, {
          causal,
          attentionMask: mask,
          returnCurrent: true,
          returnMap: true,
        });
        return [r.spikes, r.current as Tensor, r.map as Tensor];
      });
      const s = 1 / Math.sqrt(dims.d);
      const ref = currentRef(x, (sc, b, i) =>
        softmaxRow(
          sc.map((c) => c * s),
          sc.map((_, j) => (!causal || j <= i) && PAD[b][j] === 1),
          1,
        ),
      );
      const got = values(cur);
      got.forEach((g, e) => expect(Math.abs(g - ref[e])).toBeLessThan(1e-5));
      expect(values(y)).toEqual(lifRef(got, dims.T));
      const P = values(p);
      for (let row = 0; row < P.length / 7; row++) {
        expect(Math.abs(P.slice(row * 7, row * 7 + 7).reduce((a, b) => a + b, 0) - 1)).toBeLessThan(
          1e-5,
        );
      }
      tf.dispose([y, cur, p, mask]);
      disposeQKV(x);
    });
  }

  it('gradients flow to q, k and v through the LIF surrogate', () => {
    const x = makeQKV(dims, 0.5, 4);
    for (const fn of [spikformerSsa, softmaxSpikingAttention]) {
      const g = tf.tidy(() =>
        tf
          .grads((q: Tensor, k: Tensor, v: Tensor) => tf.sum(fn(q, k, v, { causal: true }).spikes))(
            [x.q, x.k, x.v],
          )
          .map(values),
      );
      for (const gi of g) expect(gi.some((e) => e !== 0)).toBe(true);
    }
    disposeQKV(x);
  });

  it('leaves no tensors behind (results disposed)', async () => {
    const x = makeQKV(dims, 0.5, 5);
    const mask = tf.tensor2d(PAD, [2, 7], 'int32');
    tf.dispose(spikformerSsa(x.q, x.k, x.v).spikes); // warm-up (default neuron)
    await expectNoLeak(() => {
      for (const causal of [false, true]) {
        for (const fn of [spikformerSsa, softmaxSpikingAttention]) {
          const r = fn(x.q, x.k, x.v, {
            causal,
            attentionMask: mask,
            returnMap: true,
            returnCurrent: true,
          });
          tf.dispose([r.spikes, r.map as Tensor, r.current as Tensor]);
        }
      }
    });
    mask.dispose();
    disposeQKV(x);
  });
});
