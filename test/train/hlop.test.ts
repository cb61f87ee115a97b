// HLOP (methods-vision.md 8(f)): the Hebbian rule finds the principal subspace, frozen
// rows stay put while new rows learn the rest, projected updates are orthogonal to old
// activity (old outputs barely move), the projector is idempotent, and ACC/BWT match
// hand-computed values.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { HLOP, HebbianSubspace, continualMetrics } from '../../src/train/index.js';
import { expectClose, expectNoLeak, rng, setupBackend, values } from '../helpers.js';

type Mat = number[][];

/** n x k matrix with orthonormal columns (Gram-Schmidt on seeded noise). */
function orthonormalBasis(n: number, k: number, seed: number): Mat {
  const r = rng(seed);
  const cols: number[][] = [];
  for (let c = 0; c < k; c++) {
    const v = Array.from({ length: n }, () => r() - 0.5);
    for (const b of cols) {
      const d = v.reduce((s, x, i) => s + x * b[i], 0);
      b.forEach((bi, i) => (v[i] -= d * bi));
    }
    const nrm = Math.hypot(...v);
    cols.push(v.map((x) => x / nrm));
  }
  return Array.from({ length: n }, (_, i) => cols.map((c) => c[i]));
}

/** Rows x = z B^T + noise, z with per-component scales. */
function samples(basis: Mat, scales: number[], count: number, noise: number, seed: number): Tensor {
  return tf.tidy(() => {
    const z = tf.mul(tf.randomNormal([count, scales.length], 0, 1, 'float32', seed), scales);
    const e = tf.randomNormal([count, basis.length], 0, noise, 'float32', seed + 1);
    return tf.add(tf.matMul(z, tf.tensor2d(basis), false, true), e);
  });
}

/** Largest principal angle (degrees) between row-span(H) and column-span(B), same dimension. */
function largestAngle(h: Mat, basis: Mat): number {
  // sin(theta_max)^2 = lambda_max(Qh^T (I - B B^T) Qh) with Qh = H^T (orthonormal rows assumed).
  const n = basis.length;
  const k = h.length;
  const resid = h.map((row) => {
    const proj = basis[0].map((_, c) => row.reduce((s, x, i) => s + x * basis[i][c], 0));
    return row.map((x, i) => x - basis[i].reduce((s, b, c) => s + b * proj[c], 0));
  });
  const M = Array.from({ length: k }, (_, a) =>
    Array.from({ length: k }, (_, b) => resid[a].reduce((s, x, i) => s + x * resid[b][i], 0)),
  );
  let v = Array.from({ length: k }, () => 1);
  let lam = 0;
  for (let it = 0; it < 200; it++) {
    const mv = M.map((row) => row.reduce((s, x, j) => s + x * v[j], 0));
    lam = Math.hypot(...mv);
    if (lam === 0) return 0;
    v = mv.map((x) => x / lam);
  }
  void n;
  return (Math.asin(Math.min(1, Math.sqrt(lam))) * 180) / Math.PI;
}

function gramError(h: Mat): number {
  let worst = 0;
  h.forEach((a, i) =>
    h.forEach((b, j) => {
      const d = a.reduce((s, x, t) => s + x * b[t], 0) - (i === j ? 1 : 0);
      worst = Math.max(worst, Math.abs(d));
    }),
  );
  return worst;
}

describe('HLOP', () => {
  beforeAll(setupBackend);

  it('the Hebbian rule converges to an orthonormal basis of the principal subspace', () => {
    const n = 20;
    const basis = orthonormalBasis(n, 5, 1);
    const top = basis.map((r) => r.slice(0, 3));
    const s = new HebbianSubspace({ inFeatures: n, lr: 0.05, seed: 2 });
    s.addNeurons(3);
    const before = largestAngle(s.weights()?.arraySync() as Mat, top);
    for (let b = 0; b < 150; b++) {
      const x = samples(basis, [3, 2.5, 2, 0.6, 0.4], 64, 0.05, 100 + 2 * b);
      s.learn(x);
      x.dispose();
    }
    const h = s.weights()?.arraySync() as Mat;
    expect(before).toBeGreaterThan(30);
    expect(gramError(h)).toBeLessThan(1e-2);
    expect(largestAngle(h, top)).toBeLessThan(5);
    s.dispose();
  });

  it('frozen rows stay fixed while new rows learn the next principal directions', () => {
    const n = 16;
    const basis = orthonormalBasis(n, 4, 3);
    const s = new HebbianSubspace({ inFeatures: n, lr: 0.05, seed: 5 });
    s.addNeurons(2);
    const learn = (batches: number, seed: number) => {
      for (let b = 0; b < batches; b++) {
        const x = samples(basis, [3, 2.5, 1.5, 1.2], 64, 0.05, seed + 2 * b);
        s.learn(x);
        x.dispose();
      }
    };
    learn(200, 500);
    s.freeze();
    const old = s.weights()?.arraySync() as Mat;
    s.addNeurons(2);
    learn(200, 900);
    const h = s.weights()?.arraySync() as Mat;
    expectClose(h.slice(0, 2).flat(), old.flat(), 0, 0); // exactly unchanged
    expect(gramError(h)).toBeLessThan(1e-2);
    expect(
      largestAngle(
        h.slice(0, 2),
        basis.map((r) => r.slice(0, 2)),
      ),
    ).toBeLessThan(5);
    expect(
      largestAngle(
        h.slice(2),
        basis.map((r) => r.slice(2, 4)),
      ),
    ).toBeLessThan(5);
    s.dispose();
  });

  it('projected updates are orthogonal to old activity and leave old outputs (nearly) unchanged', () => {
    const n = 24;
    const basis = orthonormalBasis(n, 4, 8);
    const hlop = new HLOP({ 'fc.weight': { inFeatures: n, lr: 0.05, seed: 1 } });
    hlop.beginTask(4);
    for (let b = 0; b < 150; b++) {
      const x = samples(basis, [2, 1.8, 1.5, 1.2], 64, 0.02, 10 + 2 * b);
      hlop.learn({ 'fc.weight': x });
      x.dispose();
    }
    hlop.endTask();
    const xOld = samples(basis, [2, 1.8, 1.5, 1.2], 200, 0.02, 7777); // [200, n]
    const w = tf.randomNormal([5, n], 0, 0.3, 'float32', 3);
    const g = tf.randomNormal([5, n], 0, 1, 'float32', 4); // a task-2 gradient
    const bias = tf.randomNormal([5], 0, 1, 'float32', 5);
    const p = hlop.project({ 'fc.weight': g, 'fc.bias': bias });
    const ratio = (dw: Tensor) =>
      tf.tidy(() => {
        const num = tf.norm(tf.matMul(dw, xOld, false, true)).dataSync()[0];
        return num / (tf.norm(dw).dataSync()[0] * tf.norm(xOld).dataSync()[0]);
      });
    const pg = p.get('fc.weight') as Tensor;
    expect(ratio(g)).toBeGreaterThan(0.1); // the raw update does hit old activity
    expect(ratio(pg)).toBeLessThan(0.05);
    expect(values(p.get('fc.bias') as Tensor)).toEqual(values(bias)); // passed through
    // One projected step vs one raw step of the same size: old outputs.
    const change = (dw: Tensor) =>
      tf.tidy(() => {
        const y0 = tf.matMul(xOld, w, false, true);
        const y1 = tf.matMul(xOld, tf.sub(w, tf.mul(dw, 0.1)), false, true);
        return tf.norm(tf.sub(y1, y0)).dataSync()[0] / tf.norm(y0).dataSync()[0];
      });
    expect(change(pg)).toBeLessThan(0.01);
    expect(change(g)).toBeGreaterThan(0.05);
    tf.dispose([xOld, w, g, bias, ...p.values()]);
    hlop.dispose();
  });

  it('the projector P = I - Hf^T Hf is idempotent and leaves nothing in the old subspace', () => {
    const s = new HebbianSubspace({ inFeatures: 10, seed: 4 });
    s.addNeurons(3);
    s.freeze();
    const x = tf.randomNormal([7, 10], 0, 1, 'float32', 1);
    const p1 = s.project(x);
    const p2 = s.project(p1);
    expectClose(values(p2), values(p1), 1e-5, 1e-5);
    const h = s.weights() as Tensor;
    const inOld = tf.matMul(p1, h, false, true);
    expect(Math.max(...values(inOld).map(Math.abs))).toBeLessThan(1e-5);
    expect(values(p1)).not.toEqual(values(x));
    tf.dispose([x, p1, p2, h, inOld]);
    s.dispose();
  });

  it('nothing frozen: the projection is the identity; new (unfrozen) rows are not used', () => {
    const s = new HebbianSubspace({ inFeatures: 6 });
    const x = tf.randomNormal([2, 6], 0, 1, 'float32', 2);
    const a = s.project(x);
    s.addNeurons(2);
    const b = s.project(x);
    expect(values(a)).toEqual(values(x));
    expect(values(b)).toEqual(values(x));
    tf.dispose([x, a, b]);
    s.dispose();
  });

  it('spiking lateral neurons respond on the grid S / T_h within [-S, S]', () => {
    const s = new HebbianSubspace({ inFeatures: 4, spiking: { scale: 2, steps: 4 } });
    s.setWeights(
      tf.tensor2d([
        [1, 0, 0, 0],
        [0, 1, 0, 0],
      ]),
      0,
    );
    const x = tf.tensor2d([
      [0.3, -5, 0, 0],
      [1.26, 0.74, 0, 0],
    ]);
    const y = s.respond(x);
    expect(values(y)).toEqual([0.5, -2, 1.5, 0.5]);
    tf.dispose([x, y]);
    s.dispose();
  });

  it('learn and project leak no tensors', async () => {
    const hlop = new HLOP({ a: { inFeatures: 8 }, b: { inFeatures: 5 } });
    hlop.beginTask({ a: 2, b: 1 });
    const xa = tf.randomNormal([4, 8], 0, 1, 'float32', 1);
    const xb = tf.randomNormal([4, 5], 0, 1, 'float32', 2);
    const ga = tf.randomNormal([3, 8], 0, 1, 'float32', 3);
    await expectNoLeak(() => {
      hlop.learn({ a: xa, b: xb });
      hlop.endTask();
      const p = hlop.project({ a: ga });
      tf.dispose([...p.values()]);
    });
    tf.dispose([xa, xb, ga]);
    hlop.dispose();
  });

  it('rejects bad input with clear messages', () => {
    const hlop = new HLOP({ 'fc.weight': { inFeatures: 4 } });
    const x = tf.zeros([2, 3]);
    expect(() => hlop.learn({ 'fc.weight': x })).toThrow(/no lateral neurons yet/);
    hlop.beginTask(2);
    expect(() => hlop.learn({ 'fc.weight': x })).toThrow(
      /HLOP x must be \[B, 4\], got shape \[2, 3\]/,
    );
    expect(() => hlop.learn({ other: x })).toThrow(/unknown weight "other"; known: fc.weight/);
    expect(() => hlop.beginTask(3)).toThrow(/2 \+ 3 lateral neurons exceed the layer width 4/);
    const g = tf.zeros([2, 2, 4]);
    expect(() => hlop.project({ 'fc.weight': g })).toThrow(/must be \[out, 4\]/);
    expect(() => new HebbianSubspace({ inFeatures: 4, momentum: 1 })).toThrow(
      /momentum must be in \[0, 1\)/,
    );
    tf.dispose([x, g]);
    hlop.dispose();
  });
});

describe('continualMetrics', () => {
  it('computes ACC and BWT by hand', () => {
    // R[i][j]: accuracy on task j after training task i (upper entries unused).
    const R = [
      [0.9, 0.1, 0.2],
      [0.8, 0.95, 0.3],
      [0.7, 0.85, 0.97],
    ];
    const m = continualMetrics(R);
    expect(m.acc).toBeCloseTo((0.7 + 0.85 + 0.97) / 3, 12);
    expect(m.bwt).toBeCloseTo((0.7 - 0.9 + (0.85 - 0.95)) / 2, 12);
    expect(continualMetrics([[0.5]])).toEqual({ acc: 0.5, bwt: 0 });
  });

  it('rejects ragged or empty matrices', () => {
    expect(() => continualMetrics([])).toThrow(/empty accuracy matrix/);
    expect(() => continualMetrics([[1, 2], [1]])).toThrow(/row 1 has 1 entries, expected 2/);
    expect(() => continualMetrics([[NaN]])).toThrow(/R\[0\]\[0\] must be a finite number/);
  });
});
