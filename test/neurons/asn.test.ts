// ASN and NASN ([P] designs of methods-language.md 2): the I-LIF limit, the STE and
// LSQ rules by hand, BPTT into the leak, adaptive threshold, threshold folding,
// NASN fold into a linear layer, RMS scale invariance (2(f) checks 2-6).
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import {
  asnMultiStep,
  asnQuantize,
  asnRatePenalty,
  asnTheta,
  createASNParams,
  createNASNNorm,
  expandCounts,
  foldBatchNormIntoLinear,
  foldThetaIntoWeight,
  nasnBatchNorm,
  nasnMultiStep,
  nasnRMSNorm,
} from '../../src/neurons/index.js';
import type { NASNBatchNorm, NASNRMSNorm } from '../../src/neurons/index.js';
import { rng, uniform } from './reference.js';
import { expectClose, setupBackend, values } from '../helpers.js';

describe('ASN', () => {
  beforeAll(setupBackend);

  it('with lambda 0.25, theta 1, D 4 reproduces the I-LIF hand sequence (2(f) check 2)', () => {
    const p = createASNParams(1);
    const r = asnMultiStep(tf.tensor3d([1.3, 0.4, 2.9], [3, 1, 1]), p);
    expectClose(values(r.uSeq), [1.3, 0.475, 3.01875], 1e-6, 1e-6);
    expect(values(r.counts)).toEqual([1, 0, 3]);
    expectClose(values(r.y), [1, 0, 3], 1e-6, 1e-6);
  });

  it('STE: dn/du = 1/theta inside [-0.5 theta, (D + 0.5) theta], else 0 (2(f) check 3)', () => {
    const theta = tf.scalar(0.5);
    // inside is [-0.25, 2.25] for theta .5, D 4
    const u = tf.tensor1d([-0.3, -0.2, 0.1, 1.3, 2.2, 2.3]);
    expect(values(asnQuantize(u, theta, 4, 1))).toEqual([0, 0, 0, 3, 4, 4]);
    const g = values(tf.grad((t: Tensor) => tf.sum(asnQuantize(t, theta, 4, 1)))(u));
    expect(g).toEqual([0, 2, 2, 2, 2, 0]);
  });

  it('LSQ: dy/dtheta = s (n - u/theta) inside, 0 below, s D above, with s = 1/sqrt(numel D) by default', () => {
    const u = tf.tensor1d([-1, 0.3, 1.3, 9]);
    const dy = (s: number) =>
      values(
        tf.grad((th: Tensor) => tf.sum(tf.mul(th, asnQuantize(u, th, 4, s))))(tf.scalar(1)),
      )[0];
    // G: below 0; .3 -> n 0: 0 - .3; 1.3 -> n 1: 1 - 1.3; above: 4  => sum 3.4
    expect(dy(1)).toBeCloseTo(3.4, 5);
    const p = createASNParams(4); // per step numel 4, D 4 -> s = 1/4
    const g = tf.variableGrads(
      () => tf.sum(asnMultiStep(tf.reshape(u, [1, 1, 4]), p).y) as tf.Scalar,
      [p.b as tf.Variable],
    ).grads[(p.b as tf.Variable).name];
    const dThetaDb = 1 - Math.exp(-(1 - 1e-3)); // sigmoid(b) with softplus(b) = .999
    expectClose(
      values(g),
      [0, -0.3, -0.3, 4].map((G) => (G / 4) * dThetaDb),
      1e-6,
      1e-5,
    );
  });

  it('the leak learns by BPTT: du_2/dlambda = u_1 - theta n_1', () => {
    const p = createASNParams(1);
    const x = tf.tensor3d([1.3, 0.4], [2, 1, 1]);
    const g = tf.variableGrads(
      () => tf.sum(asnMultiStep(x, p).y) as tf.Scalar,
      [p.a as tf.Variable],
    );
    // y_2 = theta n_2, STE 1 inside: d/da = (1.3 - 1) * lambda (1 - lambda) = .3 * .1875
    expectClose(values(g.grads[(p.a as tf.Variable).name]), [0.05625], 1e-6, 1e-5);
  });

  it('the adaptive threshold (off by default) rises after firing', () => {
    const x = tf.tensor3d([2.2, 2.5], [2, 1, 1]);
    // u_2 = .25 (2.2 - 2) + 2.5 = 2.55: plain n_2 = 3; adaptive theta_2 = 1 + 2/4 -> n_2 = round(1.7) = 2
    expect(values(asnMultiStep(x, createASNParams(1)).counts)).toEqual([2, 3]);
    const r = asnMultiStep(x, createASNParams(1, { gamma: 1 }));
    expect(values(r.counts)).toEqual([2, 2]);
    expectClose(values(r.y), [2, 3], 1e-6, 1e-6);
  });

  it('folding theta into the next weight: y W == n (diag(theta) W) (2(f) check 4)', () => {
    const r = rng(4);
    const C = 6;
    const p = createASNParams(C);
    (p.b as tf.Variable).assign(tf.tensor1d(uniform(r, C, -1, 2)));
    const x = tf.tensor3d(uniform(r, 2 * 5 * C, -1, 4), [2, 5, C]); // [T, N, C]
    const W = tf.tensor2d(uniform(r, C * 3, -1, 1), [C, 3]);
    const out = asnMultiStep(x, p);
    const yW = tf.matMul(tf.reshape(out.y, [10, C]), W);
    const Wf = foldThetaIntoWeight(asnTheta(p), W);
    const nW = tf.matMul(tf.reshape(out.counts, [10, C]), Wf);
    expectClose(values(nW), values(yW), 1e-5, 1e-5);
    // and through the binary expansion: the sum over D sub-steps of b W' gives the same
    const bits = expandCounts(tf.reshape(out.counts, [2, 5, C]), 4); // [2*4, 5, C]
    const viaSpikes = tf.sum(tf.reshape(tf.matMul(tf.reshape(bits, [40, C]), Wf), [2, 4, 5, 3]), 1);
    expectClose(values(viaSpikes), values(tf.reshape(yW, [2, 5, 3])), 1e-5, 1e-5);
  });

  it('with dyadic theta and integer weights the fold is exact', () => {
    const p = createASNParams(2, { thetaInit: 0.5 + 1e-3 });
    const theta = tf.tensor1d([0.5, 0.25]);
    const counts = tf.tensor2d([0, 1, 2, 3, 4, 1], [3, 2]);
    const W = tf.tensor2d([1, -2, 3, 4, 0, 5], [2, 3]);
    expect(values(tf.matMul(tf.mul(counts, theta), W))).toEqual(
      values(tf.matMul(counts, foldThetaIntoWeight(theta, W))),
    );
    expect(values(asnTheta(p))[0]).toBeCloseTo(0.501, 6);
  });

  it('the optional firing-rate penalty is rho mean(n) / D', () => {
    expect(values(asnRatePenalty(tf.tensor1d([0, 4, 2, 2]), 4, 0.1))[0]).toBeCloseTo(0.05, 7);
  });

  it('rejects bad ASN options naming the field', () => {
    expect(() => createASNParams(2, { lambdaInit: 1 })).toThrow(
      /decay_init must be in \(0, 1\), got 1/,
    );
    expect(() => createASNParams(2, { thetaInit: 0 })).toThrow(
      /threshold_init must be > 0.001, got 0/,
    );
    expect(() => createASNParams(2, { maxCount: 0 })).toThrow(/max_count/);
    expect(() => asnMultiStep(tf.zeros([1, 2, 3]), createASNParams(2))).toThrow(/\[3\].*got \[2\]/);
  });
});

describe('NASN', () => {
  beforeAll(setupBackend);

  function batchNorm(C: number, seed: number): NASNBatchNorm {
    const r = rng(seed);
    const n = createNASNNorm('batch', C) as NASNBatchNorm;
    (n.gamma as tf.Variable).assign(tf.tensor1d(uniform(r, C, 0.5, 2)));
    (n.beta as tf.Variable).assign(tf.tensor1d(uniform(r, C, -0.5, 0.5)));
    return {
      ...n,
      running: {
        mean: tf.tensor1d(uniform(r, C, -1, 1)),
        variance: tf.tensor1d(uniform(r, C, 0.2, 3)),
      },
    };
  }

  it('BatchNorm-style NASN folds into the preceding linear layer (2(f) check 5)', () => {
    const [B, IN, C] = [7, 4, 3];
    const r = rng(9);
    const h = tf.tensor2d(uniform(r, B * IN, -1, 1), [B, IN]);
    const W = tf.tensor2d(uniform(r, IN * C, -1, 1), [IN, C]);
    const bias = tf.tensor1d(uniform(r, C, -0.5, 0.5));
    const norm = batchNorm(C, 10);
    const asn = createASNParams(C);
    const before = nasnMultiStep(tf.reshape(tf.add(tf.matMul(h, W), bias), [1, B, C]), norm, asn);
    const folded = foldBatchNormIntoLinear(W, bias, norm);
    const current = tf.add(tf.matMul(h, folded.weight), folded.bias); // [B, C]
    const after = asnMultiStep(tf.reshape(current, [1, B, C]), asn);
    expectClose(values(after.uSeq), values(before.uSeq), 1e-5, 1e-5);
    // no membrane sits near a rounding boundary, so the counts must agree exactly
    const u = values(before.uSeq);
    expect(Math.min(...u.map((v) => Math.abs(v - Math.floor(v) - 0.5)))).toBeGreaterThan(1e-3);
    expect(values(after.counts)).toEqual(values(before.counts));
  });

  it('training mode uses batch statistics and updates the running ones (momentum 0.1)', () => {
    const norm = createNASNNorm('batch', 2) as NASNBatchNorm;
    const x = tf.tensor3d([1, 10, 3, 20, 5, 30, 7, 40], [2, 2, 2]); // channel 0: 1,3,5,7; channel 1: 10..40
    const { out, running } = nasnBatchNorm(x, norm, true);
    const o = values(out);
    const z = [-3, -1, 1, 3].map((d) => d / Math.sqrt(5 + 1e-5));
    expectClose([o[0], o[2], o[4], o[6]], z, 1e-5, 1e-5);
    expectClose(values(running.mean), [0.4, 2.5], 1e-6, 1e-6);
    // unbiased variances 20/3 and 500/3: .9 * 1 + .1 * v
    expectClose(values(running.variance), [0.9 + 2 / 3, 0.9 + 50 / 3], 1e-5, 1e-5);
  });

  it('RMS-style NASN is invariant to a positive scale of the current (2(f) check 6)', () => {
    const C = 8;
    const r = rng(12);
    const norm = createNASNNorm('rms', C) as NASNRMSNorm;
    (norm.gamma as tf.Variable).assign(tf.tensor1d(uniform(r, C, 0.5, 3)));
    const x = tf.tensor3d(uniform(r, 2 * 3 * C, -2, 2), [2, 3, C]);
    const asn = createASNParams(C);
    const base = nasnMultiStep(x, norm, asn);
    const xn = values(nasnRMSNorm(x, norm));
    for (const k of [0.5, 3, 100]) {
      const scaled = tf.mul(x, k);
      expectClose(values(nasnRMSNorm(scaled, norm)), xn, 1e-5, 1e-4);
      expect(values(nasnMultiStep(scaled, norm, asn).counts)).toEqual(values(base.counts));
    }
  });
});
