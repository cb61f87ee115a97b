// The trace-gradient product of OTTT (src/ops/trace-matmul.ts): forward = x Wᵀ; with the
// trace equal to x its gradients are the ordinary ones (tf.grads of tf.matMul, finite
// differences); with another trace dW = dyᵀ â and dx = dy W (hand-computed); the trace
// gets none. On a one-layer LIF net with a per-step loss and a detached soft reset, OTTT
// (one graph per step, the membrane entering each step cut, W's gradient through the
// trace) gives exactly BPTT's weight gradient (methods-vision.md 4(f)1), and the same
// per-step run without the trace (SLTT) does not. Bad shapes fail.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { ShapeError } from '../../src/errors.js';
import { traceMatMul } from '../../src/ops/index.js';
import { lifMultiStep, lifStep, makeLIFParams } from '../../src/neurons/index.js';
import { expectClose, expectNoLeak, rng, setupBackend, values } from '../helpers.js';

beforeAll(setupBackend);

function uniform(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Array.from({ length: n }, () => lo + (hi - lo) * r()),
    shape,
  );
}

function spikes(shape: number[], seed: number): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Array.from({ length: n }, () => (r() < 0.4 ? 1 : 0)),
    shape,
  );
}

describe('traceMatMul', () => {
  const [M, IN, OUT] = [5, 4, 3];

  it('forward is x Wᵀ; with trace = x the gradients are the ordinary ones', async () => {
    const x = uniform([M, IN], 1);
    const w = uniform([OUT, IN], 2);
    const g = uniform([M, OUT], 3);
    await expectNoLeak(() => {
      const y = traceMatMul(x, x, w);
      const ref = tf.matMul(x, w, false, true);
      expectClose(values(y), values(ref), 1e-6, 1e-6);
      const loss = (a: Tensor, b: Tensor) => tf.sum(tf.mul(traceMatMul(a, a, b), g));
      const refLoss = (a: Tensor, b: Tensor) => tf.sum(tf.mul(tf.matMul(a, b, false, true), g));
      const [dx, dw] = tf.grads(loss)([x, w]);
      const [rx, rw] = tf.grads(refLoss)([x, w]);
      expectClose(values(dx), values(rx), 1e-5, 1e-5);
      expectClose(values(dw), values(rw), 1e-5, 1e-5);
      // finite differences of a smooth loss in W (central, float32)
      const smooth = (b: Tensor) => tf.sum(tf.tanh(tf.matMul(x, b, false, true)));
      const dws = tf.grad((b: Tensor) => tf.sum(tf.tanh(traceMatMul(x, x, b))))(w);
      const wv = values(w);
      const eps = 1e-2;
      const fd = wv.map((_, i) => {
        const at = (d: number) =>
          tf.tidy(() => {
            const wp = wv.slice();
            wp[i] += d;
            return smooth(tf.tensor(wp, [OUT, IN])).dataSync()[0];
          });
        return (at(eps) - at(-eps)) / (2 * eps);
      });
      expectClose(values(dws), fd, 2e-3, 2e-3);
      tf.dispose([y, ref, dx, dw, rx, rw, dws]);
    });
    tf.dispose([x, w, g]);
  });

  it('with another trace: dW = dyᵀ â, dx = dy W, no gradient for the trace', () => {
    const x = spikes([M, IN], 4);
    const tr = uniform([M, IN], 5, 0, 2);
    const w = uniform([OUT, IN], 6);
    const g = uniform([M, OUT], 7);
    const [dx, dt, dw] = tf.grads((a: Tensor, t: Tensor, b: Tensor) =>
      tf.sum(tf.mul(traceMatMul(a, t, b), g)),
    )([x, tr, w]);
    const [gv, wv, tv] = [values(g), values(w), values(tr)];
    const dwHand = Array.from({ length: OUT * IN }, (_, k) => {
      const [o, i] = [Math.floor(k / IN), k % IN];
      let s = 0;
      for (let m = 0; m < M; m++) s += gv[m * OUT + o] * tv[m * IN + i];
      return s;
    });
    const dxHand = Array.from({ length: M * IN }, (_, k) => {
      const [m, i] = [Math.floor(k / IN), k % IN];
      let s = 0;
      for (let o = 0; o < OUT; o++) s += gv[m * OUT + o] * wv[o * IN + i];
      return s;
    });
    expectClose(values(dw), dwHand, 1e-5, 1e-5);
    expectClose(values(dx), dxHand, 1e-5, 1e-5);
    expect(values(dt).every((v) => v === 0)).toBe(true);
    tf.dispose([x, tr, w, g, dx, dt, dw]);
  });

  it('OTTT on a one-layer LIF net equals BPTT with a detached soft reset (4(f)1)', async () => {
    const [T, B] = [5, 3];
    const lambda = 0.6;
    const p = makeLIFParams({
      charge: { form: 'lambda', lambda, gain: 1 },
      vThreshold: 0.5,
      vReset: null,
      detachReset: true,
    });
    const a = spikes([T, B, IN], 8); // presynaptic spike trains
    const w = tf.variable(uniform([OUT, IN], 9, -0.2, 0.8));
    const g = uniform([T, B, OUT], 10); // per-step loss weights
    await expectNoLeak(() => {
      // BPTT: the whole sequence, one graph.
      const bptt = tf.variableGrads(() => {
        const x = tf.reshape(tf.matMul(tf.reshape(a, [T * B, IN]), w, false, true), [T, B, OUT]);
        return tf.sum(tf.mul(lifMultiStep(x, p).spikes, g));
      }, [w]);
      // One step at a time, the state entering each step constant; OTTT's weight gradient
      // reads the trace â = λ â + a[t], SLTT's the current input a[t].
      const online = (useTrace: boolean): Tensor => {
        let v = tf.zeros([B, OUT]);
        let trace = tf.zeros([B, IN]);
        let sum = tf.zeros([OUT, IN]);
        const as = tf.unstack(a);
        const gs = tf.unstack(g);
        for (let t = 0; t < T; t++) {
          const nextTrace = tf.tidy(() => tf.add(tf.mul(trace, lambda), as[t]));
          trace.dispose();
          trace = nextTrace;
          let vNext: Tensor | null = null;
          const step = tf.variableGrads(() => {
            const r = lifStep(traceMatMul(as[t], useTrace ? trace : as[t], w), { v }, p);
            vNext = tf.keep(r.state.v);
            return tf.sum(tf.mul(r.spikes, gs[t]));
          }, [w]);
          v.dispose();
          v = vNext as unknown as Tensor;
          const next = tf.add(sum, step.grads[w.name]);
          tf.dispose([sum, step.value, step.grads[w.name]]);
          sum = next;
        }
        tf.dispose([v, trace, ...as, ...gs]);
        return sum;
      };
      const sum = online(true);
      const sltt = online(false);
      expect(values(bptt.grads[w.name]).some((x) => x !== 0)).toBe(true);
      expectClose(values(sum), values(bptt.grads[w.name]), 1e-5, 1e-5);
      // without the trace (SLTT) the leak path is lost: a different gradient
      const gap = values(sltt).map((x, i) => Math.abs(x - values(sum)[i]));
      expect(Math.max(...gap)).toBeGreaterThan(0.1);
      tf.dispose([sum, sltt, bptt.value, bptt.grads[w.name]]);
    });
    tf.dispose([a, w, g]);
  });

  it('rejects bad shapes', () => {
    const x = tf.zeros([2, 3]);
    expect(() => traceMatMul(x, tf.zeros([2, 4]), tf.zeros([5, 3]))).toThrow(ShapeError);
    expect(() => traceMatMul(x, x, tf.zeros([5, 4]))).toThrow(/x must be \[M, in\]/);
    x.dispose();
  });
});
