// SpikingMLP: shapes and names, the residual (membrane shortcut) path, spikes into
// both weight layers, gradients to W1/W2 (and trainable thresholds), energy
// reports, config round trip, validation, and no leaks over training steps.
import { beforeAll, describe, expect, it } from 'vitest';
import { Module, SpikingMLP, SpikingNeuron } from '../../src/layers/index.js';
import type { SpikingMLPArgs } from '../../src/layers/index.js';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { withRecorder } from '../../src/energy/recorder.js';
import type { LayerWork } from '../../src/energy/recorder.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { expectClose, expectNoLeak, setupBackend, values } from '../helpers.js';
import { randArray } from './reference.js';

const [T, B, N, D] = [3, 2, 4, 5];
const H = 4 * D;

/** Input currents in [0, 4): enough to make the default LIF (tau 2, threshold 1) fire often. */
function input(seed = 1): Tensor {
  return tf.tensor4d(randArray(T * B * N * D, seed, 0, 4), [T, B, N, D]);
}

/** A parent module, so the MLP's layers get model paths (`layers.0.mlp.up`). */
class Parent extends Module {
  readonly mlp: SpikingMLP;
  constructor(args: SpikingMLPArgs) {
    super();
    this.mlp = this.addModule('layers.0.mlp', new SpikingMLP(args));
  }
  getConfig() {
    return {};
  }
}

describe('SpikingMLP', () => {
  beforeAll(setupBackend);

  it('maps [T, B, N, D] to [T, B, N, D] with hidden 4D and HF-style names', () => {
    const m = new SpikingMLP({ in_features: D });
    expect(m.hiddenFeatures).toBe(H);
    const names = m.namedParameters().map(([k, v]) => `${k}:${v.shape.join('x')}`);
    expect(names).toEqual([
      `up.weight:${H}x${D}`,
      `up.bias:${H}`,
      `up_bn.weight:${H}`,
      `up_bn.bias:${H}`,
      `up_bn.running_mean:${H}`,
      `up_bn.running_var:${H}`,
      `down.weight:${D}x${H}`,
      `down.bias:${D}`,
      `down_bn.weight:${D}`,
      `down_bn.bias:${D}`,
      `down_bn.running_mean:${D}`,
      `down_bn.running_var:${D}`,
    ]);
    const x = input();
    const y = tf.tidy(() => m.forward(x));
    expect(y.shape).toEqual([T, B, N, D]);
    tf.dispose([x, y]);
    m.dispose();
  });

  it('adds the branch to the real-valued input (membrane shortcut)', () => {
    const m = new SpikingMLP({ in_features: D, seed: 3 }).eval();
    const beta = randArray(D, 4);
    const s = {
      weight: tf.zeros([D]),
      bias: tf.tensor1d(beta),
      running_mean: tf.zeros([D]),
      running_var: tf.ones([D]),
    };
    m.downBn.loadState(s);
    tf.dispose(Object.values(s));
    const xs = randArray(T * B * N * D, 5, 0, 4);
    const x = tf.tensor4d(xs, [T, B, N, D]);
    // With the last BN's gain 0 the branch is its bias: y = x + beta exactly.
    const y = tf.tidy(() => m.forward(x));
    expectClose(
      values(y),
      xs.map((v, k) => Math.fround(v + beta[k % D])),
      0,
      0,
    );
    // In general y - x is BN(SN(BN(SN(x) W1)) W2), composed from the parts.
    const gain = tf.fill([D], 0.7);
    m.downBn.loadState({ ...Object.fromEntries(m.downBn.stateDict()), weight: gain });
    gain.dispose();
    const y2 = tf.tidy(() => m.forward(x));
    const branch = tf.tidy(() =>
      m.downBn.forward(
        m.down.forward(m.hiddenSn.forward(m.upBn.forward(m.up.forward(m.inSn.forward(x))))),
      ),
    );
    const diff = tf.tidy(() => tf.sub(y2, x));
    expectClose(values(diff), values(branch), 1e-5, 1e-5);
    expect(values(branch).some((v) => Math.abs(v) > 1e-3)).toBe(true);
    tf.dispose([x, y, y2, branch, diff]);
    m.dispose();
  });

  it('sends spikes to both weight layers and reports them with spike encoding', () => {
    const p = new Parent({ in_features: D, weight_precision: 'binary' });
    const x = input(6);
    const got: LayerWork[] = [];
    const rates: number[] = [];
    withRecorder(
      {
        record: (w) => {
          got.push({ ...w });
          const v = values(w.input);
          expect(v.every((s) => s === 0 || s === 1)).toBe(true);
          rates.push(v.reduce((a, b) => a + b, 0) / v.length);
        },
      },
      () => tf.tidy(() => void p.mlp.forward(x)),
    );
    expect(got.map((w) => w.layer)).toEqual(['layers.0.mlp.up', 'layers.0.mlp.down']);
    expect(got.map((w) => w.kind)).toEqual(['linear', 'linear']);
    expect(got.map((w) => w.encoding)).toEqual(['spike', 'spike']);
    expect(got.map((w) => w.timeSteps)).toEqual([T, T]);
    expect(got.map((w) => w.flopsPerStep)).toEqual([B * N * D * H, B * N * H * D]);
    expect(got.map((w) => w.input.shape)).toEqual([
      [T, B, N, D],
      [T, B, N, H],
    ]);
    expect(rates.every((r) => r > 0 && r < 1)).toBe(true); // real spikes, not all-or-nothing
    x.dispose();
    p.dispose();
  });

  for (const weight_precision of ['float', 'binary'] as const) {
    it(`passes gradients to W1 and W2 (${weight_precision} weights)`, () => {
      const m = new SpikingMLP({ in_features: D, weight_precision, seed: 7 });
      const x = input(8);
      const r = tf.tensor4d(randArray(T * B * N * D, 9), [T, B, N, D]);
      const vars = [m.up.weight, m.down.weight, m.upBn.weight as tf.Variable];
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(m.forward(x), r)) as tf.Scalar,
        vars,
      );
      for (const v of vars) {
        const g = values(grads[v.name]);
        expect(g.every(Number.isFinite)).toBe(true);
        expect(g.filter((e) => e !== 0).length).toBeGreaterThan(g.length / 4);
      }
      tf.dispose([x, r, value, ...Object.values(grads)]);
      m.dispose();
    });
  }

  it('owns trainable thresholds as parameters, and they get gradients', () => {
    const neuron = { neuron: 'lif', tau: 2, trainable_threshold: 'channel' };
    const m = new SpikingMLP({ in_features: D, hidden_features: 8, neuron });
    const names = m.namedParameters().map(([k]) => k);
    expect(names).toContain('in_sn.v_threshold');
    expect(names).toContain('hidden_sn.v_threshold');
    expect(m.hiddenSn.threshold?.shape).toEqual([8]);
    const x = input(10);
    const thr = m.hiddenSn.threshold as tf.Variable;
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.square(m.forward(x))) as tf.Scalar,
      [thr],
    );
    expect(values(grads[thr.name]).some((g) => g !== 0)).toBe(true);
    tf.dispose([x, value, ...Object.values(grads)]);
    m.dispose();
  });

  it('round-trips its config, reproducing the seeded init', () => {
    const a = new SpikingMLP({
      in_features: D,
      hidden_features: 7,
      weight_precision: 'ternary',
      seed: 11,
    });
    const cfg = a.getConfig();
    expect(cfg).toMatchObject({
      in_features: D,
      hidden_features: 7,
      bias: true,
      weight_precision: 'ternary',
      ste_clip: false,
      bn_eps: 1e-5,
      bn_momentum: 0.1,
      seed: 11,
    });
    expect(cfg.neuron).toMatchObject({
      neuron: 'lif',
      tau: 2,
      v_threshold: 1,
      v_reset: 0,
      detach_reset: true,
    });
    expect(cfg.neuron).not.toHaveProperty('time_steps');
    const b = new SpikingMLP(JSON.parse(JSON.stringify(cfg)) as SpikingMLPArgs);
    expect(b.getConfig()).toEqual(cfg);
    expect(values(b.down.weight)).toEqual(values(a.down.weight));
    expect(values(a.up.weight)).not.toEqual(values(a.down.weight).slice(0, 7 * D));
    a.dispose();
    b.dispose();
  });

  it('validates arguments and input shape', () => {
    expect(() => new SpikingMLP({ in_features: 0 })).toThrow(
      /in_features must be a positive integer/,
    );
    expect(() => new SpikingMLP({ in_features: 2, hidden_features: 0 })).toThrow(/hidden_features/);
    expect(() => new SpikingMLP({ in_features: 2, neuron: { neuron: 'asn' } })).toThrow(
      /runs IF\/LIF neurons/,
    );
    expect(
      () => new SpikingNeuron({ num_features: 2, neuron: { neuron: 'lif', time_steps: 4 } }),
    ).toThrow(ConfigError);
    expect(() => new SpikingMLP({ in_features: 2, neuron: { neuron: 'lif', tua: 2 } })).toThrow(
      /unknown key/,
    );
    const m = new SpikingMLP({ in_features: D });
    const bad = tf.zeros([T, B, N, D + 1]);
    expect(() => m.forward(bad)).toThrow(ShapeError);
    bad.dispose();
    m.dispose();
  });

  it('leaks no tensors over repeated training steps', async () => {
    const m = new SpikingMLP({ in_features: D, weight_precision: 'binary' });
    const x = input(12);
    const opt = tf.train.sgd(0.01);
    const step = () =>
      opt
        .minimize(() => tf.mean(tf.square(m.forward(x))) as tf.Scalar, true, m.trainableVariables())
        ?.dispose();
    step();
    await expectNoLeak(() => {
      for (let i = 0; i < 3; i++) step();
      m.eval();
      tf.tidy(() => void m.forward(x));
      m.train();
    });
    x.dispose();
    opt.dispose();
    m.dispose();
  });
});
