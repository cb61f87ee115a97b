// IDE (methods-vision.md 6(f)): the backward solvers against a dense float64 solve, the
// fixed-point residual falling with T, the implicit gradient against finite
// differences of the equilibrium loss, the spectral-norm contraction after optimiser
// steps, and a few training steps lowering the loss without leaking tensors.
import { beforeAll, describe, expect, it } from 'vitest';
import { FeedbackSNN } from '../../models/vision/feedback.js';
import type { FeedbackSNNConfig } from '../../models/vision/feedback.js';
import { tf } from '../../src/tf.js';
import type { Tensor, Variable } from '../../src/tf.js';
import {
  SGD,
  crossEntropyLoss,
  disposeEquilibriumGradients,
  equilibriumResidual,
  fixedPointEquilibrium,
  ideGradients,
  implicitParameterGradients,
  linearizeEquilibrium,
  lossAndRateGradient,
  solveBackward,
  solveImplicit,
} from '../../src/train/index.js';
import { expectClose, expectNoLeak, rng, setupBackend, values } from '../helpers.js';
import {
  finiteDifferences,
  randn,
  readParams,
  refEquilibriumLoss,
  sigmaMax,
} from './ide-reference.js';

/** A dense n x n float64 matrix with spectral norm <= `norm` (scaled by its Frobenius norm). */
function contraction(n: number, norm: number, seed: number): number[][] {
  const r = rng(seed);
  const m = Array.from({ length: n }, () => Array.from({ length: n }, () => r() - 0.5));
  const fro = Math.sqrt(m.flat().reduce((s, x) => s + x * x, 0));
  return m.map((row) => row.map((x) => (x * norm) / fro));
}

/** Solve A x = b by Gaussian elimination with partial pivoting (float64). */
function denseSolve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let k = r + 1; k < n; k++) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return x;
}

const cfg = (o: Partial<FeedbackSNNConfig> = {}): FeedbackSNNConfig => ({
  input_size: 6,
  hidden_sizes: [5, 4],
  num_classes: 3,
  v_threshold: 1,
  seed: 7,
  ...o,
});

describe('IDE backward solvers', () => {
  for (const solver of ['broyden', 'fixed-point'] as const) {
    it(`${solver} solves (I - J^T) x = b like a dense solve (float64, n = 60)`, () => {
      const n = 60;
      const J = contraction(n, 0.5, 3);
      const r = rng(9);
      const b = Float64Array.from({ length: n }, () => r() - 0.5);
      const jt = (v: Float64Array): Float64Array =>
        Float64Array.from({ length: n }, (_, i) => J.reduce((s, row, k) => s + row[i] * v[k], 0));
      const res = solveImplicit(jt, b, { solver, maxIter: solver === 'broyden' ? 30 : 60 });
      // A = I - J^T
      const A = Array.from({ length: n }, (_, i) =>
        Array.from({ length: n }, (_, k) => (i === k ? 1 : 0) - J[k][i]),
      );
      const exact = denseSolve(A, Array.from(b));
      expect(res.relResidual).toBeLessThan(1e-6);
      expectClose(res.x, exact, 1e-6, 0);
      expect(res.iterations).toBeLessThanOrEqual(solver === 'broyden' ? 30 : 60);
    });
  }

  it('Broyden needs fewer products than the damped fixed point for the same residual', () => {
    const n = 40;
    const J = contraction(n, 0.9, 4);
    const b = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
    const jt = (v: Float64Array): Float64Array =>
      Float64Array.from({ length: n }, (_, i) => J.reduce((s, row, k) => s + row[i] * v[k], 0));
    const br = solveImplicit(jt, b, { solver: 'broyden', maxIter: 30, tol: 1e-8 });
    const fp = solveImplicit(jt, b, { solver: 'fixed-point', maxIter: 30, tol: 1e-8 });
    expect(br.relResidual).toBeLessThan(1e-6);
    expect(fp.relResidual).toBeGreaterThan(br.relResidual);
  });

  it('a zero right-hand side returns zero without iterating', () => {
    const res = solveImplicit((v) => v, new Float64Array(5));
    expect(res.iterations).toBe(0);
    expect(Array.from(res.x)).toEqual([0, 0, 0, 0, 0]);
  });

  it('rejects an unknown solver and a bad iteration limit', () => {
    const b = new Float64Array([1]);
    expect(() => solveImplicit((v) => v, b, { solver: 'newton' as never })).toThrow(
      /solver must be one of broyden, fixed-point, got "newton"/,
    );
    expect(() => solveImplicit((v) => v, b, { maxIter: 0 })).toThrow(
      /maxIter must be a positive integer/,
    );
  });
});

describe('IDE on the feedback SNN', () => {
  beforeAll(setupBackend);

  it('the fixed-point residual of the simulated rates falls with T (50-neuron IF, sigma 0.9, V_th 2)', () => {
    const net = new FeedbackSNN({
      input_size: 20,
      hidden_sizes: [50],
      num_classes: 2,
      v_threshold: 2,
      seed: 1,
    });
    (net.feedbackScale as Variable).assign(tf.scalar(0.9));
    const x = tf.tensor2d(randn(8, 20, 2, 1.5));
    const cur = tf.tidy(() => net.inputCurrent(x));
    const res = [5, 20, 80, 320].map((T) => {
      const rates = net.simulate(cur, T);
      const r = equilibriumResidual(net, cur, rates);
      tf.dispose(rates);
      return r;
    });
    for (let i = 1; i < res.length; i++) expect(res[i]).toBeLessThan(res[i - 1]);
    // Roughly 1/T: each 4x more steps cuts the residual at least 2x, and T = 320 is small.
    for (let i = 1; i < res.length; i++) expect(res[i]).toBeLessThan(res[i - 1] / 2);
    expect(res[3]).toBeLessThan(0.02);
    tf.dispose([x, cur]);
    net.dispose();
  });

  it('the backward solve on the network operator reaches a small residual', () => {
    const net = new FeedbackSNN(cfg());
    const x = tf.tensor2d(randn(4, 6, 3, 2));
    const labels = tf.tensor1d([0, 1, 2, 1], 'int32');
    const r = ideGradients(net, x, crossEntropyLoss(labels), { timeSteps: 20 });
    expect(r.backward.relResidual).toBeLessThan(1e-5); // float32 products
    expect(r.backward.iterations).toBeLessThanOrEqual(30);
    expect(Number.isFinite(r.loss)).toBe(true);
    disposeEquilibriumGradients(r);
    tf.dispose([x, labels]);
    net.dispose();
  });

  for (const arch of [
    { name: 'one layer', hidden: [5], vth: 2 },
    { name: 'a two-layer loop', hidden: [5, 4], vth: 0.5 },
  ]) {
    it(`the implicit gradient equals finite differences of L(a*(theta)) (${arch.name}, float64 oracle)`, () => {
      const net = new FeedbackSNN(
        cfg({ hidden_sizes: arch.hidden, v_threshold: arch.vth, seed: 21 }),
      );
      (net.feedbackScale as Variable).assign(tf.scalar(0.6));
      const xs = randn(3, 6, 4, 1);
      const labelArr = [2, 0, 1];
      const x = tf.tensor2d(xs);
      const labels = tf.tensor1d(labelArr, 'int32');
      const loss = crossEntropyLoss(labels);
      const cur = tf.tidy(() => net.inputCurrent(x));
      const astar = fixedPointEquilibrium(net, cur, 500);
      // The fixed point is interior enough to be a useful oracle.
      const interior = astar.flatMap((a) => values(a)).filter((v) => v > 0 && v < 1).length;
      expect(interior).toBeGreaterThanOrEqual(4);
      const { dLda } = lossAndRateGradient(net, astar, loss);
      const lin = linearizeEquilibrium(net, cur, astar);
      const solved = solveBackward(lin, dLda, { solver: 'broyden' });
      lin.dispose();
      const grads = implicitParameterGradients(net, x, astar, solved.gamma, loss);

      const p = readParams(net);
      const trainable = net
        .namedParameters()
        .filter(([, v]) => v.trainable)
        .map(([n]) => n);
      const fd = finiteDifferences(p, trainable, (q) => refEquilibriumLoss(net, q, xs, labelArr));
      for (const name of trainable) {
        const g = grads.get(name) as Tensor;
        expect(g, name).toBeDefined();
        expectClose(values(g), fd.get(name) as Float64Array, 2e-4, 2e-3);
      }
      // Not a vacuous comparison: the loop weights do get gradient.
      const fbNorm = Math.hypot(...values(grads.get('feedback.weight') as Tensor));
      expect(fbNorm).toBeGreaterThan(1e-4);
      tf.dispose([x, labels, cur, ...astar, ...dLda, ...solved.gamma, ...grads.values()]);
      net.dispose();
    });
  }

  it('keeps the contraction sigma_max(W_fb) / V_th <= 0.5 after optimiser steps (V_th 2)', () => {
    const net = new FeedbackSNN(cfg({ hidden_sizes: [8], v_threshold: 2, seed: 4 }));
    const opt = new SGD(net.namedParameters(), { lr: 2, momentum: 0.9 });
    const x = tf.tensor2d(randn(6, 6, 5, 3));
    const labels = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
    const loss = crossEntropyLoss(labels);
    for (let step = 0; step < 6; step++) {
      const r = ideGradients(net, x, loss, { timeSteps: 10 });
      opt.step(r.grads);
      disposeEquilibriumGradients(r);
      net.powerIterate(); // the next training forward would do this first
      const w = tf.tidy(() => net.effectiveFeedback());
      const s = sigmaMax(w.arraySync() as number[][]);
      w.dispose();
      expect(s / 2).toBeLessThanOrEqual(0.5 + 5e-3);
    }
    opt.dispose();
    tf.dispose([x, labels]);
    net.dispose();
  });

  it('a few SGD steps lower the loss on a toy task, with no tensor leak', async () => {
    const net = new FeedbackSNN(
      cfg({ hidden_sizes: [16], v_threshold: 1, input_norm: true, seed: 8 }),
    );
    const opt = new SGD(net.namedParameters(), { lr: 0.5, momentum: 0.9 });
    const B = 24;
    const xsArr = randn(B, 6, 12, 0.3);
    const labelArr = Array.from({ length: B }, (_, i) => i % 3);
    labelArr.forEach((c, i) => (xsArr[i][c] += 2)); // class c lights up input c
    const x = tf.tensor2d(xsArr);
    const labels = tf.tensor1d(labelArr, 'int32');
    const loss = crossEntropyLoss(labels);
    const losses: number[] = [];
    await expectNoLeak(() => {
      for (let step = 0; step < 15; step++) {
        const r = ideGradients(net, x, loss, { timeSteps: 8 });
        losses.push(r.loss);
        opt.step(r.grads);
        disposeEquilibriumGradients(r);
      }
    });
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.6);
    opt.dispose();
    tf.dispose([x, labels]);
    net.dispose();
  });
});
