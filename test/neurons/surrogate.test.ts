// Surrogates: hand-written grad vs tfjs autodiff of the primitive on a dense grid
// (SpikingJelly's check_manual_grad), Heaviside forward, smooth mode, table values.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { ConfigError } from '../../src/errors.js';
import { SURROGATE_NAMES, fire, surrogate } from '../../src/neurons/index.js';
import type { SurrogateName } from '../../src/neurons/index.js';
import { primitive64 } from './reference.js';
import { setupBackend, values } from '../helpers.js';

/** Kinks of the piecewise surrogates, where the derivative jumps. */
function kinks(name: SurrogateName, a: number): number[] {
  if (name === 'rectangular') return [-a / 2, a / 2];
  if (name === 'triangle') return [-1 / a, 1 / a];
  return [];
}

const GRID = Array.from({ length: 2001 }, (_, i) => -3 + (6 * i) / 2000);

describe('surrogates', () => {
  beforeAll(setupBackend);

  for (const name of SURROGATE_NAMES) {
    for (const alpha of [undefined, 2.5]) {
      it(`${name} (alpha ${alpha ?? 'default'}): grad equals tf.grad(primitive) on 2001 points`, () => {
        const sg = surrogate(name, alpha);
        const ks = kinks(name, sg.alpha);
        const xs = GRID.filter((x) => ks.every((k) => Math.abs(x - k) > 1e-3));
        expect(xs.length).toBeGreaterThan(1990);
        const x = tf.tensor1d(xs);
        const auto = values(tf.grad((t: Tensor) => tf.sum(sg.primitive(t)))(x));
        const hand = values(sg.grad(x));
        let worst = 0;
        let at = 0;
        xs.forEach((xi, i) => {
          const err = Math.abs(auto[i] - hand[i]);
          if (err > worst) [worst, at] = [err, xi];
        });
        expect(worst, `worst |grad - autodiff| = ${worst} at x = ${at}`).toBeLessThan(2e-5);
        // The scalar versions used by the fused kernel agree too.
        xs.forEach((xi, i) => expect(Math.abs(sg.gradAt(xi) - hand[i])).toBeLessThan(2e-5));
        x.dispose();
      });
    }
  }

  it('primitives match the float64 formulas of the table', () => {
    for (const name of SURROGATE_NAMES) {
      const sg = surrogate(name);
      const x = tf.tensor1d(GRID);
      const got = values(sg.primitive(x));
      GRID.forEach((xi, i) => {
        expect(Math.abs(got[i] - primitive64(name, sg.alpha, xi))).toBeLessThan(1e-6);
        expect(Math.abs(sg.primitiveAt(xi) - primitive64(name, sg.alpha, xi))).toBeLessThan(1e-12);
      });
      x.dispose();
    }
  });

  it('derivatives peak at 1 at x = 0 with the default alphas, and vanish outside the support', () => {
    for (const name of SURROGATE_NAMES) expect(surrogate(name).gradAt(0)).toBeCloseTo(1, 12);
    expect(surrogate('rectangular').gradAt(0.51)).toBe(0);
    expect(surrogate('triangle').gradAt(1.01)).toBe(0);
    expect(surrogate('triangle').gradAt(0.5)).toBeCloseTo(0.5, 12);
    expect(surrogate('sigmoid').gradAt(1)).toBeCloseTo(
      (4 * Math.exp(-4)) / (1 + Math.exp(-4)) ** 2,
      12,
    );
    expect(surrogate('atan').gradAt(1)).toBeCloseTo(1 / (1 + Math.PI ** 2), 12);
  });

  it('spike fires on x >= 0 and back-propagates the surrogate', () => {
    const sg = surrogate('atan', 2);
    const x = tf.tensor1d([-1, -0.1, 0, 0.1, 1]);
    expect(values(sg.spike(x))).toEqual([0, 0, 1, 1, 1]);
    const g = values(tf.grad((t: Tensor) => tf.sum(sg.spike(t)))(x));
    const want = [-1, -0.1, 0, 0.1, 1].map((v) => 1 / (1 + (Math.PI * v) ** 2));
    want.forEach((w, i) => expect(g[i]).toBeCloseTo(w, 5));
  });

  it('smooth mode forwards the primitive itself', () => {
    const sg = surrogate('sigmoid');
    const x = tf.tensor1d([-0.5, 0, 0.25]);
    expect(values(fire(sg, x, true))).toEqual(values(sg.primitive(x)));
    expect(values(fire(sg, x, false))).toEqual([0, 1, 1]);
  });

  it('rejects an unknown surrogate, listing the allowed names, and a bad alpha', () => {
    expect(() => surrogate('relu')).toThrow(ConfigError);
    expect(() => surrogate('relu')).toThrow(/sigmoid, atan, rectangular, triangle.*"relu"/);
    expect(() => surrogate('atan', 0)).toThrow(/surrogate_alpha must be > 0, got 0/);
  });
});
