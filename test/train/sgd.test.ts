// SGD: momentum, Nesterov and coupled weight decay against values worked out by
// hand (PyTorch's torch.optim.SGD update), plus option checks.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SGD } from '../../src/train/index.js';
import { tf } from '../../src/tf.js';
import type { Variable } from '../../src/tf.js';
import { expectClose, setupBackend, values } from '../helpers.js';

beforeAll(async () => {
  await setupBackend();
});

const made: Variable[] = [];
afterEach(() => {
  tf.dispose(made.splice(0));
});

function run(opt: SGD, gs: number[]): void {
  for (const g of gs) {
    const t = tf.tensor([g]);
    opt.step({ w: t });
    t.dispose();
  }
}

function param(x: number): Variable {
  const v = tf.variable(tf.tensor([x]));
  made.push(v);
  return v;
}

describe('SGD', () => {
  it('accumulates momentum: b ← μb + g, p ← p − lr·b', () => {
    // p0 = 1, lr = 0.1, μ = 0.9, g = 0.5, −1, 2:
    // b = 0.5 → p = 0.95; b = −0.55 → p = 1.005; b = 1.505 → p = 0.8545
    const p = param(1);
    const opt = new SGD([['w', p]], { lr: 0.1, momentum: 0.9 });
    run(opt, [0.5]);
    expectClose(values(p), [0.95], 1e-7, 0);
    run(opt, [-1]);
    expectClose(values(p), [1.005], 1e-7, 0);
    run(opt, [2]);
    expectClose(values(p), [0.8545], 1e-7, 0);
    expect(opt.slotNames).toEqual(['momentum']);
    opt.dispose();
  });

  it('uses the Nesterov look-ahead g + μb', () => {
    // g = 0.5: b = 0.5, d = 0.5 + 0.45 = 0.95 → p = 0.905
    // g = −1: b = −0.55, d = −1 − 0.495 = −1.495 → p = 1.0545
    const p = param(1);
    const opt = new SGD([['w', p]], { lr: 0.1, momentum: 0.9, nesterov: true });
    run(opt, [0.5, -1]);
    expectClose(values(p), [1.0545], 1e-6, 0);
    opt.dispose();
  });

  it('adds weight decay to the gradient (L2, as PyTorch SGD)', () => {
    // p0 = 2, wd = 0.1, g = 0 → d = 0.2 → p = 2 − 0.5·0.2 = 1.9
    const p = param(2);
    const opt = new SGD([['w', p]], { lr: 0.5, weightDecay: 0.1 });
    run(opt, [0]);
    expectClose(values(p), [1.9], 1e-7, 0);
    expect(opt.slotNames).toEqual([]);
    opt.dispose();
  });

  it('checks its options', () => {
    const p = param(0);
    expect(() => new SGD([['w', p]], { momentum: 1 })).toThrow(/momentum/);
    expect(() => new SGD([['w', p]], { nesterov: true })).toThrow(/nesterov/);
    expect(() => new SGD([['w', p]], { weightDecay: -1 })).toThrow(/weightDecay/);
  });
});
