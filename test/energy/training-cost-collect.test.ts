// Measuring f_in and g_out during a real training step (src/energy/training-collect.ts):
// a Linear → IF → Linear → IF → Linear stack from src/layers, trained one step under the
// collector; the rates must equal those computed directly from the spikes and from an
// independent plain-JS simulation of the IF membranes.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { Linear, Module, SpikingNeuron } from '../../src/layers/index.js';
import { valueAndGrads } from '../../src/train/index.js';
import { surrogate } from '../../src/neurons/index.js';
import {
  EnergyCounter,
  formatTrainingCost,
  surrogateActive,
  TrainingCostCollector,
  trainingCostReport,
} from '../../src/energy/index.js';
import { expectNoLeak, setupBackend } from '../helpers.js';

const T = 4;
const B = 5;

class Stack extends Module {
  readonly l0: Linear;
  readonly n0: SpikingNeuron;
  readonly l1: Linear;
  readonly n1: SpikingNeuron;
  readonly l2: Linear;
  /** What the last forward saw (kept by the test). */
  seen: { current0?: Tensor; spikes0?: Tensor; spikes1?: Tensor } = {};

  constructor(fused: boolean | 'auto') {
    super();
    const neuron = { neuron: 'if', v_threshold: 1, v_reset: 0, surrogate: 'rectangular', fused };
    this.l0 = this.addModule('l0', new Linear({ in_features: 3, out_features: 8, seed: 1 }));
    this.n0 = this.addModule('n0', new SpikingNeuron({ num_features: 8, neuron }));
    const spike = { input_encoding: 'spike' as const };
    this.l1 = this.addModule(
      'l1',
      new Linear({ in_features: 8, out_features: 6, seed: 2, ...spike }),
    );
    this.n1 = this.addModule('n1', new SpikingNeuron({ num_features: 6, neuron }));
    this.l2 = this.addModule(
      'l2',
      new Linear({ in_features: 6, out_features: 2, seed: 3, ...spike }),
    );
  }

  getConfig(): object {
    return {};
  }

  /** x: [T, B, 3] -> [T, B, 2]; keeps copies of the tensors the test checks. */
  forward(x: Tensor): Tensor {
    const c0 = this.l0.forward(x, { firstLayer: true }); // [T, B, 8]
    const s0 = this.n0.forward(c0); // [T, B, 8]
    const s1 = this.n1.forward(this.l1.forward(s0)); // [T, B, 6]
    this.seen = {
      current0: tf.keep(tf.clone(c0)),
      spikes0: tf.keep(tf.clone(s0)),
      spikes1: tf.keep(tf.clone(s1)),
    };
    return this.l2.forward(s1); // [T, B, 2]
  }

  disposeSeen(): void {
    for (const t of Object.values(this.seen)) t?.dispose();
    this.seen = {};
  }
}

/** One training step (loss and gradients of every parameter) under the collector. */
function trainStep(net: Stack, x: Tensor, collector: TrainingCostCollector): void {
  collector.count(() => {
    const { loss, grads } = valueAndGrads(
      () => tf.tidy(() => tf.mean(tf.square(net.forward(x)))),
      net.namedParameters(),
    );
    loss.dispose();
    for (const g of grads.values()) g.dispose();
  });
}

function rate(s: Tensor): number {
  const v = Array.from(s.dataSync());
  return v.filter((b) => b !== 0).length / v.length;
}

/** Plain-JS IF (hard reset to 0, threshold 1): fraction of |H − 1| <= 1/2 (rectangular, a = 1). */
function ifSurrogateFraction(current: Tensor): number {
  const [steps, ...rest] = current.shape;
  const n = rest.reduce((a, b) => a * b, 1);
  const x = current.dataSync();
  const v = new Float32Array(n);
  let active = 0;
  for (let t = 0; t < steps; t++) {
    for (let i = 0; i < n; i++) {
      const h = Math.fround(v[i] + x[t * n + i]);
      const u = Math.fround(h - 1);
      if (Math.abs(u) <= 0.5) active++;
      v[i] = u >= 0 ? 0 : h;
    }
  }
  return active / (steps * n);
}

function input(scale: number): Tensor {
  return tf.mul(tf.randomUniform([T, B, 3], -1, 1, 'float32', 7), scale);
}

describe('TrainingCostCollector on a real training step', () => {
  beforeAll(async () => {
    await setupBackend();
  });

  it.each([['auto'], [false]] as const)(
    'fused %s: f_in and g_out equal the direct measurements',
    (fused) => {
      const net = new Stack(fused);
      const x = input(3);
      const c = new TrainingCostCollector();
      trainStep(net, x, c);
      const [l0, l1, l2] = c.layers();
      const { current0, spikes0, spikes1 } = net.seen as Required<Stack['seen']>;
      expect(c.layers().map((l) => l.layer)).toEqual(['l0', 'l1', 'l2']);
      // Linear reports a real input once over all T·B rows (its default for non-spike input).
      expect(l0).toMatchObject({
        in_features: 3,
        out_features: 8,
        rows: T * B,
        time_steps: 1,
        input_encoding: 'real',
        f_in: 1,
      });
      expect(l1).toMatchObject({ rows: B, time_steps: T });
      expect(l0.needs_input_grad).toBe(false);
      expect(l1.f_in).toBe(rate(spikes0));
      expect(l2.f_in).toBe(rate(spikes1));
      expect(l1.f_in).toBeGreaterThan(0);
      expect(l0.g_out).toBe(ifSurrogateFraction(current0));
      expect(l0.g_out).toBeGreaterThan(0);
      expect(l0.g_out).toBeLessThan(1);
      expect(l0.surrogate).toBe('rectangular');
      expect(l1.g_in).toBe(l0.g_out);
      expect(l2.g_in).toBe(l1.g_out);
      expect(l2).toMatchObject({ neuron: false, g_out: 1, needs_input_grad: true });
      expect(c.timeSteps()).toBe(T);
      net.disposeSeen();
      net.dispose();
      x.dispose();
    },
  );

  it('the fused kernel and the op-by-op path report the same rates', () => {
    const x = input(3);
    const got = ([true, false] as const).map((fused) => {
      const net = new Stack(fused);
      const c = new TrainingCostCollector();
      trainStep(net, x, c);
      net.disposeSeen();
      net.dispose();
      return c.layers();
    });
    expect(got[0]).toEqual(got[1]);
    x.dispose();
  });

  it('an all-zero input: the spike layers see f_in = 0, so their FP and WG cost nothing', () => {
    const net = new Stack('auto');
    const x = tf.zeros([T, B, 3]);
    const c = new TrainingCostCollector();
    trainStep(net, x, c);
    const r = trainingCostReport(c, { rule: 'bptt' });
    const l1 = r.layers[1];
    expect(l1.f_in).toBe(0);
    const sparse = (engine: string) =>
      l1.ops.filter((o) => o.engine === engine).reduce((s, o) => s + o.sparse, 0);
    expect(sparse('fp')).toBe(0);
    expect(sparse('wg')).toBe(0);
    expect(sparse('bp')).toBe(l1.g_out * T * B * 8 * 6);
    net.disposeSeen();
    net.dispose();
    x.dispose();
  });

  it('gives a JSON-able per-iteration report over several steps, and leaks no tensors', async () => {
    const net = new Stack('auto');
    const x = input(3);
    const c = new TrainingCostCollector();
    await expectNoLeak(() => {
      trainStep(net, x, c);
      net.disposeSeen();
    });
    trainStep(net, x, c);
    net.disposeSeen();
    expect(c.iterations).toBe(2);
    const r = trainingCostReport(c, { rule: 'sltt-k', k: 2, model: 'stack', step: 2 });
    expect(r.time_steps).toBe(T);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(r.layers.map((l) => l.layer)).toEqual(['l0', 'l1', 'l2']);
    expect(formatTrainingCost(r)).toContain('stack, step 2');
    const over = trainingCostReport(c, { rule: 'bptt', overrides: { l1: { g_out: 1 } } });
    expect(over.layers[1].g_out).toBe(1);
    const ex = trainingCostReport(c, { rule: 'bptt', exclude: ['l2'] });
    expect(ex.layers.map((l) => l.layer)).toEqual(['l0', 'l1']);
    expect(ex.unmodelled).toEqual([{ layer: 'l2', kind: 'linear', dense_ops: T * B * 6 * 2 }]);
    expect(() => trainingCostReport(c, { rule: 'bptt', overrides: { nope: {} } })).toThrow(
      /overrides: unknown layer 'nope'/,
    );
    net.dispose();
    x.dispose();
  });

  it('a recorder without recordNeuron (the inference counter) is unaffected by neuron reports', () => {
    const net = new Stack('auto');
    const x = input(3);
    const counter = new EnergyCounter();
    tf.tidy(() => counter.count(B, () => net.forward(x)));
    expect(counter.tallies().map((t) => t.layer)).toEqual(['l0', 'l1', 'l2']);
    net.disposeSeen();
    net.dispose();
    x.dispose();
  });

  it('surrogateActive: per-channel tensor thresholds and flat fused arrays, by hand', () => {
    const sg = surrogate('triangle', 1); // ψ(x) = max(0, 1 − |x|): non-zero for |x| < 1
    const charge = tf.tensor2d([
      [1.5, 2.9, 0.5],
      [0, 1, 2],
    ]);
    const threshold = tf.tensor1d([1, 2, 0.5]);
    // x = H − θ: [0.5, 0.9, 0] all active; [−1, −1, 1.5] none.
    const a = surrogateActive({ charge, threshold, surrogate: sg, timeSteps: 1 });
    expect(a).toEqual({ active: 3, total: 6, surrogate: 'triangle' });
    const flat = Float32Array.from([1.5, 2.9, 0.5, 0, 1, 2]);
    // x = H − 1: 0.5, 1.9, −0.5, −1, 0, 1 -> active at 0.5, −0.5, 0.
    expect(
      surrogateActive({ charge: flat, threshold: 1, surrogate: sg, timeSteps: 2 }).active,
    ).toBe(3);
    charge.dispose();
    threshold.dispose();
  });

  it('asks for time_steps when nothing was counted', () => {
    expect(() => trainingCostReport(new TrainingCostCollector(), { rule: 'bptt' })).toThrow(
      /cannot tell time_steps/,
    );
  });
});
