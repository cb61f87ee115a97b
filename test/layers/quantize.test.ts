// Binary and ternary weights: the exact value sets, and the straight-through
// gradient to the latent weight (the float layer's gradient at the quantised
// weight, masked by |W| <= 1 when clipping is on).
import { beforeAll, describe, expect, it } from 'vitest';
import { Linear } from '../../src/layers/index.js';
import type { WeightPrecision } from '../../src/layers/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { expectClose, setupBackend, values } from '../helpers.js';
import { randArray } from './reference.js';

const [O, I] = [4, 6];

/** Latent weights with exact zeros and entries beyond |W| = 1 (so the clip matters). */
function latent(seed: number): number[] {
  const w = randArray(O * I, seed, -1.6, 1.6);
  w[0] = 0;
  w[I + 3] = 0;
  return w;
}

function layer(precision: WeightPrecision, w: number[], steClip?: boolean): Linear {
  const l = new Linear({
    in_features: I,
    out_features: O,
    weight_precision: precision,
    ste_clip: steClip,
  });
  const t = tf.tensor2d(w, [O, I]);
  l.loadState({ weight: t, bias: tf.tidy(() => tf.tensor1d(randArray(O, 5))) });
  t.dispose();
  return l;
}

describe('binary weights', () => {
  beforeAll(setupBackend);

  it('take exactly the values +-alpha_row, alpha = mean |W_row|, sign(0) = +1', () => {
    const w = latent(11);
    const l = layer('binary', w);
    const q = tf.tidy(() => l.effectiveWeight());
    const qv = values(q);
    for (let o = 0; o < O; o++) {
      const row = w.slice(o * I, (o + 1) * I);
      const alpha = row.reduce((s, v) => s + Math.abs(v), 0) / I;
      const mag = Math.abs(qv[o * I]);
      expect(Math.abs(mag - alpha)).toBeLessThan(1e-6 * alpha);
      for (let i = 0; i < I; i++) {
        const v = qv[o * I + i];
        expect(Math.abs(v)).toBe(mag); // one magnitude per row, bit for bit
        expect(v > 0).toBe(row[i] >= 0); // sign(0) = +1, never 0
      }
    }
    q.dispose();
    l.dispose();
  });
});

describe('ternary weights', () => {
  beforeAll(setupBackend);

  it('take exactly the values {-gamma, 0, +gamma}, gamma = mean |W|, by absmean rounding', () => {
    const w = latent(12);
    const l = layer('ternary', w);
    const q = tf.tidy(() => l.effectiveWeight());
    const qv = values(q);
    const gamma = w.reduce((s, v) => s + Math.abs(v), 0) / w.length;
    const g = Math.max(...qv.map(Math.abs));
    expect(Math.abs(g - gamma)).toBeLessThan(1e-6 * gamma);
    for (let k = 0; k < qv.length; k++) {
      expect([-g, 0, g]).toContain(qv[k] === 0 ? 0 : qv[k]);
      const code = Math.max(-1, Math.min(1, Math.round(w[k] / (gamma + 1e-5)))) + 0;
      expect(qv[k] === 0 ? 0 : Math.sign(qv[k])).toBe(code);
    }
    expect(new Set(qv.map((v) => Math.sign(v) + 0)).size).toBe(3); // all three levels occur
    q.dispose();
    l.dispose();
  });
});

describe('straight-through estimator', () => {
  beforeAll(setupBackend);

  /** d loss / d W for the quantised layer, and for a float layer holding its effective weight. */
  function grads(l: Linear): { ste: number[]; atQuantised: number[]; latent: number[] } {
    const x = tf.tensor2d(randArray(3 * I, 21), [3, I]);
    const r = tf.tensor2d(randArray(3 * O, 22), [3, O]);
    const loss = (m: Linear) => () => tf.sum(tf.mul(r, tf.square(m.forward(x)))) as tf.Scalar;
    const f = new Linear({ in_features: I, out_features: O });
    const wq = tf.tidy(() => l.effectiveWeight());
    f.loadState({ weight: wq, bias: l.bias as Tensor });
    const g1 = tf.variableGrads(loss(l), [l.weight]);
    const g2 = tf.variableGrads(loss(f), [f.weight]);
    const out = {
      ste: values(g1.grads[l.weight.name]),
      atQuantised: values(g2.grads[f.weight.name]),
      latent: values(l.weight),
    };
    tf.dispose([
      x,
      r,
      wq,
      g1.value,
      g2.value,
      ...Object.values(g1.grads),
      ...Object.values(g2.grads),
    ]);
    f.dispose();
    return out;
  }

  for (const precision of ['binary', 'ternary'] as const) {
    it(`${precision}: with ste_clip the latent gradient is the float gradient at Wq masked by |W| <= 1`, () => {
      const l = layer(precision, latent(31), true);
      const { ste, atQuantised, latent: w } = grads(l);
      const masked = atQuantised.map((g, k) => (Math.abs(w[k]) <= 1 ? g : 0));
      expect(w.some((v) => Math.abs(v) > 1)).toBe(true);
      expect(masked.some((g, k) => g === 0 && atQuantised[k] !== 0)).toBe(true);
      expectClose(ste, masked, 1e-5, 1e-5);
      l.dispose();
    });

    it(`${precision}: without ste_clip the latent gradient is the float gradient at Wq`, () => {
      const l = layer(precision, latent(32), false);
      const { ste, atQuantised } = grads(l);
      expect(atQuantised.every((g) => g !== 0)).toBe(true);
      expectClose(ste, atQuantised, 1e-5, 1e-5);
      l.dispose();
    });
  }
});
