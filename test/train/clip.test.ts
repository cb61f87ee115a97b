// Global-norm clipping and the guarded optimizer step: the norm value, scaled
// gradients, a no-op below the maximum, NaN/Inf detection with no update
// applied, and no tensor leaks.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AdamW,
  NonFiniteGradientError,
  clipGradNorm,
  optimizerStep,
} from '../../src/train/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor, Variable } from '../../src/tf.js';
import { expectClose, setupBackend, values } from '../helpers.js';

beforeAll(async () => {
  await setupBackend();
});

const made: (Tensor | Variable)[] = [];
afterEach(() => {
  tf.dispose(made.splice(0));
});

function grads(spec: Record<string, number[]>): Map<string, Tensor> {
  const m = new Map(Object.entries(spec).map(([n, v]) => [n, tf.tensor(v)]));
  made.push(...m.values());
  return m;
}

describe('clipGradNorm', () => {
  it('measures the global 2-norm and scales every gradient by max/norm', async () => {
    const g = grads({ a: [3, 0], b: [0, 4, 0] }); // ‖[3, 4]‖ = 5
    const r = await clipGradNorm(g, 1);
    expect(r.norm).toBeCloseTo(5, 6);
    expect(r.clipped).toBe(true);
    expectClose(values(r.grads.get('a')!), [0.6, 0], 1e-6, 0);
    expectClose(values(r.grads.get('b')!), [0, 0.8, 0], 1e-6, 0);
    expect(values(g.get('a')!)).toEqual([3, 0]); // inputs untouched
    tf.dispose([...r.grads.values()]);
  });

  it('returns identical values below the maximum', async () => {
    const g = grads({ a: [0.3, -0.4] });
    const r = await clipGradNorm(g, 1);
    expect(r.clipped).toBe(false);
    expect(r.norm).toBeCloseTo(0.5, 6);
    expect(values(r.grads.get('a')!)).toEqual(values(g.get('a')!));
    tf.dispose([...r.grads.values()]);
  });

  it('detects NaN and Inf, naming the tensors', async () => {
    const g = grads({ ok: [1], bad: [NaN], worse: [Infinity] });
    await expect(clipGradNorm(g, 1)).rejects.toThrow(NonFiniteGradientError);
    await expect(clipGradNorm(g, 1)).rejects.toThrow(/bad, worse.*not applied/);
    const r = await clipGradNorm(grads({ x: [Infinity, 1] }), 1, { onNonFinite: 'flag' });
    expect(r.finite).toBe(false);
    expect(r.norm).toBe(Infinity);
    expect(r.nonFinite).toEqual(['x']);
    tf.dispose([...r.grads.values()]);
  });

  it('leaks no tensors', async () => {
    const g = grads({ a: [3, 4] });
    const before = tf.memory().numTensors;
    const r = await clipGradNorm(g, 1);
    tf.dispose([...r.grads.values()]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('optimizerStep', () => {
  function setup(): { p: Variable; opt: AdamW } {
    const p = tf.variable(tf.tensor([1, 2]));
    made.push(p);
    return { p, opt: new AdamW([['w', p]], { lr: 0.1 }) };
  }

  it('clips, applies the update and reports the pre-clip norm', async () => {
    const { p, opt } = setup();
    const r = await optimizerStep(opt, grads({ w: [30, 40] }), { maxGradNorm: 1 });
    expect(r).toEqual({ gradNorm: expect.closeTo(50, 4), clipped: true, applied: true });
    expect(opt.stepCount).toBe(1);
    expect(values(p)).not.toEqual([1, 2]);
    opt.dispose();
  });

  it('applies no update for a non-finite gradient (throw and flag)', async () => {
    const { p, opt } = setup();
    await optimizerStep(opt, grads({ w: [0.1, 0.1] }));
    const [before, state] = [values(p), await opt.saveState()];
    await expect(optimizerStep(opt, grads({ w: [NaN, 1] }), { maxGradNorm: 1 })).rejects.toThrow(
      /non-finite gradient norm \(NaN\) in w/,
    );
    await expect(optimizerStep(opt, grads({ w: [Infinity, 1] }))).rejects.toThrow(/Infinity/);
    const flagged = await optimizerStep(opt, grads({ w: [NaN, 1] }), { onNonFinite: 'flag' });
    expect(flagged.applied).toBe(false);
    expect(values(p)).toEqual(before);
    expect(opt.stepCount).toBe(1);
    expect(Buffer.from(await opt.saveState()).equals(Buffer.from(state))).toBe(true);
    opt.dispose();
  });

  it('leaks no tensors per step', async () => {
    const { opt } = setup();
    const g = grads({ w: [3, 4] });
    await optimizerStep(opt, g, { maxGradNorm: 1 });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await optimizerStep(opt, g, { maxGradNorm: 1 });
    await optimizerStep(opt, g);
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
  });
});
