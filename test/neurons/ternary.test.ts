// SPIDE neurons (methods-vision.md 7(b)-(c)): the ternary backward neuron on a hand
// trace, and the modified reset's residual range and rate-error bound (7(f) check 3).
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import {
  lifMultiStep,
  makeIFParams,
  makeTernaryParams,
  spideResetAmount,
  ternaryMultiStep,
} from '../../src/neurons/index.js';
import { rng, uniform } from './reference.js';
import { expectClose, setupBackend, values } from '../helpers.js';

describe('ternary neuron', () => {
  beforeAll(setupBackend);

  it('follows a hand trace with V_b = 0.5, u_rest = -0.5 (reset by 1 per event)', () => {
    // u: .25 -> 0; .625 -> +1 (v -.375); -1.625 -> -1 (v -.625); -.75 -> -1 (v .25); 1 -> +1 (v 0)
    const J = tf.tensor2d([0.25, 0.375, -1.25, -0.125, 0.75], [5, 1]);
    const r = ternaryMultiStep(J, makeTernaryParams());
    expect(values(r.spikes)).toEqual([0, 1, -1, -1, 1]);
    expectClose(values(r.state.v), [0], 1e-7, 0);
  });

  it('emits only -1, 0, +1 and keeps the potential inside [-V_b - |J|max, V_b + |J|max]', () => {
    const J = tf.tensor3d(uniform(rng(8), 50 * 4 * 6, -0.6, 0.6), [50, 4, 6]);
    const r = ternaryMultiStep(J, makeTernaryParams({ vThreshold: 0.5 }));
    const s = values(r.spikes);
    expect(s.every((v) => v === -1 || v === 0 || v === 1)).toBe(true);
    expect(s.some((v) => v === -1) && s.some((v) => v === 1)).toBe(true);
    expect(values(r.state.v).every((v) => Math.abs(v) <= 0.5 + 0.6)).toBe(true);
  });

  it('fires at exactly +-V_b', () => {
    const r = ternaryMultiStep(tf.tensor2d([0.5, -0.5], [1, 2]), makeTernaryParams());
    expect(values(r.spikes)).toEqual([1, -1]);
  });

  it('rejects a non-positive V_b', () => {
    expect(() => makeTernaryParams({ vThreshold: 0 })).toThrow(/v_threshold must be > 0.*got 0/);
  });
});

describe('SPIDE modified reset', () => {
  beforeAll(setupBackend);

  // constant input I in [0, 2 V_th] for T steps; equilibrium rate a = I / (V_th - u_rest)
  const T = 30;
  const levels = Array.from({ length: 101 }, (_, i) => (2 * i) / 100);
  const run = (vThreshold: number, amount: number) => {
    const x = tf.tile(tf.tensor2d(levels, [1, levels.length]), [T, 1]); // [T, L]
    const p = makeIFParams({ vThreshold, vReset: null, resetAmount: amount });
    return lifMultiStep(x, p, { returnV: true });
  };
  const worstRateError = (spikes: tf.Tensor): number => {
    const counts = values(tf.sum(spikes, 0));
    return Math.max(...counts.map((c, i) => Math.abs(c / T - levels[i] / 2)));
  };

  it('after a spike the potential lies in [-V_th, V_th), rate error <= 1/(2T)', () => {
    const r = run(1, spideResetAmount(1));
    const v = values(r.vSeq!);
    expect(v.every((u) => u >= -1 - 1e-6 && u < 1)).toBe(true);
    expect(worstRateError(r.spikes)).toBeLessThanOrEqual(1 / (2 * T) + 1e-6);
  });

  it('plain subtraction with threshold and step 2 V_th only reaches 1/T', () => {
    const err = worstRateError(run(2, 2).spikes);
    expect(err).toBeGreaterThan(1 / (2 * T) + 1e-3);
    expect(err).toBeLessThanOrEqual(1 / T + 1e-6);
  });
});
