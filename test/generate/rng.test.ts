// The seeded generator: xoshiro128** reference outputs, reproducible streams,
// distinct streams for nearby and large seeds, uniform draws, seed checks.
import { describe, expect, it } from 'vitest';
import {
  MAX_SEED,
  createRng,
  randomSeed,
  rngFromState,
  rngState,
} from '../../src/generate/index.js';

describe('rng', () => {
  it('matches the xoshiro128** reference sequence from state [1, 2, 3, 4]', () => {
    const r = rngFromState([1, 2, 3, 4]);
    const out = Array.from({ length: 8 }, () => r.nextUint32());
    expect(out).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849,
    ]);
  });

  it('gives the same stream for the same seed', () => {
    const [a, b] = [createRng(1234), createRng(1234)];
    const draw = (r: typeof a) => Array.from({ length: 100 }, () => r.next());
    expect(draw(a)).toEqual(draw(b));
    expect(a.seed).toBe(1234);
  });

  it('gives unrelated streams for nearby seeds and seeds differing in the high bits', () => {
    const seeds = [0, 1, 2, 2 ** 32, 2 ** 32 + 1, MAX_SEED];
    const firsts = seeds.map((s) => createRng(s).next());
    expect(new Set(firsts).size).toBe(seeds.length);
    for (let i = 0; i < firsts.length; i++) {
      for (let j = i + 1; j < firsts.length; j++) {
        expect(Math.abs(firsts[i] - firsts[j])).toBeGreaterThan(1e-6);
      }
    }
  });

  it('draws uniformly in [0, 1)', () => {
    const r = createRng(99);
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 50_000; i++) {
      const x = r.next();
      expect(x >= 0 && x < 1).toBe(true);
      bins[Math.floor(x * 10)]++;
    }
    for (const b of bins) expect(Math.abs(b - 5000)).toBeLessThan(300);
  });

  it('rejects seeds that are not non-negative safe integers', () => {
    expect(() => createRng(-1)).toThrow(/seed must be an integer/);
    expect(() => createRng(1.5)).toThrow(/seed/);
    expect(() => createRng(2 ** 53)).toThrow(/seed/);
    expect(() => rngFromState([1, 2, 3])).toThrow(/4 state words/);
  });

  it('exports its state so that a restored generator continues the same stream', () => {
    const r = createRng(7);
    for (let i = 0; i < 5; i++) r.next();
    const saved = JSON.parse(JSON.stringify(rngState(r))) as number[];
    const restored = rngFromState(saved, r.seed);
    expect(Array.from({ length: 20 }, () => restored.next())).toEqual(
      Array.from({ length: 20 }, () => r.next()),
    );
    expect(() => rngState({ seed: 0, next: () => 0, nextUint32: () => 0 })).toThrow(/createRng/);
  });

  it('draws fresh seeds from the operating system', () => {
    const a = randomSeed();
    expect(Number.isSafeInteger(a) && a >= 0).toBe(true);
    expect(randomSeed()).not.toBe(a);
  });
});
