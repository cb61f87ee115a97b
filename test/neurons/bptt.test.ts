// BPTT through the neuron core in smooth mode (methods-vision.md 1(f) check 1):
// gradients of a 2-layer spiking net w.r.t. weights and input, and of a trainable
// threshold, against central finite differences of an independent float64
// plain-JS implementation of the same net. Detached paths are frozen at their
// base-point values in the float64 net, so the detach switches are checked too.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import {
  chargeCoefficients,
  createThreshold,
  lifMultiStep,
  makeLIFParams,
  surrogate,
} from '../../src/neurons/index.js';
import type { LIFParams } from '../../src/neurons/index.js';
import { finiteDiff, lif64, matmul64, rng, rows, uniform } from './reference.js';
import type { Frozen, Lif64, Surr64 } from './reference.js';
import { setupBackend, values } from '../helpers.js';

const [T, B, N0, N1, N2] = [4, 2, 3, 4, 3];

/** The float64 twin of LIF params (per-channel threshold list of length C). */
function twin(p: LIFParams, C: number, thr?: number[]): Lif64 {
  const k = chargeCoefficients(p.charge, p.vReset);
  const th = thr ?? new Array<number>(C).fill(p.vThreshold as number);
  return {
    ...k,
    thr: th,
    vReset: p.vReset,
    amount: p.resetAmount === null ? undefined : new Array<number>(C).fill(p.resetAmount),
    surrogate: p.surrogate.name as Surr64,
    alpha: p.surrogate.alpha,
    smooth: p.smooth,
    v0: p.vReset ?? 0,
  };
}

/** Relative error max|a - b| / max|b|, with the worst index for the message. */
function relErr(a: number[], b: number[]): { err: number; at: number } {
  const scale = Math.max(...b.map(Math.abs));
  let err = 0;
  let at = -1;
  a.forEach((ai, i) => {
    const e = Math.abs(ai - b[i]) / scale;
    if (e > err) [err, at] = [e, i];
  });
  return { err, at };
}

function freeze(p: LIFParams, base: { sUsed: number[][]; vPrevUsed: number[][] }): Frozen {
  return {
    sReset: p.detachReset ? base.sUsed : undefined,
    vPrev: p.detachState ? base.vPrevUsed : undefined,
  };
}

describe('BPTT vs float64 finite differences (smooth mode)', () => {
  beforeAll(setupBackend);

  const r = rng(7);
  const X = uniform(r, T * B * N0, -0.5, 1.5);
  const W1 = uniform(r, N0 * N1, -0.8, 1.2);
  const W2 = uniform(r, N1 * N2, -1, 1.5);
  const A = uniform(r, T * B * N2, -1, 1); // loss weights on layer-2 spikes
  const Bw = uniform(r, T * B * N1, -1, 1); // loss weights on layer-1 membranes

  for (const hard of [true, false]) {
    for (const detachReset of [false, true]) {
      for (const detachState of [false, true]) {
        for (const fused of [false, true]) {
          const name = `${hard ? 'hard' : 'soft'} reset, detach_reset ${detachReset}, detach_state ${detachState}, ${fused ? 'fused' : 'op by op'}`;
          it(`2-layer net: ${name}`, () => {
            const common = { smooth: true, detachReset, detachState };
            const p1 = makeLIFParams({
              ...common,
              charge: { form: 'no_decay_input', tau: 2 },
              vReset: hard ? 0 : null,
              surrogate: surrogate(hard ? 'sigmoid' : 'atan'),
            });
            const p2 = makeLIFParams({
              ...common,
              charge: hard
                ? { form: 'decay_input', tau: 1.5 }
                : { form: 'lambda', lambda: 0.7, gain: 0.9 },
              vThreshold: 0.8,
              vReset: hard ? -0.1 : null,
              surrogate: surrogate(hard ? 'atan' : 'sigmoid', 3),
            });
            const q1 = twin(p1, N1);
            const q2 = twin(p2, N2);

            // float64 net; `frozen` holds the detached values of the base point
            const net64 = (x: number[], w1: number[], w2: number[], fr?: [Frozen, Frozen]) => {
              const i1 = rows(matmul64(x, T * B, N0, w1, N1), T);
              const l1 = lif64(i1, q1, N1, fr?.[0]);
              const i2 = rows(matmul64(l1.s.flat(), T * B, N1, w2, N2), T);
              const l2 = lif64(i2, q2, N2, fr?.[1]);
              const loss =
                l2.s.flat().reduce((acc, s, i) => acc + s * A[i], 0) +
                l1.v.flat().reduce((acc, v, i) => acc + v * Bw[i], 0);
              return { loss, l1, l2 };
            };
            const base = net64(X, W1, W2);
            const fr: [Frozen, Frozen] = [freeze(p1, base.l1), freeze(p2, base.l2)];
            const fdX = finiteDiff((x) => net64(x, W1, W2, fr).loss, X);
            const fdW1 = finiteDiff((w) => net64(X, w, W2, fr).loss, W1);
            const fdW2 = finiteDiff((w) => net64(X, W1, w, fr).loss, W2);

            const a = tf.tensor3d(A, [T, B, N2]);
            const bw = tf.tensor3d(Bw, [T, B, N1]);
            const f = (x: Tensor, w1: Tensor, w2: Tensor): Tensor => {
              const i1 = tf.reshape(tf.matMul(tf.reshape(x, [T * B, N0]), w1), [T, B, N1]);
              const r1 = lifMultiStep(i1, p1, { returnV: true, fused });
              const i2 = tf.reshape(tf.matMul(tf.reshape(r1.spikes, [T * B, N1]), w2), [T, B, N2]);
              const r2 = lifMultiStep(i2, p2, { fused });
              return tf.add(tf.sum(tf.mul(r2.spikes, a)), tf.sum(tf.mul(r1.vSeq!, bw)));
            };
            const args = [
              tf.tensor3d(X, [T, B, N0]),
              tf.tensor2d(W1, [N0, N1]),
              tf.tensor2d(W2, [N1, N2]),
            ];
            const { value, grads } = tf.valueAndGrads(f)(args);
            expect(Math.abs(value.dataSync()[0] - base.loss)).toBeLessThan(
              1e-5 * Math.abs(base.loss) + 1e-5,
            );
            for (const [label, g, fd] of [
              ['input', grads[0], fdX],
              ['W1', grads[1], fdW1],
              ['W2', grads[2], fdW2],
            ] as const) {
              const { err, at } = relErr(values(g), fd);
              expect(
                err,
                `${label}: worst element ${at}, got ${values(g)[at]}, fd ${fd[at]}`,
              ).toBeLessThan(1e-5);
            }
            tf.dispose([a, bw, value, ...grads, ...args]);
          });
        }
      }
    }
  }

  it('detaching the reset or the state changes the gradient (1(f) check 3)', () => {
    const x = tf.tensor3d(uniform(rng(3), T * B * N1, 0, 1.5), [T, B, N1]);
    const grad = (o: { detachReset: boolean; detachState: boolean }) => {
      const p = makeLIFParams({ ...o, smooth: true, vReset: null });
      return values(tf.grad((t: Tensor) => tf.sum(lifMultiStep(t, p).spikes))(x));
    };
    const g0 = grad({ detachReset: false, detachState: false });
    const gr = grad({ detachReset: true, detachState: false });
    const gs = grad({ detachReset: false, detachState: true });
    expect(Math.max(...g0.map((g, i) => Math.abs(g - gr[i])))).toBeGreaterThan(1e-3);
    expect(Math.max(...g0.map((g, i) => Math.abs(g - gs[i])))).toBeGreaterThan(1e-3);
    // the last step has no future, so detaching the state leaves its gradient alone
    expect(gs.slice(-B * N1)).toEqual(g0.slice(-B * N1));
  });

  for (const perChannel of [true, false]) {
    for (const hard of [false, true]) {
      for (const detachReset of [false, true]) {
        it(`trainable ${perChannel ? 'per-channel' : 'per-layer'} threshold, ${hard ? 'hard' : 'soft'} reset, detach_reset ${detachReset}`, () => {
          const C = 3;
          const rr = rng(11);
          const X1 = uniform(rr, T * B * C, 0, 1.6);
          const S = uniform(rr, T * B * C, -1, 1);
          const V = uniform(rr, T * B * C, -1, 1);
          const th0 = perChannel ? [0.7, 1.0, 1.3] : [0.9];
          const thr = perChannel ? createThreshold(0, C) : createThreshold(0);
          thr.assign(perChannel ? tf.tensor1d(th0) : tf.scalar(th0[0]));
          const p = makeLIFParams({
            charge: { form: 'no_decay_input', tau: 2 },
            vThreshold: thr,
            vReset: hard ? 0 : null,
            smooth: true,
            detachReset,
          });
          const q = (th: number[]): Lif64 => ({
            ...twin({ ...p, vThreshold: 1 }, C),
            thr: perChannel ? th : [th[0], th[0], th[0]],
          });
          const run = (th: number[], fr?: Frozen) => {
            const o = lif64(rows(X1, T), q(th), C, fr);
            const loss =
              o.s.flat().reduce((acc, s, i) => acc + s * S[i], 0) +
              o.v.flat().reduce((acc, v, i) => acc + v * V[i], 0);
            return { loss, o };
          };
          const base = run(th0);
          const fd = finiteDiff((th) => run(th, freeze(p, base.o)).loss, th0);
          const x = tf.tensor3d(X1, [T, B, C]);
          const s = tf.tensor3d(S, [T, B, C]);
          const v = tf.tensor3d(V, [T, B, C]);
          const { grads } = tf.variableGrads(() => {
            const out = lifMultiStep(x, p, { returnV: true });
            return tf.add(tf.sum(tf.mul(out.spikes, s)), tf.sum(tf.mul(out.vSeq!, v))) as tf.Scalar;
          }, [thr]);
          const g = values(grads[thr.name]);
          const { err, at } = relErr(g, fd);
          expect(err, `threshold ${at}: got ${g[at]}, fd ${fd[at]}`).toBeLessThan(1e-5);
          tf.dispose([x, s, v, thr, grads[thr.name]]);
        });
      }
    }
  }
});
