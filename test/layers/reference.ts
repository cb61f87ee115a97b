// Float64 JS references for the layer tests: a seeded generator, central
// differences, and small dense helpers. Plain arrays only, no tfjs.
import { rng } from '../helpers.js';

export { rng };

/** `n` values uniform in [lo, hi), rounded through float32 so tfjs sees the same numbers. */
export function randArray(n: number, seed: number, lo = -1, hi = 1): number[] {
  const r = rng(seed);
  return Array.from(Float32Array.from({ length: n }, () => lo + (hi - lo) * r()));
}

/** Central-difference gradient of `f` at `v` in float64. */
export function numericGrad(f: (v: number[]) => number, v: number[], h = 1e-6): number[] {
  return v.map((_, i) => {
    const p = v.slice();
    const m = v.slice();
    p[i] += h;
    m[i] -= h;
    return (f(p) - f(m)) / (2 * h);
  });
}

/** y = x W^T + b for row-major x [M, I], W [O, I], b [O] (or null): y [M, O]. */
export function linearRef(
  x: number[],
  w: number[],
  b: number[] | null,
  I: number,
  O: number,
): number[] {
  const M = x.length / I;
  const y = new Array<number>(M * O).fill(0);
  for (let m = 0; m < M; m++) {
    for (let o = 0; o < O; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < I; i++) s += x[m * I + i] * w[o * I + i];
      y[m * O + o] = s;
    }
  }
  return y;
}

/** Sum of `r[i] * y[i]`. */
export function dot(r: number[], y: number[]): number {
  return y.reduce((s, v, i) => s + r[i] * v, 0);
}
