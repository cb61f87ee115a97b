// The fused multi-step kernel equals the op-by-op reference path: spikes and
// membranes bit for bit, gradients w.r.t. input and initial state (with random
// upstream gradients on spikes, membrane sequence and final state) to float32
// rounding, over charge forms x resets x detach switches x surrogates x modes.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import {
  SURROGATE_NAMES,
  lifMultiStep,
  makeLIFParams,
  surrogate,
} from '../../src/neurons/index.js';
import type { Charge, LIFOptions } from '../../src/neurons/index.js';
import { rng, uniform } from './reference.js';
import { expectClose, setupBackend, values } from '../helpers.js';

const CHARGES: Charge[] = [
  { form: 'if' },
  { form: 'decay_input', tau: 2 },
  { form: 'no_decay_input', tau: 1.1 },
  { form: 'lambda', lambda: 0.9, gain: 0.3 },
];
const RESETS: { name: string; o: LIFOptions }[] = [
  { name: 'hard to 0', o: { vReset: 0 } },
  { name: 'hard to -0.3', o: { vReset: -0.3, vThreshold: 0.8 } },
  { name: 'soft', o: { vReset: null, vThreshold: 0.8 } },
  { name: 'soft by 2 V_th', o: { vReset: null, resetAmount: 2 } },
];
const [T, B, N] = [6, 3, 5];

describe('fused kernel vs op-by-op path', () => {
  beforeAll(setupBackend);

  let k = 0;
  for (const charge of CHARGES) {
    for (const reset of RESETS) {
      for (const [detachReset, detachState] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const sgName = SURROGATE_NAMES[k % 4];
        const smooth = k % 3 === 2;
        k++;
        const name = `${charge.form}, ${reset.name}, detach ${detachReset}/${detachState}, ${sgName}${smooth ? ', smooth' : ''}`;
        it(name, () => {
          const p = makeLIFParams({
            charge,
            ...reset.o,
            surrogate: surrogate(sgName),
            smooth,
            detachReset,
            detachState,
          });
          const r = rng(k);
          const x = tf.tensor3d(uniform(r, T * B * N, -0.6, 1.6), [T, B, N]);
          const v0 = tf.tensor2d(uniform(r, B * N, -0.5, 0.7), [B, N]);
          const gs = tf.tensor3d(uniform(r, T * B * N, -1, 1), [T, B, N]);
          const gv = tf.tensor3d(uniform(r, T * B * N, -1, 1), [T, B, N]);
          const gl = tf.tensor2d(uniform(r, B * N, -1, 1), [B, N]);
          const run = (fused: boolean) => {
            const fwd = lifMultiStep(x, p, { state: { v: v0 }, returnV: true, fused });
            const loss = (a: Tensor, b: Tensor): Tensor => {
              const o = lifMultiStep(a, p, { state: { v: b }, returnV: true, fused });
              return tf.addN([
                tf.sum(tf.mul(o.spikes, gs)),
                tf.sum(tf.mul(o.vSeq!, gv)),
                tf.sum(tf.mul(o.state.v, gl)),
              ]);
            };
            const [dx, dv0] = tf.grads(loss)([x, v0]);
            return {
              s: values(fwd.spikes),
              v: values(fwd.vSeq!),
              last: values(fwd.state.v),
              dx: values(dx),
              dv0: values(dv0),
            };
          };
          const ref = run(false);
          const got = run(true);
          if (!smooth) expect(got.s).toEqual(ref.s);
          else expectClose(got.s, ref.s, 1e-6, 1e-6);
          expectClose(got.v, ref.v, smooth ? 1e-6 : 0, smooth ? 1e-6 : 0);
          expectClose(got.last, ref.v.slice(-B * N), smooth ? 1e-6 : 0, smooth ? 1e-6 : 0);
          expectClose(got.dx, ref.dx, 1e-5, 1e-5);
          expectClose(got.dv0, ref.dv0, 1e-5, 1e-5);
          if (!smooth) expect(ref.s.some((s) => s === 1) && ref.s.some((s) => s === 0)).toBe(true);
          if (detachState) expect(got.dv0.every((g) => g === 0)).toBe(true);
          tf.dispose([x, v0, gs, gv, gl]);
        });
      }
    }
  }

  it('spikes-only output (no membrane sequence) gives the same spikes, state and gradient', () => {
    const p = makeLIFParams({ vReset: null });
    const x = tf.tensor3d(uniform(rng(5), 4 * 2 * 3, 0, 1.5), [4, 2, 3]);
    const g = (fused: boolean) =>
      values(tf.grad((t: Tensor) => tf.sum(tf.square(lifMultiStep(t, p, { fused }).spikes)))(x));
    const a = lifMultiStep(x, p, { fused: true });
    const b = lifMultiStep(x, p, { fused: false });
    expect(values(a.spikes)).toEqual(values(b.spikes));
    expect(values(a.state.v)).toEqual(values(b.state.v));
    expectClose(g(true), g(false), 1e-6, 1e-5);
  });

  it('is used by default for a numeric threshold (a few kernels, not ~10 per step)', async () => {
    const p = makeLIFParams();
    const x = tf.zeros([16, 2, 3]);
    const kernels = async (fused: boolean | 'auto'): Promise<number> => {
      const info = await tf.profile(() => {
        const o = lifMultiStep(x, p, { fused });
        tf.dispose([o.spikes, o.state.v]);
      });
      return info.kernels.length;
    };
    expect(await kernels('auto')).toBeLessThan(10);
    expect(await kernels(false)).toBeGreaterThan(100);
    x.dispose();
  });
});
