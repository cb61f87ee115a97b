// EnergyCounter driven through the recorder hook: brute-force SOPs (check 6.3(3)),
// encodings (integer counts as sub-steps, ternary ±1), counting off, no leaks,
// accumulation across passes, reset and per-example averages.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import {
  EnergyCounter,
  activeRecorder,
  estimateEnergy,
  withRecorder,
} from '../../src/energy/index.js';
import { setupBackend } from '../helpers.js';
import { bruteForcePairs, denseWeights, nonzeroFraction, spikes, toyKv, toyLinear } from './toy.js';

const [T, B, N, CIN, COUT] = [4, 2, 3, 5, 7];

describe('EnergyCounter', () => {
  beforeAll(setupBackend);

  it('matches a brute-force count of (spike, weight) pairs, and T · fr · FLOPs', () => {
    const x = spikes([T, B, N, CIN], 0.3, 1);
    const w = denseWeights(CIN, COUT, 2);
    const counter = new EnergyCounter();
    counter.count(B, () => tf.tidy(() => toyLinear('l', x, w, 'spike', T))).dispose();
    const [t] = counter.tallies();
    const brute = bruteForcePairs(tf.reshape(x, [-1, CIN]), w);
    expect(brute).toBeGreaterThan(0);
    expect(t.sops_one_operand).toBeCloseTo(brute, 9);
    const [l] = estimateEnergy(counter.tallies()).layers;
    expect(l.firing_rate).toBeCloseTo(nonzeroFraction(x), 12);
    expect(l.acs).toBeCloseTo(l.time_steps * l.firing_rate * l.flops, 9);
    expect(l.op_type).toBe('ac');
    tf.dispose([x, w]);
  });

  it('counts an integer count n as n events, i.e. n binary sub-steps of D', () => {
    const D = 4;
    const counts = tf.tensor2d([0, 1, 4, 2, 3, 0, 0, 1, 4, 4], [2, 5]); // [B·N, in], T = 1
    const w = denseWeights(5, COUT, 3);
    const counter = new EnergyCounter();
    withRecorder(counter, () =>
      toyLinear('int', counts, w, 'integer', 1, { maxCount: D }),
    ).dispose();
    const [t] = counter.tallies();
    expect(t.events).toBe(19);
    expect(t.sops_one_operand).toBeCloseTo(bruteForcePairs(counts, w), 9);
    // The same counts expanded into D binary sub-steps (thermometer code) as spikes.
    const expanded = tf.tidy(() =>
      tf.stack([1, 2, 3, 4].map((s) => tf.cast(tf.greaterEqual(counts, s), 'float32'))),
    );
    const spiking = new EnergyCounter();
    withRecorder(spiking, () => toyLinear('int', expanded, w, 'spike', D)).dispose();
    const [a] = estimateEnergy(counter.tallies()).layers;
    const [b] = estimateEnergy(spiking.tallies()).layers;
    expect(a.time_steps).toBe(D);
    expect(a.firing_rate).toBeCloseTo(b.firing_rate, 12);
    expect(a.acs).toBeCloseTo(b.acs, 9);
    tf.dispose([counts, w, expanded]);
  });

  it('counts a ternary -1 as an event, like +1', () => {
    const x = tf.tensor2d([1, -1, 0, 0, -1, 0, 1, 1, 0, -1], [2, 5]);
    const w = denseWeights(5, COUT, 4);
    const counter = new EnergyCounter();
    withRecorder(counter, () => toyLinear('tern', x, w, 'ternary', 1)).dispose();
    const [t] = counter.tallies();
    expect(t.events).toBe(6);
    expect(t.sops_one_operand).toBeCloseTo(bruteForcePairs(x, w), 9);
    tf.dispose([x, w]);
  });

  it('prices a real-valued input as MAC: ×T, or once for the first layer under `once`', () => {
    const x = tf.randomNormal([T, B, CIN], 0, 1, 'float32', 5);
    const w = denseWeights(CIN, COUT, 6);
    const counter = new EnergyCounter();
    withRecorder(counter, () => {
      tf.dispose([
        toyLinear('enc', x, w, 'real', T, { firstLayer: true }),
        toyLinear('mid', x, w, 'real', T),
      ]);
    });
    const flops = B * CIN * COUT;
    const once = estimateEnergy(counter.tallies(), { first_layer: 'once' });
    expect(once.layers.map((l) => [l.op_type, l.macs, l.acs])).toEqual([
      ['mac', flops, 0],
      ['mac', T * flops, 0],
    ]);
    expect(estimateEnergy(counter.tallies(), { first_layer: 'per-step' }).layers[0].macs).toBe(
      T * flops,
    );
    expect(once.first_layers).toEqual(['enc']);
    tf.dispose([x, w]);
  });

  it('counts an attention product with two spike operands under either convention', () => {
    const k = spikes([T, 6, 4], 0.2, 7);
    const v = spikes([T, 6, 4], 0.6, 8);
    const counter = new EnergyCounter();
    withRecorder(counter, () => toyKv('attn.kv', k, v)).dispose();
    const frK = nonzeroFraction(k);
    const frV = nonzeroFraction(v);
    const flops = 6 * 4 * 4;
    const one = estimateEnergy(counter.tallies(), { attention: 'one-operand' }).layers[0];
    const two = estimateEnergy(counter.tallies(), { attention: 'two-operand' }).layers[0];
    expect(one.firing_rate_other).toBeCloseTo(frV, 12);
    expect(one.acs).toBeCloseTo(T * Math.min(frK, frV) * flops, 9);
    expect(two.acs).toBeCloseTo(T * frK * frV * flops, 9);
    tf.dispose([k, v]);
  });

  it('records nothing when counting is off', () => {
    const x = spikes([T, B, CIN], 0.5, 9);
    const w = denseWeights(CIN, COUT, 10);
    const counter = new EnergyCounter();
    expect(activeRecorder()).toBeNull();
    toyLinear('l', x, w, 'spike', T).dispose();
    counter.count(B, () => expect(activeRecorder()).toBe(counter));
    expect(activeRecorder()).toBeNull();
    toyLinear('l', x, w, 'spike', T).dispose();
    expect(counter.tallies()).toEqual([]);
    tf.dispose([x, w]);
  });

  it('leaves the number of live tensors unchanged, inside or outside tidy', () => {
    const x = spikes([T, B, CIN], 0.5, 11);
    const k = spikes([T, 6, 4], 0.5, 12);
    const w = denseWeights(CIN, COUT, 13);
    const counter = new EnergyCounter();
    const before = tf.memory().numTensors;
    counter.count(B, () => tf.tidy(() => toyLinear('a', x, w, 'spike', T))).dispose();
    counter.count(B, () => toyLinear('a', x, w, 'spike', T)).dispose();
    counter.count(1, () => toyKv('kv', k, k)).dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(counter.tallies().map((t) => t.calls)).toEqual([2, 1]);
    tf.dispose([x, k, w]);
  });

  it('accumulates passes, averages per example, and forgets on reset', () => {
    const x = spikes([T, B, CIN], 0.4, 14);
    const w = denseWeights(CIN, COUT, 15);
    const counter = new EnergyCounter();
    counter.count(B, () => toyLinear('l', x, w, 'spike', T)).dispose();
    const one = counter.report();
    counter.count(B, () => toyLinear('l', x, w, 'spike', T)).dispose();
    const two = counter.report();
    expect(counter.tallies()[0].sops_one_operand).toBeCloseTo(2 * one.layers[0].acs * B, 9);
    expect(two.scope).toBe('per_example');
    expect(two.examples).toBe(2 * B);
    expect(two.layers[0].calls).toBe(2);
    expect(two.layers[0].acs).toBeCloseTo(one.layers[0].acs, 9);
    expect(two.layers[0].firing_rate).toBeCloseTo(one.layers[0].firing_rate, 12);
    counter.reset();
    expect(counter.tallies()).toEqual([]);
    expect(counter.examples).toBe(0);
    expect(counter.report().scope).toBe('total');
    tf.dispose([x, w]);
  });

  it('bit-packs spike traffic exactly 32× below FP32 (check 5(c)2)', () => {
    const x = spikes([T, B, CIN], 0.5, 16);
    const w = denseWeights(CIN, COUT, 17);
    const counter = new EnergyCounter();
    withRecorder(counter, () =>
      toyLinear('l', x, w, 'spike', T, { weightCount: CIN * COUT, weightBits: 1 }),
    ).dispose();
    const [l] = counter.report().layers;
    expect(l.input_bytes_dense / l.input_bytes_packed).toBe(32);
    expect(l.weight_bytes).toBe((CIN * COUT) / 8);
    tf.dispose([x, w]);
  });

  it('lists non-AC ops apart and leaves them out of the energy', () => {
    const x = spikes([T, B, CIN], 0.5, 18);
    const counter = new EnergyCounter();
    withRecorder(counter, () => {
      activeRecorder()?.record({
        layer: 'norm',
        kind: 'other',
        op: 'norm',
        input: x,
        timeSteps: T,
        flopsPerStep: 30,
        encoding: 'real',
      });
    });
    const r = counter.report();
    expect(r.layers).toEqual([]);
    expect(r.other_ops).toEqual([{ layer: 'norm', op: 'norm', calls: 1, ops: 120 }]);
    expect(r.totals.energy_pj).toBe(0);
    x.dispose();
  });

  it('rejects a layer name reused with another encoding, and bad time steps', () => {
    const x = spikes([T, B, CIN], 0.5, 19);
    const w = denseWeights(CIN, COUT, 20);
    const counter = new EnergyCounter();
    expect(() =>
      withRecorder(counter, () => {
        toyLinear('l', x, w, 'spike', T).dispose();
        toyLinear('l', x, w, 'ternary', T).dispose();
      }),
    ).toThrow(/layer 'l' was reported as linear\/spike and then as linear\/ternary/);
    expect(() => withRecorder(counter, () => toyLinear('m', x, w, 'spike', 3))).toThrow(
      /timeSteps 3/,
    );
    expect(() => withRecorder(counter, () => toyLinear('m', x, w, 'spike', 0))).toThrow(
      /timeSteps must be a positive integer/,
    );
    tf.dispose([x, w]);
  });
});
