// SPIDE (methods-vision.md 7(f)): the ternary-spike backward converges to the solution of
// the IDE linear system as T_b grows, its gradients align with IDE's, the modified reset
// halves the rate error, kappa scaling is invariant above the spike resolution, and the
// weight update is the local two-rate outer product.
import { beforeAll, describe, expect, it } from 'vitest';
import { FeedbackSNN, feedbackNeuronParams } from '../../models/vision/feedback.js';
import type { FeedbackSNNConfig } from '../../models/vision/feedback.js';
import { lifStep } from '../../src/neurons/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import {
  SGD,
  crossEntropyLoss,
  disposeEquilibriumGradients,
  ideGradients,
  implicitParameterGradients,
  linearResidual,
  solveBackward,
  spideGradients,
  spikingSolve,
} from '../../src/train/index.js';
import { expectClose, expectNoLeak, setupBackend, values } from '../helpers.js';
import { randn } from './ide-reference.js';

const cfg = (o: Partial<FeedbackSNNConfig> = {}): FeedbackSNNConfig => ({
  input_size: 6,
  hidden_sizes: [5, 4],
  num_classes: 3,
  v_threshold: 1,
  reset: 'modified',
  seed: 7,
  ...o,
});

function maxAbsDiff(a: Tensor[], b: Tensor[]): number {
  return Math.max(...a.map((t, l) => Math.max(...values(tf.tidy(() => tf.abs(tf.sub(t, b[l])))))));
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** A 30-neuron loop with fixed rates, its linearisation and a right-hand side. */
function toySystem(): { net: FeedbackSNN; cur: Tensor; rates: Tensor[]; rhs: Tensor[] } {
  const net = new FeedbackSNN(cfg({ input_size: 10, hidden_sizes: [30], seed: 12 }));
  (net.feedbackScale as tf.Variable).assign(tf.scalar(0.9));
  const x = tf.tensor2d(randn(2, 10, 3, 2));
  const cur = tf.tidy(() => net.inputCurrent(x));
  x.dispose();
  const rates = net.simulate(cur, 30);
  const rhs = [tf.randomUniform([2, 30], -0.35, 0.35, 'float32', 5)];
  return { net, cur, rates, rhs };
}

describe('SPIDE', () => {
  beforeAll(setupBackend);

  it('the ternary backward converges to the linear-system solution like C / T_b', () => {
    const { net, cur, rates, rhs } = toySystem();
    const lin = net.linearize(cur, rates);
    const exact = solveBackward(lin, rhs, { maxIter: 60 });
    expect(exact.relResidual).toBeLessThan(1e-5);
    const gmax = Math.max(...values(exact.gamma[0]).map(Math.abs));
    expect(gmax).toBeGreaterThan(0.3); // in range, and not trivially small
    expect(gmax).toBeLessThan(1);
    const errs = [50, 200, 800].map((Tb) => {
      const r = spikingSolve(lin, rhs, { timeSteps: Tb });
      const e = maxAbsDiff(r.beta, exact.gamma);
      expect(r.saturated).toBe(0);
      expect(r.events).toBeGreaterThan(0);
      tf.dispose(r.beta);
      return e;
    });
    expect(errs[1]).toBeLessThan(errs[0]);
    expect(errs[2]).toBeLessThan(errs[1]);
    // ||beta - gamma||_inf <= C / T_b with one C for all three.
    const C = 2;
    [50, 200, 800].forEach((Tb, i) => expect(errs[i]).toBeLessThanOrEqual(C / Tb));
    lin.dispose();
    tf.dispose([cur, ...rates, ...rhs, ...exact.gamma]);
    net.dispose();
  });

  it('its gradients align with IDE at large T and T_b (cosine > 0.99)', () => {
    const net = new FeedbackSNN(
      cfg({ input_size: 64, hidden_sizes: [32], num_classes: 10, seed: 3 }),
    );
    (net.feedbackScale as tf.Variable).assign(tf.scalar(0.8));
    net.eval(); // same feedback weight for both runs (training mode advances the power iteration)
    const x = tf.tensor2d(randn(8, 64, 4, 0.5));
    const labels = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
    const loss = crossEntropyLoss(labels);
    const ide = ideGradients(net, x, loss, { timeSteps: 200 });
    const sp = spideGradients(net, x, loss, {
      timeSteps: 200,
      backwardTimeSteps: 800,
      kappa: 20,
    });
    expect(sp.backwardSaturated).toBe(0);
    expect(sp.backward.relResidual).toBeLessThan(0.1);
    for (const name of ['input.weight', 'input.bias', 'feedback.weight', 'readout.weight']) {
      const c = cosine(values(ide.grads.get(name) as Tensor), values(sp.grads.get(name) as Tensor));
      expect(c, name).toBeGreaterThan(0.99);
    }
    disposeEquilibriumGradients(ide);
    disposeEquilibriumGradients(sp);
    tf.dispose([x, labels]);
    net.dispose();
  });

  it('modified reset: residual potentials in [-V_th, V_th) and rate error <= 1/(2T), half the plain one', () => {
    const vth = 1;
    const T = 16;
    const n = 81;
    // Constant currents 0 .. 2 V_th across n neurons.
    const currents = Array.from({ length: n }, (_, i) => (2 * vth * i) / (n - 1));
    const run = (reset: 'modified' | 'subtract', threshold: number) => {
      const net = new FeedbackSNN(
        cfg({
          input_size: 1,
          hidden_sizes: [n],
          v_threshold: threshold,
          reset,
          feedback_norm: 'none',
        }),
      );
      const p = feedbackNeuronParams(net.config);
      const I = tf.tensor2d([currents]);
      let v = tf.zeros([1, n]);
      let count = tf.zeros([1, n]);
      const after: number[] = [];
      for (let t = 0; t < T; t++) {
        const r = lifStep(I, { v }, p);
        const s = values(r.spikes);
        values(r.state.v).forEach((u, j) => s[j] && after.push(u));
        const c2 = tf.add(count, r.spikes);
        tf.dispose([v, count, r.spikes]);
        v = r.state.v;
        count = c2;
      }
      const rates = values(count).map((c) => c / T);
      tf.dispose([I, v, count]);
      net.dispose();
      const err = Math.max(...rates.map((a, j) => Math.abs(a - currents[j] / (2 * vth))));
      return { err, after };
    };
    const mod = run('modified', vth);
    expect(mod.after.length).toBeGreaterThan(0);
    for (const u of mod.after) {
      expect(u).toBeGreaterThanOrEqual(-vth);
      expect(u).toBeLessThan(vth);
    }
    expect(mod.err).toBeLessThanOrEqual(1 / (2 * T) + 1e-6);
    // Plain subtraction with threshold and step both 2 V_th.
    const plain = run('subtract', 2 * vth);
    expect(plain.err).toBeLessThanOrEqual(1 / T + 1e-6);
    expect(plain.err).toBeGreaterThan(1 / (2 * T) + 1e-3);
  });

  it('kappa: invariant above the spike resolution, rounded away below it', () => {
    const net = new FeedbackSNN(cfg({ hidden_sizes: [8], seed: 9 }));
    const x = tf.tensor2d(randn(4, 6, 6, 2));
    const labels = tf.tensor1d([0, 1, 2, 0], 'int32');
    const loss = crossEntropyLoss(labels);
    const run = (kappa: number) =>
      spideGradients(net, x, loss, { timeSteps: 30, backwardTimeSteps: 2000, kappa });
    const a = run(4);
    const b = run(8);
    expect(a.backwardSaturated).toBe(0);
    expect(b.backwardSaturated).toBe(0);
    const ga = values(a.grads.get('feedback.weight') as Tensor);
    const gb = values(b.grads.get('feedback.weight') as Tensor);
    expect(Math.max(...ga.map(Math.abs))).toBeGreaterThan(1e-3);
    expect(cosine(ga, gb)).toBeGreaterThan(0.99);
    expectClose(gb, ga, 2e-3, 0.05);
    // The readout does not depend on kappa at all.
    expect(values(b.grads.get('readout.weight') as Tensor)).toEqual(
      values(a.grads.get('readout.weight') as Tensor),
    );
    // A kappa that puts every backward input below one event per T_b: all loop gradients vanish.
    const c = spideGradients(net, x, loss, { timeSteps: 30, backwardTimeSteps: 20, kappa: 1e-3 });
    expect(values(c.grads.get('feedback.weight') as Tensor).every((g) => g === 0)).toBe(true);
    expect(c.backwardRate).toBe(0);
    [a, b, c].forEach(disposeEquilibriumGradients);
    tf.dispose([x, labels]);
    net.dispose();
  });

  it('the weight update is the local two-rate product c (m beta)^T a_pre', () => {
    const net = new FeedbackSNN(cfg({ feedback_norm: 'none', seed: 2 }));
    const xs = randn(3, 6, 7, 1);
    const x = tf.tensor2d(xs);
    const cur = tf.tidy(() => net.inputCurrent(x));
    const rates = net.simulate(cur, 25);
    const lin = net.linearize(cur, rates);
    const masks = lin.masks as Tensor[];
    const beta = net.layerSizes.map((n, l) => tf.randomNormal([3, n], 0, 1, 'float32', 60 + l));
    const zeroLoss = (logits: Tensor) => tf.mul(tf.sum(logits), 0) as tf.Scalar;
    const grads = implicitParameterGradients(net, x, rates, beta, zeroLoss);
    const c = net.rateScale;
    const local = (l: number, pre: Tensor) =>
      tf.tidy(() => tf.mul(tf.matMul(tf.mul(masks[l], beta[l]), pre, true, false), c));
    const expectNamed = (name: string, t: Tensor) => {
      expectClose(values(grads.get(name) as Tensor), values(t), 1e-5, 1e-4);
      t.dispose();
    };
    expectNamed('input.weight', local(0, x));
    expectNamed('feedback.weight', local(0, rates[1]));
    expectNamed('layers.0.weight', local(1, rates[0]));
    expectNamed(
      'layers.0.bias',
      tf.tidy(() => tf.mul(tf.sum(tf.mul(masks[1], beta[1]), 0), c)),
    );
    lin.dispose();
    tf.dispose([x, cur, ...rates, ...beta, ...grads.values()]);
    net.dispose();
  });

  it('reports the residual of beta / kappa in the IDE system', () => {
    const { net, cur, rates, rhs } = toySystem();
    const lin = net.linearize(cur, rates);
    const coarse = spikingSolve(lin, rhs, { timeSteps: 20 });
    const fine = spikingSolve(lin, rhs, { timeSteps: 400 });
    const rc = linearResidual(lin, coarse.beta, rhs);
    const rf = linearResidual(lin, fine.beta, rhs);
    expect(rf).toBeLessThan(rc);
    expect(rf).toBeLessThan(0.05);
    lin.dispose();
    tf.dispose([cur, ...rates, ...rhs, ...coarse.beta, ...fine.beta]);
    net.dispose();
  });

  it('a few SGD steps lower the loss on a toy task, with no tensor leak', async () => {
    const net = new FeedbackSNN(cfg({ hidden_sizes: [16], input_norm: true, seed: 8 }));
    const opt = new SGD(net.namedParameters(), { lr: 0.5, momentum: 0.9 });
    const B = 24;
    const xsArr = randn(B, 6, 12, 0.3);
    const labelArr = Array.from({ length: B }, (_, i) => i % 3);
    labelArr.forEach((c, i) => (xsArr[i][c] += 2));
    const x = tf.tensor2d(xsArr);
    const labels = tf.tensor1d(labelArr, 'int32');
    const loss = crossEntropyLoss(labels);
    const losses: number[] = [];
    await expectNoLeak(() => {
      for (let step = 0; step < 15; step++) {
        const r = spideGradients(net, x, loss, { timeSteps: 10, backwardTimeSteps: 50, kappa: 20 });
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

  it('rejects bad options with a clear message', () => {
    const net = new FeedbackSNN(cfg({ hidden_sizes: [4] }));
    const x = tf.zeros([2, 6]);
    const loss = crossEntropyLoss(tf.tensor1d([0, 1], 'int32'));
    expect(() => spideGradients(net, x, loss, { kappa: 0 })).toThrow(/kappa must be > 0, got 0/);
    expect(() => spideGradients(net, x, loss, { backwardTimeSteps: 0 })).toThrow(
      /backward time steps \(T_b\) must be a positive integer/,
    );
    x.dispose();
    net.dispose();
  });
});
