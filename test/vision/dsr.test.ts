import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { parseNeuronConfig } from '../../src/neurons/index.js';
import { SpikingVisionNet, StepNeuron } from '../../models/vision/index.js';
import { dsrGradients, dsrRate } from '../../src/train/index.js';
import { expectClose, rng, setupBackend, values } from '../helpers.js';

beforeAll(async () => {
  await setupBackend();
});

const IF_DSR = { neuron: 'if', v_threshold: 1, v_reset: null, trainable_threshold: true };

function ifRate(c: number, alpha: number, T: number): number {
  const spec = parseNeuronConfig({ ...IF_DSR, time_steps: T });
  const n = new StepNeuron(spec, 1, { alpha, dt: null });
  const r = tf.tidy(() => {
    let st = n.init([1, 1]);
    let sum: Tensor = tf.zeros([1, 1]);
    const x = tf.fill([1, 1], c);
    for (let t = 0; t < T; t++) {
      const s = n.step(x, st, false);
      sum = tf.add(sum, s.out);
      st = s.state;
    }
    return tf.div(sum, T);
  });
  const v = values(r)[0];
  r.dispose();
  n.dispose();
  return v;
}

describe('DSR (methods-vision 2(f))', () => {
  it('IF rate with the α = 0.5 firing offset is within 0.5/T of clamp(c, 0, 1); α = 1 floors (error up to 1/T)', () => {
    const T = 8;
    let worstFloor = 0;
    for (const c of [-0.3, 0.05, 0.18, 0.33, 0.5, 0.71, 0.93, 1.4]) {
      const target = Math.min(1, Math.max(0, c));
      expect(Math.abs(ifRate(c, 0.5, T) - target)).toBeLessThanOrEqual(0.5 / T + 1e-6);
      const e = Math.abs(ifRate(c, 1, T) - target);
      expect(e).toBeLessThanOrEqual(1 / T + 1e-6);
      worstFloor = Math.max(worstFloor, e);
    }
    expect(worstFloor).toBeGreaterThan(0.5 / T);
  });

  it('∇W of a one-layer IF net equals the ANN gradient of clamp(x̄Wᵀ+b, 0, V_th) at the measured rates', () => {
    const net = new SpikingVisionNet({
      input_shape: [3, 3, 1],
      num_classes: 3,
      hidden: [6],
      time_steps: 10,
      seed: 2,
      neuron: IF_DSR,
      dsr: { alpha: 0.5, dt: null },
    });
    const r = rng(7);
    const x = tf.tensor2d(
      Array.from({ length: 4 * 9 }, () => 20 * r() - 5),
      [4, 9],
    );
    const y = tf.tensor1d([0, 1, 2, 0], 'int32');
    const { grads, result } = dsrGradients(net, x, y);
    // Reference by hand: measured hidden rate from the spiking forward (readout input mean).
    const ref = tf.tidy(() => {
      let st = net.initState(4);
      let rate: Tensor = tf.zeros([4, 6]);
      for (let t = 0; t < 10; t++) {
        const o = net.step(x, st);
        rate = tf.add(rate, tf.div(o.readoutInput, 10));
        st = o.state;
      }
      const wo = net.readout.weight;
      const logits = tf.add(tf.matMul(rate, wo, false, true), net.readout.bias as Tensor);
      const e = tf.div(tf.sub(tf.softmax(logits), tf.oneHot(y, 3)), 4); // dCE/do, mean over B
      const gr = tf.matMul(e, wo); // [B, 6]
      const fc = net.blocks[0].fc;
      const ibar = tf.add(tf.matMul(x, fc!.weight, false, true), fc!.bias as Tensor); // [B, 6]
      const mask = tf.cast(
        tf.logicalAnd(tf.greaterEqual(ibar, 0), tf.lessEqual(ibar, 1)),
        'float32',
      );
      const gi = tf.mul(gr, mask);
      const above = tf.cast(tf.greater(ibar, 1), 'float32');
      return [
        tf.matMul(gi, x, true, false),
        tf.sum(gi, 0),
        tf.sum(tf.mul(gr, above)),
        tf.matMul(e, rate, true, false),
      ];
    });
    expectClose(values(grads.get('blocks.0.fc.weight')!), values(ref[0]), 1e-6, 1e-4);
    expectClose(values(grads.get('blocks.0.fc.bias')!), values(ref[1]), 1e-6, 1e-4);
    expectClose(values(grads.get('blocks.0.neuron.v_threshold')!), values(ref[2]), 1e-6, 1e-4);
    expectClose(values(grads.get('readout.weight')!), values(ref[3]), 1e-6, 1e-4);
    expect(Math.abs(values(ref[2])[0])).toBeGreaterThan(0);
    tf.dispose([x, y, result.logitsSum, ...grads.values(), ...ref]);
    net.dispose();
  });

  it('the threshold gradient is zero when no neuron saturates and count-weighted otherwise', () => {
    const cur = tf.tensor2d([0.2, 0.5, 0.9, 0.1], [2, 2]);
    const big = tf.tensor2d([0.2, 1.5, 2.9, 0.1], [2, 2]);
    const rate = tf.zeros([2, 2]);
    const thr = tf.scalar(1);
    const up = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    for (const [c, expected] of [
      [cur, 0],
      [big, 2 + 3],
    ] as const) {
      const [gi, gt] = tf.grads((a: Tensor, t: Tensor) =>
        tf.sum(tf.mul(dsrRate(a, rate, t, { dt: null, tau: 1 }), up)),
      )([c, thr]);
      expect(values(gt)[0]).toBeCloseTo(expected, 5);
      const inside = values(c).map((v) => (v >= 0 && v <= 1 ? 1 : 0));
      expect(values(gi)).toEqual(values(up).map((u, i) => u * inside[i]));
      tf.dispose([gi, gt]);
    }
    // LIF: slope 1/τ inside [0, V_th τ/Δt], threshold gradient scaled by Δt.
    const [gi, gt] = tf.grads((a: Tensor, t: Tensor) =>
      tf.sum(tf.mul(dsrRate(a, rate, t, { dt: 1, tau: 2 }), up)),
    )([big, thr]);
    expect(values(gi)).toEqual([0.5, 1, 0, 2]); // ceiling V_th τ/Δt = 2 < 2.9
    expect(values(gt)[0]).toBeCloseTo(3 * 1, 6); // Δt · (upstream of the saturated one)
    tf.dispose([cur, big, rate, thr, up, gi, gt]);
  });
});
