// A one-step sequence (T = 1, the default of integer neurons in LMs) must be
// differentiable through every multi-step runner, and equal the single step.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import {
  asnMultiStep,
  createASNParams,
  ilifMultiStep,
  lifMultiStep,
  makeILIFParams,
  makeLIFParams,
  makeTernaryParams,
  ternaryMultiStep,
  unstackTime,
} from '../../src/neurons/index.js';
import { setupBackend, values } from '../helpers.js';

describe('multi-step runners at T = 1', () => {
  beforeAll(setupBackend);
  const x = () => tf.tensor3d([[[0.3, 1.7, 2.6, -0.4]]]); // [1, 1, 4]

  it('unstackTime gives the single step, with a gradient', () => {
    const g = tf.grad((t: Tensor) => tf.sum(tf.mul(unstackTime(t)[0], tf.tensor1d([1, 2, 3, 4]))))(
      tf.zeros([1, 1, 4]),
    );
    expect(values(g)).toEqual([1, 2, 3, 4]);
  });

  it('I-LIF: counts and a straight-through gradient', () => {
    const p = makeILIFParams({ maxCount: 2 });
    expect(values(ilifMultiStep(x(), p).counts)).toEqual([0, 2, 2, 0]);
    const g = tf.grad((t: Tensor) => tf.sum(ilifMultiStep(t, p).counts))(x());
    expect(values(g)).toEqual([1, 1, 0, 0]); // STE: 1 inside [0, D], 0 outside
  });

  it('ASN: gradient flows at T = 1', () => {
    const p = createASNParams(4);
    const g = tf.grad((t: Tensor) => tf.sum(asnMultiStep(t, p).y))(x());
    expect(values(g).some((v) => v !== 0)).toBe(true);
  });

  it('LIF op by op and ternary: gradient flows at T = 1', () => {
    const lif = makeLIFParams({});
    const g1 = tf.grad((t: Tensor) => tf.sum(lifMultiStep(t, lif, { fused: false }).spikes))(x());
    expect(values(g1).every((v) => v > 0)).toBe(true);
    const tern = makeTernaryParams();
    const g2 = tf.grad((t: Tensor) => tf.sum(ternaryMultiStep(t, tern).spikes))(x());
    expect(values(g2).some((v) => v !== 0)).toBe(true);
  });
});
