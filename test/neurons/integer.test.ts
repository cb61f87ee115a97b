// Integer mode: SpikeYOLO's I-LIF on a hand sequence, the clip-round STE, BPTT
// through I-LIF by hand, and the exact integer <-> spike expansion
// (methods-language.md 0.3 and 2(f) checks 1-3).
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { ShapeError } from '../../src/errors.js';
import {
  clipRoundSTE,
  collapseSpikes,
  expandCounts,
  ilifMultiStep,
  makeILIFParams,
} from '../../src/neurons/index.js';
import { rng } from './reference.js';
import { expectClose, setupBackend, values } from '../helpers.js';

describe('integer mode (I-LIF)', () => {
  beforeAll(setupBackend);

  it('reproduces the hand sequence x = (1.3, 0.4, 2.9) -> u = (1.3, 0.475, 3.01875), n = (1, 0, 3)', () => {
    const r = ilifMultiStep(tf.tensor2d([1.3, 0.4, 2.9], [3, 1]), makeILIFParams());
    expectClose(values(r.uSeq), [1.3, 0.475, 3.01875], 1e-6, 1e-6);
    expect(values(r.counts)).toEqual([1, 0, 3]);
    expect(values(r.state.n)).toEqual([3]);
  });

  it('clip-round: round half to even, clipped to [0, D]; STE gradient 1 inside, 0 outside', () => {
    const u = tf.tensor1d([-0.5, -0.01, 0, 0.3, 2.5, 3.5, 4, 4.01, 7]);
    expect(values(clipRoundSTE(u, 4))).toEqual([0, 0, 0, 0, 2, 4, 4, 4, 4]);
    const g = values(tf.grad((t: Tensor) => tf.sum(clipRoundSTE(t, 4)))(u));
    expect(g).toEqual([0, 0, 1, 1, 1, 1, 1, 0, 0]);
  });

  it('BPTT through I-LIF: du_t/du_{t-1} = decay with the reset count detached', () => {
    // sum(n) on x = (1.3, .4, 2.9), all u inside [0, 4]:
    // d/dx3 = 1; d/dx2 = 1 + .25; d/dx1 = 1 + .25 (1 + .25) = 1.3125
    const x = tf.tensor2d([1.3, 0.4, 2.9], [3, 1]);
    const g = tf.grad((t: Tensor) => tf.sum(ilifMultiStep(t, makeILIFParams()).counts))(x);
    expectClose(values(g), [1.3125, 1.25, 1], 1e-6, 1e-6);
  });

  it('the spike expansion is a thermometer code whose sum (and mean * D) equals the counts exactly', () => {
    const D = 4;
    const r = rng(1);
    const n = Array.from({ length: 3 * 2 * 5 }, () => Math.floor(r() * (D + 1)));
    const counts = tf.tensor3d(n, [3, 2, 5]); // [T, B, C]
    const spikes = expandCounts(counts, D); // [T*D, B, C]
    expect(spikes.shape).toEqual([12, 2, 5]);
    const s = values(spikes);
    for (let t = 0; t < 3; t++)
      for (let i = 0; i < 10; i++)
        for (let k = 0; k < D; k++) expect(s[(t * D + k) * 10 + i]).toBe(k < n[t * 10 + i] ? 1 : 0);
    expect(values(collapseSpikes(spikes, D))).toEqual(n);
    const mean = tf.mean(tf.reshape(spikes, [3, D, 2, 5]), 1); // [T, B, C]
    expect(values(mean)).toEqual(values(tf.div(counts, D)));
  });

  it('integer counts times weights equal the sum over the D binary sub-steps (2(f) check 1)', () => {
    const D = 4;
    const r = rng(2);
    const n = Array.from({ length: 6 * 8 }, () => Math.floor(r() * (D + 1)));
    const w = Array.from({ length: 8 * 3 }, () => Math.floor(r() * 11) - 5); // integer weights
    const counts = tf.tensor2d(n, [6, 8]); // [N, C] as T = 1
    const W = tf.tensor2d(w, [8, 3]);
    const direct = values(tf.matMul(counts, W));
    const bits = expandCounts(tf.reshape(counts, [1, 6, 8]), D); // [D, N, C]
    const viaSpikes = values(tf.sum(tf.stack(tf.unstack(bits).map((b) => tf.matMul(b, W))), 0));
    expect(viaSpikes).toEqual(direct);
  });

  it('rejects a spike sequence that is not a whole number of D blocks', () => {
    expect(() => collapseSpikes(tf.zeros([6, 2]), 4)).toThrow(ShapeError);
    expect(() => collapseSpikes(tf.zeros([6, 2]), 4)).toThrow(/6.*max_count 4/);
    expect(() => makeILIFParams({ maxCount: 2.5 })).toThrow(
      /max_count must be a positive integer, got 2.5/,
    );
  });
});
