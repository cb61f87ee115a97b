// IF/LIF one-step and multi-step dynamics against traces computed by hand (the
// expected numbers below were worked out on paper from the charge/fire/reset
// equations), on both the op-by-op path and the fused kernel.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import { ConfigError, ShapeError } from '../../src/errors.js';
import {
  createThreshold,
  lifMultiStep,
  lifStep,
  makeIFParams,
  makeLIFParams,
  spideResetAmount,
} from '../../src/neurons/index.js';
import type { LIFOptions, LIFParams } from '../../src/neurons/index.js';
import { expectClose, setupBackend, values } from '../helpers.js';

interface Trace {
  name: string;
  params: LIFParams;
  x: number[];
  spikes: number[];
  v: number[];
}

const lif = (o: LIFOptions): LIFParams => makeLIFParams(o);

const TRACES: Trace[] = [
  {
    // H = V + (X - V)/2, hard reset to 0: H = .3, .55, 1.025 (fires), .1
    name: 'LIF decay_input tau 2, hard reset to 0, threshold 1',
    params: lif({ charge: { form: 'decay_input', tau: 2 } }),
    x: [0.6, 0.8, 1.5, 0.2],
    spikes: [0, 0, 1, 0],
    v: [0.3, 0.55, 0, 0.1],
  },
  {
    // v0 = -0.2; H = V + (X - (V + 0.2))/2: .3, .55, .375, 1.0875 (>= .8 fires -> -0.2)
    name: 'LIF decay_input tau 2, hard reset to -0.2, threshold 0.8',
    params: lif({ charge: { form: 'decay_input', tau: 2 }, vThreshold: 0.8, vReset: -0.2 }),
    x: [1.0, 1.0, 0.4, 2.0],
    spikes: [0, 0, 0, 1],
    v: [0.3, 0.55, 0.375, -0.2],
  },
  {
    // soft: H = V + (X - V)/2: .8, 1.1 (-> .1), .1, 1.55 (-> .55)
    name: 'LIF decay_input tau 2, soft reset, threshold 1',
    params: lif({ charge: { form: 'decay_input', tau: 2 }, vReset: null }),
    x: [1.6, 1.4, 0.1, 3.0],
    spikes: [0, 1, 0, 1],
    v: [0.8, 0.1, 0.1, 0.55],
  },
  {
    // H = V - V/4 + X: .5, .775, 1.08125 (-> 0), -0.2
    name: 'LIF no_decay_input tau 4, hard reset to 0',
    params: lif({ charge: { form: 'no_decay_input', tau: 4 } }),
    x: [0.5, 0.4, 0.5, -0.2],
    spikes: [0, 0, 1, 0],
    v: [0.5, 0.775, 0, -0.2],
  },
  {
    // v0 = .1; H = V - (V - .1)/2 + X: .8, 1.35, 1.025, 1.7625 (>= 1.5 fires -> .1)
    name: 'LIF no_decay_input tau 2, hard reset to 0.1, threshold 1.5',
    params: lif({ charge: { form: 'no_decay_input', tau: 2 }, vThreshold: 1.5, vReset: 0.1 }),
    x: [0.7, 0.9, 0.3, 1.2],
    spikes: [0, 0, 0, 1],
    v: [0.8, 1.35, 1.025, 0.1],
  },
  {
    // H = V/2 + X: .3, .55 (-> .05), .925 (-> .425)
    name: 'LIF no_decay_input tau 2, soft reset, threshold 0.5',
    params: lif({ charge: { form: 'no_decay_input', tau: 2 }, vThreshold: 0.5, vReset: null }),
    x: [0.3, 0.4, 0.9],
    spikes: [0, 1, 1],
    v: [0.3, 0.05, 0.425],
  },
  {
    // H = .9 V + X: .5, 1.15 (-> .15), .335
    name: 'lambda form 0.9, soft reset',
    params: lif({ charge: { form: 'lambda', lambda: 0.9, gain: 1 }, vReset: null }),
    x: [0.5, 0.7, 0.2],
    spikes: [0, 1, 0],
    v: [0.5, 0.15, 0.335],
  },
  {
    // H = .8 V + .2 X (DSR-style gain): .6, 1.08 (-> 0), .6
    name: 'lambda form 0.8 with input gain 0.2, hard reset',
    params: lif({ charge: { form: 'lambda', lambda: 0.8, gain: 0.2 } }),
    x: [3, 3, 3],
    spikes: [0, 1, 0],
    v: [0.6, 0, 0.6],
  },
  {
    // H = V + X: .6, 1.2 (-> .2), .8, 1.4 (-> .4)
    name: 'IF soft reset',
    params: makeIFParams({ vReset: null }),
    x: [0.6, 0.6, 0.6, 0.6],
    spikes: [0, 1, 0, 1],
    v: [0.6, 0.2, 0.8, 0.4],
  },
  {
    name: 'IF hard reset to 0',
    params: makeIFParams(),
    x: [0.6, 0.6, 0.6, 0.6],
    spikes: [0, 1, 0, 1],
    v: [0.6, 0, 0.6, 0],
  },
  {
    // SPIDE modified reset subtracts 2 V_th: .6, 1.2 (-> -.8), -.2, .4
    name: 'IF soft reset by 2 V_th (SPIDE)',
    params: makeIFParams({ vReset: null, resetAmount: spideResetAmount(1) }),
    x: [0.6, 0.6, 0.6, 0.6],
    spikes: [0, 1, 0, 0],
    v: [0.6, -0.8, -0.2, 0.4],
  },
];

describe('IF/LIF hand traces', () => {
  beforeAll(setupBackend);

  for (const c of TRACES) {
    for (const fused of [false, true]) {
      it(`${c.name} (${fused ? 'fused' : 'op by op'})`, () => {
        const x = tf.tensor2d(c.x, [c.x.length, 1]); // [T, 1]
        const r = lifMultiStep(x, c.params, { returnV: true, fused });
        expect(values(r.spikes)).toEqual(c.spikes);
        expectClose(values(r.vSeq!), c.v, 1e-6, 1e-6);
        expectClose(values(r.state.v), [c.v[c.v.length - 1]], 1e-6, 1e-6);
        tf.dispose([x, r.spikes, r.vSeq!, r.state.v]);
      });
    }
  }

  it('a single step continues from the given state', () => {
    const p = lif({ charge: { form: 'decay_input', tau: 2 } });
    const r = lifStep(tf.tensor1d([1.5, 0.2]), { v: tf.tensor1d([0.55, 0.3]) }, p);
    // H = .55 + (1.5 - .55)/2 = 1.025 -> fires; .3 + (.2 - .3)/2 = .25
    expect(values(r.spikes)).toEqual([1, 0]);
    expectClose(values(r.state.v), [0, 0.25], 1e-6, 1e-6);
  });

  it('fires exactly at the threshold (x >= 0 convention)', () => {
    const r = lifMultiStep(tf.tensor2d([1], [1, 1]), makeIFParams(), { fused: false });
    expect(values(r.spikes)).toEqual([1]);
  });

  it('a per-channel threshold applies along the last axis', () => {
    const thr = tf.tensor1d([0.5, 1.0, 2.0]);
    const p = makeIFParams({ vThreshold: thr, vReset: null });
    const x = tf.tensor3d([0.6, 0.6, 0.6, 0.6, 0.6, 0.6], [2, 1, 3]); // [T, B, C]
    const r = lifMultiStep(x, p, { returnV: true });
    // channel 0: .6 fires (-> .1), .7 fires (-> .2); channel 1: .6, 1.2 fires (-> .2);
    // channel 2: .6, 1.2
    expect(values(r.spikes)).toEqual([1, 0, 0, 1, 1, 0]);
    expectClose(values(r.vSeq!), [0.1, 0.6, 0.6, 0.2, 0.2, 1.2], 1e-6, 1e-6);
  });

  it('a trainable per-layer threshold runs op by op and matches a fixed one', () => {
    const thr = createThreshold(0.8);
    const x = tf.tensor2d([0.5, 0.5, 0.5, 0.9], [4, 1]);
    const a = lifMultiStep(x, makeIFParams({ vThreshold: thr }), { returnV: true });
    const b = lifMultiStep(x, makeIFParams({ vThreshold: 0.8 }), { returnV: true });
    expect(values(a.spikes)).toEqual(values(b.spikes));
    expect(values(a.vSeq!)).toEqual(values(b.vSeq!));
    expect(() => lifMultiStep(x, makeIFParams({ vThreshold: thr }), { fused: true })).toThrow(
      /fused: true needs a fixed numeric v_threshold/,
    );
    thr.dispose();
  });

  it('rejects bad shapes with the offending shape in the message', () => {
    const p = makeIFParams({ vThreshold: tf.tensor1d([1, 1]) });
    expect(() => lifMultiStep(tf.zeros([2, 1, 3]), p)).toThrow(ShapeError);
    expect(() => lifMultiStep(tf.zeros([2, 1, 3]), p)).toThrow(/must be \[3\].*got \[2\]/);
    expect(() => lifMultiStep(tf.zeros([3]), makeIFParams())).toThrow(
      /time-first.*got shape \[3\]/,
    );
    expect(() =>
      lifMultiStep(tf.zeros([2, 4]), makeIFParams(), { state: { v: tf.zeros([3]) } }),
    ).toThrow(/state.v must be \[4\].*got \[3\]/);
  });

  it('rejects bad parameters naming the field', () => {
    expect(() => lif({ charge: { form: 'decay_input', tau: 1 } })).toThrow(ConfigError);
    expect(() => lif({ charge: { form: 'decay_input', tau: 0.5 } })).toThrow(
      /tau must be > 1.*0\.5/,
    );
    expect(() => lif({ charge: { form: 'lambda', lambda: 1.5, gain: 1 } })).toThrow(/lambda.*1\.5/);
    expect(() => lif({ vThreshold: 0, vReset: 0 })).toThrow(/v_threshold must be > v_reset/);
    expect(() => lif({ resetAmount: 2 })).toThrow(/reset_amount applies to the soft reset/);
    expect(() => lif({ vThreshold: NaN })).toThrow(/v_threshold must be a finite number, got NaN/);
  });
});
