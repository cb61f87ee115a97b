// WSSA/CWSSA forward: the cheap checks of methods-language.md 1(f) 1-5 against the
// plain-JS sorting reference (spiking-reference.ts): hard-argmax at k = 1, general k,
// the integer sum/mean at k >= N, row mass, the integer inference form, bit-exact
// causality, permutation equivariance, tie-break, spike purity, energy reports, leaks.
import { beforeAll, describe, expect, it } from 'vitest';
import { cwssa, wssa } from '../../src/attention/wssa.js';
import { wtaHardMap } from '../../src/attention/wta.js';
import { EnergyCounter } from '../../src/energy/index.js';
import type { LayerWork } from '../../src/energy/recorder.js';
import { withRecorder } from '../../src/energy/recorder.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { expectNoLeak, setupBackend, values } from '../helpers.js';
import { disposeQKV, fromData, makeQKV, spikeData, wtaRef } from './spiking-reference.js';
import type { Dims, RefOptions } from './spiking-reference.js';

const dims: Dims = { T: 2, B: 2, H: 2, Nq: 9, Nk: 9, d: 6, dv: 5 };
const PAD = [
  [1, 1, 1, 1, 1, 1, 1, 1, 1],
  [0, 0, 1, 1, 1, 1, 1, 0, 1],
];

function run(x: ReturnType<typeof makeQKV>, opts: Parameters<typeof wssa>[3]) {
  return tf.tidy(() => {
    const r = wssa(x.q, x.k, x.v, { ...opts, returnMap: true, returnCounts: true });
    return [r.spikes, r.map as Tensor, r.counts?.output as Tensor, r.counts?.rowSum as Tensor];
  });
}

describe('wssa / cwssa forward', () => {
  beforeAll(setupBackend);

  for (const causal of [false, true]) {
    for (const kWin of [1, 2, 3]) {
      it(`causal=${causal}, k=${kWin}: equals the sorting loop reference (padding included)`, () => {
        const x = makeQKV(dims, 0.45, 100 + kWin + (causal ? 10 : 0));
        const mask = tf.tensor2d(PAD, [2, 9], 'int32');
        const ref = wtaRef(x.qf, x.kf, x.vf, dims, kWin, 0.5, { causal, pad: PAD });
        for (const inference of [false, true]) {
          const [y, a, o, m] = run(x, { causal, k: kWin, attentionMask: mask, inference });
          expect(values(a)).toEqual(ref.map);
          expect(values(o)).toEqual(ref.O);
          expect(values(m)).toEqual(ref.rowSum);
          expect(values(y)).toEqual(ref.Y);
          tf.dispose([y, a, o, m]);
        }
        expect(ref.rowSum.some((s) => s === 0)).toBe(true); // silent rows are exercised
        mask.dispose();
        disposeQKV(x);
      });
    }
  }

  it('k >= N: O is the integer sum over the allowed V, O/m their mean', () => {
    const { T, B, H, Nq, d, dv } = dims;
    // Channel 0 always fires in Q and K, so every allowed score is positive.
    const ones = (n: number, w: number, seed: number) =>
      spikeData(n * w, 0.4, seed).map((s, e) => (e % w === 0 ? 1 : s));
    const x = fromData(
      dims,
      ones(T * B * H * Nq, d, 1),
      ones(T * B * H * Nq, d, 2),
      spikeData(T * B * H * Nq * dv, 0.5, 3),
    );
    for (const causal of [false, true]) {
      const [, a, o, m] = run(x, { causal, k: 50 });
      const O = values(o);
      const M = values(m);
      for (let row = 0; row < O.length / dv; row++) {
        const [i, base] = [row % Nq, Math.floor(row / Nq) * Nq];
        const keys = causal ? i + 1 : Nq;
        expect(M[row]).toBe(keys);
        for (let c = 0; c < dv; c++) {
          let sum = 0;
          for (let j = 0; j < keys; j++) sum += x.vf[(base + j) * dv + c];
          expect(O[row * dv + c]).toBe(sum);
          expect(O[row * dv + c] / M[row]).toBeCloseTo(sum / keys, 12);
        }
      }
      tf.dispose([a, o, m]);
    }
    disposeQKV(x);
  });

  it('row mass: at most k (min(k, i+1) causal) winners, normalised rows sum to exactly 1', () => {
    const big: Dims = { ...dims, Nq: 16, Nk: 16, d: 8 };
    for (const kWin of [1, 2, 4, 8]) {
      const x = makeQKV(big, 0.5, 7 * kWin);
      const [y, a, o, m] = run(x, { causal: true, k: kWin });
      const [rows, M] = [tf.tidy(() => tf.sum(tf.div(a, tf.maximum(m, 1)), -1)), values(m)];
      const R = values(rows);
      M.forEach((mass, r) => {
        expect(mass).toBeLessThanOrEqual(Math.min(kWin, (r % 16) + 1));
        expect(Math.abs(R[r] - (mass > 0 ? 1 : 0))).toBeLessThan(1e-6);
      });
      tf.dispose([y, a, o, m, rows]);
      disposeQKV(x);
    }
  });

  it('training form (surrogate spike of O/m − θ) equals the integer form 1[O >= θ·m], every θ', () => {
    const x = makeQKV({ ...dims, Nq: 12, Nk: 12 }, 0.5, 5);
    for (const theta of [0.5, 0.25, 1 / 3, 0.7, 1]) {
      for (const kWin of [2, 3]) {
        const [a] = run(x, { k: kWin, threshold: theta });
        const [b] = run(x, { k: kWin, threshold: theta, inference: true });
        expect(values(a)).toEqual(values(b));
        tf.dispose([a, b]);
      }
    }
    disposeQKV(x);
  });

  it('CWSSA is causal bit for bit: changing positions > i leaves rows <= i unchanged', () => {
    const small: Dims = { ...dims, Nq: 10, Nk: 10 };
    const x = makeQKV(small, 0.5, 11);
    const i = 4;
    const flip = (f: number[], w: number) =>
      f.map((s, e) => (Math.floor(e / w) % 10 > i ? 1 - s : s));
    const y = fromData(small, flip(x.qf, 6), flip(x.kf, 6), flip(x.vf, 5));
    const rowsUpTo = (t: Tensor) =>
      tf.tidy(() => tf.slice(t, [0, 0, 0, 0, 0], [-1, -1, -1, i + 1, -1]));
    const [ya, aa] = run(x, { causal: true, k: 2 });
    const [yb, ab] = run(y, { causal: true, k: 2 });
    const cut = [rowsUpTo(ya), rowsUpTo(yb), rowsUpTo(aa), rowsUpTo(ab)];
    expect(values(cut[1])).toEqual(values(cut[0]));
    expect(values(cut[3])).toEqual(values(cut[2]));
    expect(values(yb)).not.toEqual(values(ya)); // the later rows did change
    tf.dispose([ya, aa, yb, ab, ...cut]);
    disposeQKV(x);
    disposeQKV(y);
  });

  it('WSSA is permutation equivariant on rows without a tie at the k-th score', () => {
    const pd: Dims = { T: 1, B: 1, H: 2, Nq: 10, Nk: 10, d: 32, dv: 6 };
    const perm = [3, 7, 0, 9, 1, 5, 2, 8, 6, 4];
    const x = makeQKV(pd, 0.5, 21);
    const permute = (f: number[], w: number) =>
      f.map((_, e) => {
        const [row, c] = [Math.floor(e / w), e % w];
        const [h, n] = [Math.floor(row / 10), row % 10];
        return f[(h * 10 + perm[n]) * w + c];
      });
    const y = fromData(pd, permute(x.qf, 32), permute(x.kf, 32), permute(x.vf, 6));
    const kWin = 2;
    const [ya] = run(x, { k: kWin });
    const [yb] = run(y, { k: kWin });
    const [A, Bv] = [values(ya), values(yb)];
    // Scores of the original rows, to find rows whose k-th and (k+1)-th scores tie.
    const scores = tf.tidy(() =>
      tf.matMul(tf.reshape(x.q, [2, 10, 32]), tf.reshape(x.k, [2, 10, 32]), false, true),
    );
    const S = values(scores);
    let compared = 0;
    for (let h = 0; h < 2; h++) {
      for (let n = 0; n < 10; n++) {
        const row = S.slice((h * 10 + perm[n]) * 10, (h * 10 + perm[n] + 1) * 10).sort(
          (a, b) => b - a,
        );
        if (row[kWin - 1] === row[kWin] && row[kWin] > 0) continue; // tie at the cut: order decides
        compared++;
        expect(Bv.slice((h * 10 + n) * 6, (h * 10 + n + 1) * 6)).toEqual(
          A.slice((h * 10 + perm[n]) * 6, (h * 10 + perm[n] + 1) * 6),
        );
      }
    }
    expect(compared).toBeGreaterThanOrEqual(8);
    tf.dispose([ya, yb, scores]);
    disposeQKV(x);
    disposeQKV(y);
  });

  it('ties at the k-th score go to the lowest key index; scores <= 0 never win', () => {
    const s = tf.tensor3d([
      [
        [2, 3, 3, 1, 3],
        [0, 0, 0, 0, 0],
        [1, 0, 2, 2, 0],
      ],
    ]); // [1, 3, 5]
    const a = tf.tidy(() => wtaHardMap(s, null, 2, 3));
    expect(values(a)).toEqual([0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0]);
    const a3 = tf.tidy(() => wtaHardMap(s, null, 3, 3));
    expect(values(a3)).toEqual([0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0]);
    // The int32 key path (scores too large for exact float32 keys) selects the same winners.
    const big = tf.tidy(() => wtaHardMap(s, null, 3, 2 ** 24));
    expect(values(big)).toEqual(values(a3));
    tf.dispose([s, a, a3, big]);
  });

  it('spike purity: every product reports spike operands (no MACs); outputs and map are 0/1', () => {
    const x = makeQKV(dims, 0.3, 2);
    const seen: LayerWork[] = [];
    const out = withRecorder({ record: (w) => seen.push(w) }, () => run(x, { causal: true, k: 2 }));
    for (const t of out.slice(0, 2)) expect(values(t).every((e) => e === 0 || e === 1)).toBe(true);
    for (const t of [x.q, x.k, x.v]) expect(values(t).every((e) => e === 0 || e === 1)).toBe(true);
    const M = (9 * 10) / 2;
    expect(seen.map((w) => [w.layer, w.kind, w.encoding, w.flopsPerStep, w.timeSteps])).toEqual([
      ['cwssa.qk', 'attention', 'spike', 2 * 2 * M * 6, 2],
      ['cwssa.av', 'attention', 'spike', 2 * 2 * M * 5, 2],
      ['cwssa.topk', 'other', 'real', 2 * 2 * M, 2],
    ]);
    // The energy counter accepts the reports and counts no MAC-priced (real) product.
    const counter = new EnergyCounter();
    const again = counter.count(2, () => run(x, { causal: true, k: 2 }));
    const tallies = counter.tallies();
    expect(tallies.map((t) => t.layer)).toEqual(['cwssa.qk', 'cwssa.av', 'cwssa.topk']);
    for (const t of tallies.filter((u) => u.kind === 'attention')) {
      expect(t.encoding).toBe('spike');
      expect(t.sops_one_operand).toBeGreaterThan(0);
      expect(t.sops_one_operand).toBeLessThan(t.dense_ops);
    }
    tf.dispose(again);
    tf.dispose(out);
    disposeQKV(x);
  });

  it('cwssa(...) is wssa(..., { causal: true })', () => {
    const x = makeQKV(dims, 0.5, 4);
    const [a, b] = tf.tidy(() => [
      cwssa(x.q, x.k, x.v, { k: 2 }).spikes,
      wssa(x.q, x.k, x.v, { k: 2, causal: true }).spikes,
    ]);
    expect(values(a)).toEqual(values(b));
    tf.dispose([a, b]);
    disposeQKV(x);
  });

  it('leaves no tensors behind (result disposed), in both forms and with maps', async () => {
    const x = makeQKV(dims, 0.5, 9);
    const mask = tf.tensor2d(PAD, [2, 9], 'int32');
    const opts: RefOptions = { causal: true };
    await expectNoLeak(() => {
      for (const inference of [false, true]) {
        const r = wssa(x.q, x.k, x.v, {
          ...opts,
          k: 2,
          inference,
          attentionMask: mask,
          returnMap: true,
          returnSoftMap: true,
          returnCounts: true,
        });
        tf.dispose([r.spikes, r.map as Tensor, r.softMap as Tensor]);
        tf.dispose([r.counts?.output as Tensor, r.counts?.rowSum as Tensor]);
      }
    });
    mask.dispose();
    disposeQKV(x);
  });
});
