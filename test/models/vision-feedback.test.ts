// The IDE/SPIDE feedback SNN: config validation, the spiking loop against a plain-JS
// reference (feedback timing, resets, LIF weighting), the spectral-norm feedback, the
// hand-written J^T v against autodiff, BN statistics, and tensor hygiene.
import { beforeAll, describe, expect, it } from 'vitest';
import { FeedbackSNN, ideF400Config, parseFeedbackConfig } from '../../models/vision/feedback.js';
import type { FeedbackSNNConfig } from '../../models/vision/feedback.js';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { autodiffLinearization } from '../../src/train/index.js';
import { expectClose, expectNoLeak, setupBackend, values } from '../helpers.js';
import {
  affine,
  randn,
  refEquilibrium,
  refNeuron,
  refSimulate,
  refWeights,
  sigmaMax,
} from '../train/ide-reference.js';

const small = (o: Partial<FeedbackSNNConfig> = {}): FeedbackSNNConfig => ({
  input_size: 6,
  hidden_sizes: [5, 4],
  num_classes: 3,
  v_threshold: 1,
  seed: 3,
  ...o,
});

describe('FeedbackSNN', () => {
  beforeAll(setupBackend);

  it('rejects bad configs with the field named', () => {
    expect(() => parseFeedbackConfig(small({ neuron: 'asn' }))).toThrow(
      /neuron must be one of if, lif, got "asn"/,
    );
    expect(() => parseFeedbackConfig(small({ hidden_sizes: [] }))).toThrow(ConfigError);
    expect(() => parseFeedbackConfig(small({ hidden_sizes: [4, 0] }))).toThrow(/hidden_sizes\[1\]/);
    expect(() => parseFeedbackConfig(small({ reset: 'hard' }))).toThrow(/reset must be one of/);
    expect(() => parseFeedbackConfig(small({ leak: 1.5 }))).toThrow(/leak must be in \(0, 1\]/);
    expect(() => parseFeedbackConfig(small({ u_rest: 2 }))).toThrow(/u_rest must be < v_threshold/);
    expect(() => parseFeedbackConfig(small({ feedback_norm: 'frob' }))).toThrow(/feedback_norm/);
  });

  it('has the documented parameters and the F400 preset sizes', () => {
    const net = new FeedbackSNN(small());
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'feedback_scale',
      'feedback_u',
      'feedback_v',
      'input.weight',
      'input.bias',
      'layers.0.weight',
      'layers.0.bias',
      'feedback.weight',
      'readout.weight',
      'readout.bias',
    ]);
    net.dispose();
    const f400 = new FeedbackSNN(ideF400Config());
    const count = f400
      .namedParameters()
      .filter(([, v]) => v.trainable)
      .reduce((s, [, v]) => s + v.size, 0);
    // 784*400 + 400 (input) + 2*400 (BN) + 400*400 (feedback) + 1 (scale) + 400*10 + 10 (readout)
    expect(count).toBe(784 * 400 + 400 + 800 + 400 * 400 + 1 + 4010);
    f400.dispose();
  });

  for (const neuron of ['if', 'lif'] as const) {
    for (const reset of ['subtract', 'modified'] as const) {
      it(`simulates the loop like the reference (${neuron}, ${reset} reset)`, () => {
        const net = new FeedbackSNN(small({ neuron, reset, leak: 0.9, seed: 11 }));
        const x = randn(3, 6, 5, 2);
        const xt = tf.tensor2d(x);
        const cur = tf.tidy(() => net.inputCurrent(xt));
        const rates = net.simulate(cur, 13);
        const w = refWeights(net);
        const ref = refSimulate(
          w,
          cur.arraySync() as number[][],
          net.layerSizes,
          13,
          refNeuron(net),
        );
        rates.forEach((r, l) => {
          expect(r.shape).toEqual([3, net.layerSizes[l]]);
          expectClose(values(r), ref.rates[l].flat(), 1e-5, 0);
        });
        // Not trivially silent or saturated.
        const all = rates.flatMap((r) => values(r));
        expect(all.some((v) => v > 0 && v < 1)).toBe(true);
        tf.dispose([xt, cur, ...rates]);
        net.dispose();
      });
    }
  }

  it('spectral norm: the effective feedback has sigma_max = clamp(g, -1, 1)', () => {
    const net = new FeedbackSNN(small({ hidden_sizes: [7] }));
    const sig = (): number => {
      const w = tf.tidy(() => net.effectiveFeedback());
      const s = sigmaMax(w.arraySync() as number[][]);
      w.dispose();
      return s;
    };
    expect(sig()).toBeCloseTo(1, 3);
    (net.feedbackScale as tf.Variable).assign(tf.scalar(-0.4));
    expect(sig()).toBeCloseTo(0.4, 3);
    (net.feedbackScale as tf.Variable).assign(tf.scalar(3));
    expect(sig()).toBeCloseTo(1, 3);
    net.dispose();
  });

  it('feedback_norm none uses the raw feedback weight', () => {
    const net = new FeedbackSNN(small({ feedback_norm: 'none' }));
    const w = tf.tidy(() => net.effectiveFeedback());
    expect(values(w)).toEqual(values(net.feedback.weight));
    expect(net.feedbackScale).toBeNull();
    w.dispose();
    net.dispose();
  });

  it('equilibrium map matches the reference and the hand-written J^T v matches autodiff', () => {
    const net = new FeedbackSNN(small({ v_threshold: 0.5, seed: 5 }));
    const x = tf.tensor2d(randn(4, 6, 8));
    const cur = tf.tidy(() => net.inputCurrent(x));
    const rates = net.layerSizes.map((n, l) => tf.randomUniform([4, n], 0, 1, 'float32', 20 + l));
    const f = tf.tidy(() => net.equilibrium(cur, rates));
    const ref = refEquilibrium(
      refWeights(net),
      cur.arraySync() as number[][],
      rates.map((r) => r.arraySync() as number[][]),
    );
    f.forEach((fl, l) => expectClose(values(fl), ref[l].flat(), 1e-5, 1e-5));
    const masks = f.flatMap((fl) => values(fl));
    expect(masks.some((v) => v === 0)).toBe(true); // some clamped (mask 0) entries are covered
    expect(masks.some((v) => v > 0 && v < 1)).toBe(true);
    const v = net.layerSizes.map((n, l) => tf.randomNormal([4, n], 0, 1, 'float32', 40 + l));
    const hand = net.linearize(cur, rates);
    const auto = autodiffLinearization(net, cur, rates);
    const a = hand.vjp(v);
    const b = auto.vjp(v);
    a.forEach((t, l) => expectClose(values(t), values(b[l]), 1e-5, 1e-4));
    hand.dispose();
    auto.dispose();
    tf.dispose([x, cur, ...rates, ...f, ...v, ...a, ...b]);
    net.dispose();
  });

  it('inputCurrent keeps the BN running statistics when updateStats is false', () => {
    const net = new FeedbackSNN(small({ input_norm: true }));
    const bn = net.inputNorm;
    if (!bn) throw new Error('expected a BN');
    const x = tf.tensor2d(randn(5, 6, 9));
    const before = values(bn.runningMean);
    tf.tidy(() => net.inputCurrent(x, false));
    expect(values(bn.runningMean)).toEqual(before);
    tf.tidy(() => net.inputCurrent(x, true));
    expect(values(bn.runningMean)).not.toEqual(before);
    // The normalised current itself is the same either way.
    const a = tf.tidy(() => net.inputCurrent(x, false));
    const b = tf.tidy(() => net.inputCurrent(x, true));
    expectClose(values(a), values(b), 1e-6, 1e-6);
    tf.dispose([x, a, b]);
    net.dispose();
  });

  it('rejects a wrongly shaped input and wrong rate lists', () => {
    const net = new FeedbackSNN(small());
    const x = tf.zeros([2, 5]);
    expect(() => net.inputCurrent(x)).toThrow(/input must be \[B, 6\], got shape \[2, 5\]/);
    const cur = tf.zeros([2, 5]);
    expect(() => net.equilibrium(cur, [tf.zeros([2, 5])])).toThrow(ShapeError);
    tf.dispose([x, cur]);
    net.dispose();
  });

  it('forward (simulate + readout) leaks no tensors and matches the readout of the reference rates', async () => {
    const net = new FeedbackSNN(small({ seed: 2 }));
    const x = tf.tensor2d(randn(2, 6, 1, 2));
    let logits: Tensor | null = null;
    await expectNoLeak(() => {
      logits = net.forward(x, 9);
      const cur = tf.tidy(() => net.inputCurrent(x, false));
      const w = refWeights(net);
      const ref = refSimulate(w, cur.arraySync() as number[][], net.layerSizes, 9, refNeuron(net));
      const expected = affine(ref.rates[1], w.R, w.Rb);
      expectClose(values(logits), expected.flat(), 1e-5, 1e-5);
      tf.dispose([cur, logits]);
    });
    x.dispose();
    net.dispose();
  });

  it('the step-driven interface reproduces simulate: summed logits = T readout(rates) for IF', () => {
    const net = new FeedbackSNN(small({ time_steps: 11, seed: 6 }));
    net.eval();
    const x = tf.tensor2d(randn(3, 6, 4, 2));
    const T = net.timeSteps;
    const out = tf.tidy(() => {
      let state = net.initState(3);
      let sum = tf.zeros([3, 3]);
      const counts = net.layerSizes.map((n) => tf.zeros([3, n]));
      for (let t = 0; t < T; t++) {
        const r = net.step(x, state);
        sum = tf.add(sum, r.logits);
        r.layers.forEach((rec, l) => (counts[l] = tf.add(counts[l], rec.spikes)));
        state = r.state;
      }
      return [sum, ...counts.map((c) => tf.div(c, T))];
    });
    const cur = tf.tidy(() => net.inputCurrent(x));
    const rates = net.simulate(cur, T);
    rates.forEach((r, l) => expectClose(values(out[l + 1]), values(r), 1e-6, 0));
    const ro = tf.tidy(() => tf.mul(net.readoutLogits(rates), T));
    expectClose(values(out[0]), values(ro), 1e-4, 1e-5);
    expect(net.layerNames()).toEqual(['loop.0', 'loop.1']);
    expect(net.getConfig().model_type).toBe('feedback-snn');
    const st = net.initState(3);
    expect(() => net.step(x, st, { traces: true })).toThrow(/trains by IDE\/SPIDE/);
    tf.dispose([x, cur, ro, ...out, ...rates, ...st.neurons.flatMap((n) => Object.values(n))]);
    net.dispose();
  });

  it('rejects a config.json of another model_type', () => {
    expect(() => parseFeedbackConfig({ ...small(), model_type: 'spiking-vision' })).toThrow(
      /model_type must be "feedback-snn", got "spiking-vision"/,
    );
    expect(() => parseFeedbackConfig(small({ time_steps: 0 }))).toThrow(/time_steps/);
  });
});
