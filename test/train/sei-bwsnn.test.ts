// SEI-BWSNN (methods-language.md 4(f)): T = 1 equals a binary-activation network, the
// T-step SNN equals the average of T such passes with the recorded membrane residuals,
// effective weights are +-alpha with alpha the row mean |W|, zero binary weights leave
// the shortcut path, the KD loss is zero at the teacher, and BPTT + KD trains.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import {
  AdamW,
  SEI_BINARY_NO_DECAY,
  SEIBinarySNN,
  distillationLoss,
  valueAndGrads,
} from '../../src/train/index.js';
import type { SEIBinarySNNConfig } from '../../src/train/index.js';
import { expectClose, expectNoLeak, setupBackend, values } from '../helpers.js';

const cfg = (o: Partial<SEIBinarySNNConfig> = {}): SEIBinarySNNConfig => ({
  input_size: 10,
  hidden_size: 12,
  num_layers: 3,
  num_classes: 4,
  seed: 5,
  ...o,
});

/** Give BN non-trivial running statistics so eval mode is a real affine map. */
function warmNorms(net: SEIBinarySNN, x: Tensor): void {
  net.train();
  tf.tidy(() => {
    net.forward(x, 3);
  });
  net.eval();
}

const NEURONS: [string, Record<string, unknown> | undefined][] = [
  ['default LIF (lambda 0.5, hard reset)', undefined],
  ['IF with soft reset', { neuron: 'if', v_threshold: 0.7, v_reset: null }],
  ['LIF with decayed input (gain 1/tau)', { neuron: 'lif', tau: 2, v_threshold: 0.5 }],
];

describe('SEI-BWSNN', () => {
  beforeAll(setupBackend);

  it('at T = 1 the SNN is exactly the binary-activation network with the same weights', () => {
    const net = new SEIBinarySNN(cfg());
    const x = tf.randomNormal([6, 10], 0, 1.5, 'float32', 1);
    warmNorms(net, x);
    const out = net.forward(x, 1);
    const ban = net.binaryActivationPass(x);
    expectClose(values(out.logits), values(ban), 1e-5, 1e-5);
    tf.dispose([x, out.logits, out.stepLogits, ban]);
    net.dispose();
  });

  for (const [name, neuron] of NEURONS) {
    it(`the T-step SNN is the average of T BAN passes with recorded residuals (${name})`, () => {
      const net = new SEIBinarySNN(cfg({ neuron }));
      const x = tf.randomNormal([5, 10], 0, 1.5, 'float32', 2);
      warmNorms(net, x);
      const T = 4;
      const out = net.forward(x, T, { recordResiduals: true });
      const res = out.residuals as Tensor[];
      expect(res.length).toBe(3);
      expect(res.some((r) => values(r).some((v) => v !== 0))).toBe(true); // real "noise"
      const passes = Array.from({ length: T }, (_, t) =>
        net.binaryActivationPass(
          x,
          res.map((r) => tf.tidy(() => tf.squeeze(tf.slice(r, [t, 0, 0], [1, -1, -1]), [0]))),
        ),
      );
      const mean = tf.tidy(() => tf.mean(tf.stack(passes), 0));
      expectClose(values(mean), values(out.logits), 1e-5, 1e-5);
      // Members differ: the ensemble is not T copies of one network.
      expect(values(passes[0])).not.toEqual(values(passes[T - 1]));
      tf.dispose([x, out.logits, out.stepLogits, ...res, ...passes, mean]);
      net.dispose();
    });
  }

  it('every effective binary weight is +-alpha_o with alpha_o the row mean |W|', () => {
    const net = new SEIBinarySNN(cfg());
    for (const { linear } of net.blocks) {
      const w = linear.weight.arraySync() as number[][];
      const wb = tf.tidy(() => linear.effectiveWeight());
      const eff = wb.arraySync() as number[][];
      w.forEach((row, o) => {
        const alpha = row.reduce((s, v) => s + Math.abs(v), 0) / row.length;
        row.forEach((v, i) => expect(eff[o][i]).toBeCloseTo(v >= 0 ? alpha : -alpha, 6));
      });
      wb.dispose();
    }
    expect(net.input.precision).toBe('float');
    expect(net.head.precision).toBe('float');
    net.dispose();
  });

  it('with all alpha = 0 the network reduces to its shortcut path', () => {
    const net = new SEIBinarySNN(cfg());
    const x = tf.randomNormal([4, 10], 0, 1, 'float32', 3);
    net.eval();
    const y0 = net.forward(x, 3);
    for (const { linear } of net.blocks) linear.weight.assign(tf.zerosLike(linear.weight));
    const y = net.forward(x, 3);
    const shortcut = tf.tidy(() => net.head.forward(net.input.forward(x)));
    expectClose(values(y.logits), values(shortcut), 1e-6, 1e-6);
    expect(
      Math.max(...values(y0.logits).map((v, i) => Math.abs(v - values(shortcut)[i]))),
    ).toBeGreaterThan(1e-3);
    tf.dispose([x, y0.logits, y0.stepLogits, y.logits, y.stepLogits, shortcut]);
    net.dispose();
  });

  it('KD loss: zero at the teacher, the hand value otherwise, CE mixed in for beta < 1', () => {
    const z = tf.tensor2d([
      [1, 2],
      [0.5, -1],
    ]);
    const zero = distillationLoss(z, z);
    expect(Math.abs(values(zero)[0])).toBeLessThan(1e-6);
    const s = tf.tensor2d([[0, 0]]);
    const t = tf.tensor2d([[Math.log(3), 0]]); // p_t = (0.75, 0.25)
    const kl = 0.75 * Math.log(0.75 / 0.5) + 0.25 * Math.log(0.25 / 0.5);
    expect(values(distillationLoss(s, t))[0]).toBeCloseTo(kl, 6);
    // tau = 2: tau^2 KL(softmax(z_t/2) || softmax(z_s/2)); p_t = (sqrt3, 1)/(sqrt3 + 1).
    const a = Math.sqrt(3) / (Math.sqrt(3) + 1);
    const kl2 = a * Math.log(a / 0.5) + (1 - a) * Math.log((1 - a) / 0.5);
    expect(values(distillationLoss(s, t, { tau: 2 }))[0]).toBeCloseTo(4 * kl2, 6);
    const labels = tf.tensor1d([1], 'int32');
    const mixed = distillationLoss(s, t, { beta: 0.25, labels });
    expect(values(mixed)[0]).toBeCloseTo(0.25 * kl + 0.75 * Math.log(2), 6);
    expect(() => distillationLoss(s, t, { beta: 0.5 })).toThrow(
      /labels are required when beta < 1/,
    );
    expect(() => distillationLoss(s, z)).toThrow(/must both be \[B, classes\]/);
    tf.dispose([z, zero, s, t, labels, mixed]);
  });

  it('BPTT + KD trains the latent binary weights towards a teacher, without leaks', async () => {
    const net = new SEIBinarySNN(cfg({ num_layers: 2 }));
    const opt = new AdamW(net.namedParameters(), {
      lr: 0.01,
      weightDecay: 0.05,
      groups: [SEI_BINARY_NO_DECAY],
    });
    const x = tf.randomNormal([32, 10], 0, 1, 'float32', 4);
    const teacherW = tf.randomNormal([10, 4], 0, 1, 'float32', 5);
    const teacher = tf.matMul(x, teacherW); // a fixed full-precision "teacher"
    const losses: number[] = [];
    let gradOfBinary = 0;
    await expectNoLeak(() => {
      for (let step = 0; step < 30; step++) {
        const { loss, grads } = valueAndGrads(
          () => distillationLoss(net.forward(x, 2).logits, teacher),
          net.namedParameters(),
        );
        losses.push(values(loss)[0]);
        if (step === 0)
          gradOfBinary = Math.hypot(...values(grads.get('blocks.0.linear.weight') as Tensor));
        opt.step(grads);
        tf.dispose([loss, ...grads.values()]);
      }
    });
    expect(gradOfBinary).toBeGreaterThan(0);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.7);
    opt.dispose();
    tf.dispose([x, teacherW, teacher]);
    net.dispose();
  });

  it('rejects neurons without a membrane and bad configs', () => {
    expect(() => new SEIBinarySNN(cfg({ neuron: { neuron: 'asn' } }))).toThrow(
      /runs IF\/LIF neurons .* got neuron "asn"/,
    );
    expect(() => new SEIBinarySNN(cfg({ weight_precision: 'ternary' as never }))).toThrow(
      /weight_precision must be binary or float/,
    );
    const net = new SEIBinarySNN(cfg());
    const x = tf.zeros([2, 9]);
    expect(() => net.forward(x, 2)).toThrow(/input must be \[B, 10\], got shape \[2, 9\]/);
    x.dispose();
    net.dispose();
  });
});
