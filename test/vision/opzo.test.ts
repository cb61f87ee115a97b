import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { SpikingVisionNet } from '../../models/vision/index.js';
import { Opzo, feedbackUpdate, onlineGradients } from '../../src/train/index.js';
import type { FcStepNet, StepOptions, StepState } from '../../src/train/index.js';
import { rng, setupBackend, values } from '../helpers.js';

beforeAll(async () => {
  await setupBackend();
});

const cos = (a: number[], b: number[]) => {
  let [ab, aa, bb] = [0, 0, 0];
  a.forEach((v, i) => ((ab += v * b[i]), (aa += v * v), (bb += b[i] * b[i])));
  return ab / Math.sqrt(aa * bb);
};

describe('OPZO (methods-vision 5(f))', () => {
  it('the momentum feedback converges to the true readout weights (linear oracle, dual noise)', () => {
    const r = rng(11);
    const [n, m, B, alpha] = [100, 10, 32, 0.1];
    const A = tf.tensor2d(
      Array.from({ length: m * n }, () => r() * 2 - 1),
      [m, n],
    );
    let M: Tensor = tf.zeros([n, m]);
    let h: Tensor | null = null;
    let z: Tensor | null = null;
    for (let it = 0; it < 1500; it++) {
      // Dual noise: every other update reuses the samples with -z.
      if (it % 2 === 0) {
        tf.dispose([h as Tensor, z as Tensor].filter(Boolean));
        h = tf.tidy(() =>
          tf.cast(tf.less(tf.randomUniform([B, n], 0, 1, 'float32', it), 0.2), 'float32'),
        );
        z = tf.randomNormal([B, n], 0, 1, 'float32', 7 * it + 1);
      }
      const zz = it % 2 === 0 ? (z as Tensor) : tf.neg(z as Tensor);
      const out = tf.tidy(() => tf.matMul(tf.add(h as Tensor, tf.mul(zz, alpha)), A, false, true)); // [B, m]
      const next = feedbackUpdate(M, zz, out, alpha, 0.99);
      tf.dispose([M, out, ...(zz === z ? [] : [zz])]);
      M = next;
    }
    tf.dispose([h as Tensor, z as Tensor]);
    const c = cos(values(M), values(tf.transpose(A)));
    expect(c).toBeGreaterThan(0.95);
    tf.dispose([A, M]);
  });

  it('one hidden layer: after warm-up the OPZO direction aligns with the exact (OTTT) gradient; one forward per step, no tape', () => {
    const net = new SpikingVisionNet({
      input_shape: [4, 4, 1],
      num_classes: 4,
      hidden: [20],
      time_steps: 4,
      seed: 5,
      neuron: { neuron: 'lif', decay: 0.5, v_threshold: 0.5, v_reset: null, detach_reset: true },
    });
    // Count forwards and check that no gradient tape is open during them.
    let calls = 0;
    let taped = false;
    const spy: FcStepNet = Object.create(net, {
      step: {
        value: (x: Tensor, s: StepState, o?: StepOptions) => {
          calls++;
          taped ||=
            (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth >
            0;
          return net.step(x, s, o);
        },
      },
    }) as FcStepNet;
    const opzo = new Opzo(spy, { noise: 0.1, momentum: 0.99, seed: 1 });
    const r = rng(2);
    const x = tf.tensor2d(
      Array.from({ length: 16 * 16 }, () => 3 * r() - 0.5),
      [16, 16],
    );
    const y = tf.tensor1d(
      Array.from({ length: 16 }, (_, i) => i % 4),
      'int32',
    );
    for (let i = 0; i < 150; i++) {
      const g = opzo.gradients(x, y);
      tf.dispose([...g.grads.values(), g.logitsSum]);
    }
    expect(calls).toBe(150 * 4);
    expect(taped).toBe(false);
    const g = opzo.gradients(x, y);
    const exact = onlineGradients(net, x, y, { rule: 'ottt-a' });
    const w = 'blocks.0.fc.weight';
    expect(cos(values(g.grads.get(w)!), values(exact.grads.get(w)!))).toBeGreaterThan(0.9);
    expect(
      cos(values(g.grads.get('readout.weight')!), values(exact.grads.get('readout.weight')!)),
    ).toBeGreaterThan(0.99);
    tf.dispose([
      x,
      y,
      g.logitsSum,
      exact.result.logitsSum,
      ...g.grads.values(),
      ...exact.grads.values(),
    ]);
    opzo.dispose();
    net.dispose();
  });
});
