// Sampling: greedy is argmax with no random draw, top-k never leaves the top k,
// top-p keeps the smallest set reaching p, temperature -> 0 is greedy, draws
// follow the distribution, the repetition penalty, and option checks.
import { describe, expect, it } from 'vitest';
import {
  applyRepetitionPenalty,
  argmax,
  candidates,
  createRng,
  drawIndex,
  resolveSampling,
  sampleToken,
} from '../../src/generate/index.js';
import type { Rng } from '../../src/generate/index.js';

/** Random logit rows from a seeded generator. */
function rows(count: number, n: number, seed: number): Float32Array[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () =>
    Float32Array.from({ length: n }, () => rng.next() * 8 - 4),
  );
}

const logitsOf = (probs: number[]) => Float32Array.from(probs, Math.log);

describe('sampling', () => {
  it('argmax takes the first of equal maxima', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([-Infinity, -1])).toBe(1);
  });

  it('greedy (temperature 0) is argmax and draws no random number', () => {
    const rng = createRng(1);
    let draws = 0;
    const counting: Rng = {
      seed: 1,
      next: () => (draws++, rng.next()),
      nextUint32: () => (draws++, 0),
    };
    const options = resolveSampling({ temperature: 0, top_k: 3, top_p: 0.5 });
    for (const row of rows(50, 100, 7))
      expect(sampleToken(row, options, counting)).toBe(argmax(row));
    expect(draws).toBe(0);
  });

  it('top-k never picks outside the k most likely tokens', () => {
    const rng = createRng(3);
    const options = resolveSampling({ temperature: 2, top_k: 5 });
    for (const row of rows(200, 64, 11)) {
      const top = Array.from(row.keys())
        .sort((a, b) => row[b] - row[a])
        .slice(0, 5);
      expect(top).toContain(sampleToken(row, options, rng));
    }
  });

  it('top-p keeps the smallest set of most likely tokens reaching p', () => {
    const logits = logitsOf([0.15, 0.5, 0.05, 0.3]);
    const keep = (top_p: number) => candidates(logits, resolveSampling({ top_p })).ids;
    expect(keep(0.4)).toEqual([1]);
    expect(keep(0.5)).toEqual([1]);
    expect(keep(0.8)).toEqual([1, 3]);
    expect(keep(0.81)).toEqual([1, 3, 0]);
    expect(keep(0.96)).toEqual([1, 3, 0, 2]);
    const c = candidates(logits, resolveSampling({ top_p: 0.8 }));
    expect(c.probs[0]).toBeCloseTo(0.5 / 0.8, 6);
    expect(c.probs[1]).toBeCloseTo(0.3 / 0.8, 6);
  });

  it('applies top-k before top-p, and keeps at least one token', () => {
    const logits = logitsOf([0.1, 0.2, 0.3, 0.4]);
    expect(candidates(logits, resolveSampling({ top_k: 2, top_p: 0.99 })).ids).toEqual([3, 2]);
    expect(candidates(logits, resolveSampling({ top_p: 1e-9 })).ids).toEqual([3]);
  });

  it('a temperature near 0 gives the greedy token', () => {
    const rng = createRng(5);
    const options = resolveSampling({ temperature: 1e-4 });
    for (const row of rows(100, 200, 13)) expect(sampleToken(row, options, rng)).toBe(argmax(row));
  });

  it('draws follow the softmax distribution (with and without filters)', () => {
    const probs = [0.1, 0.2, 0.3, 0.4];
    for (const extra of [{}, { top_k: 4, top_p: 1 }, { top_p: 0.999 }]) {
      const rng = createRng(9);
      const counts = [0, 0, 0, 0];
      const options = resolveSampling({ temperature: 1, ...extra });
      for (let i = 0; i < 20_000; i++) counts[sampleToken(logitsOf(probs), options, rng)]++;
      counts.forEach((c, i) => expect(Math.abs(c / 20_000 - probs[i])).toBeLessThan(0.015));
    }
  });

  it('temperature sharpens and flattens the distribution', () => {
    const logits = logitsOf([0.2, 0.8]);
    const at = (temperature: number) =>
      candidates(logits, resolveSampling({ temperature })).probs[0];
    expect(at(1)).toBeCloseTo(0.8, 6);
    expect(at(0.5)).toBeCloseTo(0.64 / 0.68, 6);
    expect(at(100)).toBeLessThan(0.51);
  });

  it('drawIndex walks the cumulative sum', () => {
    expect(drawIndex([0.25, 0.5, 0.25], 0)).toBe(0);
    expect(drawIndex([0.25, 0.5, 0.25], 0.25)).toBe(1);
    expect(drawIndex([0.25, 0.5, 0.25], 0.999999)).toBe(2);
    expect(drawIndex([0.3, 0.3, 0.3], 0.95)).toBe(2);
  });

  it('the repetition penalty divides positive and multiplies negative logits once', () => {
    const logits = Float32Array.of(2, -2, 1, 4);
    applyRepetitionPenalty(logits, [0, 1, 1, 3], 2);
    expect(Array.from(logits)).toEqual([1, -4, 1, 2]);
  });

  it('rejects out-of-range options naming the field', () => {
    expect(() => resolveSampling({ temperature: -0.1 })).toThrow(/temperature must be/);
    expect(() => resolveSampling({ temperature: NaN })).toThrow(/temperature/);
    expect(() => resolveSampling({ top_p: 0 })).toThrow(/top_p must be a number in \(0, 1\]/);
    expect(() => resolveSampling({ top_p: 1.5 })).toThrow(/top_p/);
    expect(() => resolveSampling({ top_k: 2.5 })).toThrow(/top_k/);
    expect(() => resolveSampling({ repetition_penalty: 0 })).toThrow(/repetition_penalty/);
    expect(resolveSampling({ top_k: -1 }).top_k).toBe(-1);
    expect(resolveSampling()).toEqual({
      temperature: 1,
      top_k: 0,
      top_p: 1,
      repetition_penalty: 1,
    });
  });
});
