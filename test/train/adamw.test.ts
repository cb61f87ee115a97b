// AdamW: two steps against values worked out by hand (decoupled decay, bias
// correction), twenty steps against a float64 reference, no decay on matching
// names, state slot names, option checks and no tensor leaks.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AdamW, NO_DECAY, isNoDecayName } from '../../src/train/index.js';
import { tf } from '../../src/tf.js';
import type { Variable } from '../../src/tf.js';
import { expectClose, setupBackend, values } from '../helpers.js';

beforeAll(async () => {
  await setupBackend();
});

const made: Variable[] = [];
function variable(data: number[], shape = [data.length]): Variable {
  const v = tf.variable(tf.tensor(data, shape, 'float32'));
  made.push(v);
  return v;
}
afterEach(() => {
  tf.dispose(made.splice(0));
});

function step(opt: AdamW, grads: Record<string, number[]>): void {
  const ts = Object.fromEntries(Object.entries(grads).map(([n, g]) => [n, tf.tensor(g)]));
  opt.step(ts);
  tf.dispose(Object.values(ts));
}

/** Plain float64 AdamW, PyTorch's update order. */
function referenceAdamW(
  p: number[],
  grads: number[][],
  o: { lr: number; wd: number; b1: number; b2: number; eps: number },
): number[] {
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const out = [...p];
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < out.length; i++) {
      out[i] *= 1 - o.lr * o.wd;
      m[i] = o.b1 * m[i] + (1 - o.b1) * g[i];
      v[i] = o.b2 * v[i] + (1 - o.b2) * g[i] * g[i];
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - o.b2 ** t) + o.eps;
      out[i] -= (o.lr / (1 - o.b1 ** t)) * (m[i] / denom);
    }
  });
  return out;
}

describe('AdamW', () => {
  it('matches two steps worked out by hand (decoupled decay, bias correction)', () => {
    // p0 = 1, lr = 0.1, wd = 0.1, betas (0.9, 0.999), eps 1e-8.
    // t=1, g=0.5: p = 1·0.99 = 0.99; m = 0.05, v = 2.5e-4; m̂ = 0.5, √v̂ = 0.5
    //   p = 0.99 − 0.1·0.5/(0.5 + 1e-8) = 0.890000002
    // t=2, g=−1: p = 0.890000002·0.99; m = −0.055, v = 1.24975e-3;
    //   m̂ = −0.055/0.19, √v̂ = √(1.24975e-3/1.999e-3) → p = 0.9177103542
    const p = variable([1]);
    const opt = new AdamW([['w', p]], { lr: 0.1, weightDecay: 0.1 });
    step(opt, { w: [0.5] });
    expectClose(values(p), [0.890000002], 1e-7, 0);
    step(opt, { w: [-1] });
    expectClose(values(p), [0.9177103542], 1e-7, 0);
    expect(opt.stepCount).toBe(2);
    opt.dispose();
  });

  it('follows a float64 implementation over 20 steps', () => {
    const o = { lr: 0.05, wd: 0.02, b1: 0.8, b2: 0.95, eps: 1e-8 };
    const init = [0.3, -1.2, 2.5, 0.01, -0.7, 1.1].map(Math.fround);
    const grads = Array.from({ length: 20 }, (_, k) =>
      init.map((_, i) => Math.fround(Math.sin(1.7 * k + 0.9 * i) * (1 + i))),
    );
    const p = variable(init);
    const opt = new AdamW([['layer.weight', p]], {
      lr: o.lr,
      weightDecay: o.wd,
      betas: [o.b1, o.b2],
      eps: o.eps,
    });
    for (const g of grads) step(opt, { 'layer.weight': g });
    expectClose(values(p), referenceAdamW(init, grads, o), 2e-6, 2e-6);
    opt.dispose();
  });

  it("uses PyTorch's eps 1e-8 by default (tfjs Adam's 1e-7 would give 0.909)", () => {
    // g = 1e-6: m̂ = 1e-6, √v̂ = 1e-6, so p = −lr · 1e-6 / (1e-6 + eps).
    const p = variable([0]);
    const opt = new AdamW([['w', p]], { lr: 1, weightDecay: 0 });
    step(opt, { w: [1e-6] });
    expectClose(values(p), [-1e-6 / (1e-6 + 1e-8)], 1e-6, 0);
    opt.dispose();
  });

  it('does not decay parameters matched by a no-decay group', () => {
    const w = variable([2, -4]);
    const bias = variable([1, 1]);
    const gain = variable([3, 3]);
    const opt = new AdamW(
      [
        ['mlp.up.weight', w],
        ['mlp.up.bias', bias],
        ['attn_norm.weight', gain],
      ],
      { lr: 0.5, weightDecay: 0.2, groups: [NO_DECAY] },
    );
    // Zero gradients: Adam's own update is 0/(0 + eps) = 0, so only decay moves p.
    step(opt, { 'mlp.up.weight': [0, 0], 'mlp.up.bias': [0, 0], 'attn_norm.weight': [0, 0] });
    expectClose(values(w), [2 * 0.9, -4 * 0.9], 1e-7, 0);
    expect(values(bias)).toEqual([1, 1]);
    expect(values(gain)).toEqual([3, 3]);
    expect(opt.params().map((s) => s.group.weightDecay)).toEqual([0.2, 0, 0]);
    opt.dispose();
  });

  it('classifies names for the default no-decay rule', () => {
    for (const n of ['embed.weight', 'layers.0.attn_norm.weight', 'x.up.bias', 'norm.weight']) {
      expect(isNoDecayName(n), n).toBe(true);
    }
    for (const n of ['layers.0.mlp.up.weight', 'lm_head.weight', 'weight']) {
      expect(isNoDecayName(n), n).toBe(false);
    }
    expect(isNoDecayName('layers.0.mlp.hidden_sn.v_threshold')).toBe(true);
    expect(isNoDecayName('layers.0.mlp.up_bn.weight')).toBe(true);
  });

  it('applies a group learning-rate scale', () => {
    const a = variable([1]);
    const b = variable([1]);
    const opt = new AdamW(
      [
        ['a', a],
        ['b', b],
      ],
      { lr: 0.1, weightDecay: 0, groups: [{ match: /^b$/, lrScale: 0.5 }] },
    );
    step(opt, { a: [1], b: [1] }); // first Adam step moves by lr·sign(g)
    expectClose(values(a), [0.9], 1e-6, 0);
    expectClose(values(b), [0.95], 1e-6, 0);
    opt.dispose();
  });

  it('leaves parameters without a gradient unchanged and rejects unknown names and shapes', () => {
    const a = variable([1]);
    const b = variable([5]);
    const opt = new AdamW(
      [
        ['a', a],
        ['b', b],
      ],
      { lr: 0.1 },
    );
    step(opt, { a: [1] });
    expect(values(b)).toEqual([5]);
    expect(() => step(opt, { c: [1] })).toThrow(/unknown parameter\(s\): c/);
    expect(() => step(opt, { a: [1, 2] })).toThrow(/shape differs/);
    expect(opt.stepCount).toBe(1);
    opt.dispose();
  });

  it('skips non-trainable variables and checks its options', () => {
    const a = variable([1]);
    const buf = tf.variable(tf.zeros([2]), false);
    made.push(buf);
    const opt = new AdamW([
      ['a', a],
      ['running_mean', buf],
    ]);
    expect(opt.params().map((p) => p.name)).toEqual(['a']);
    expect(opt.slotNames).toEqual(['m', 'v']);
    expect(opt.eps).toBe(1e-8);
    opt.dispose();
    expect(() => new AdamW([['a', a]], { betas: [1, 0.999] })).toThrow(/betas\[0\]/);
    expect(() => new AdamW([['a', a]], { lr: -1 })).toThrow(/learning rate/);
    expect(() => new AdamW([['running_mean', buf]])).toThrow(/no trainable parameters/);
  });

  it('allocates no tensors per step', () => {
    const p = variable([1, 2, 3]);
    const opt = new AdamW([['w', p]], { lr: 0.01 });
    const g = tf.tensor([0.1, -0.2, 0.3]);
    opt.step({ w: g });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) opt.step({ w: g });
    expect(tf.memory().numTensors).toBe(before);
    g.dispose();
    opt.dispose();
  });
});
