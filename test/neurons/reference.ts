// Independent float64 plain-JS reference of the IF/LIF core (no tfjs), for
// finite-difference gradient checks and forward cross-checks; plus a seeded RNG.
// Detached quantities can be frozen at recorded values, so that the derivative of
// the frozen forward equals the stop-gradient BPTT gradient at the base point.
export { rng } from '../helpers.js';

/** `n` uniform numbers in [lo, hi). */
export function uniform(r: () => number, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + (hi - lo) * r());
}

export type Surr64 = 'sigmoid' | 'atan' | 'rectangular' | 'triangle';

/** Smooth primitive g(x) in float64, written from the methods-vision 1(c) table. */
export function primitive64(name: Surr64, a: number, x: number): number {
  switch (name) {
    case 'sigmoid':
      return 1 / (1 + Math.exp(-a * x));
    case 'atan':
      return 0.5 + Math.atan((Math.PI / 2) * a * x) / Math.PI;
    case 'rectangular':
      return x < -a / 2 ? 0 : x > a / 2 ? 1 : x / a + 0.5;
    case 'triangle': {
      if (x < -1 / a) return 0;
      if (x > 1 / a) return 1;
      return x < 0 ? 0.5 * (a * x + 1) ** 2 : 1 - 0.5 * (1 - a * x) ** 2;
    }
  }
}

/** Settings of the float64 LIF: `H = lambda V + gain X + bias`, threshold per channel. */
export interface Lif64 {
  lambda: number;
  gain: number;
  bias: number;
  /** Threshold per channel (length C) — the last axis of each step. */
  thr: number[];
  /** null = soft reset. */
  vReset: number | null;
  /** Soft reset amount per channel; default the threshold. */
  amount?: number[];
  surrogate: Surr64;
  alpha: number;
  smooth: boolean;
  v0: number;
}

/** Values recorded at the base point and reused (frozen) when a path is detached. */
export interface Frozen {
  /** Spikes used in the reset term, [T][M]. */
  sReset?: number[][];
  /** Membrane entering each step's charge, [T][M]. */
  vPrev?: number[][];
}

/**
 * Run the float64 LIF over `x` ([T][M], M = B*C row-major, C channels). Returns spikes,
 * membranes after reset, and the values a detached path would freeze.
 */
export function lif64(
  x: number[][],
  p: Lif64,
  C: number,
  frozen: Frozen = {},
): { s: number[][]; v: number[][]; sUsed: number[][]; vPrevUsed: number[][] } {
  const M = x[0].length;
  let v = new Array<number>(M).fill(p.v0);
  const s: number[][] = [];
  const vs: number[][] = [];
  const sUsed: number[][] = [];
  const vPrevUsed: number[][] = [];
  x.forEach((xt, t) => {
    const vin = frozen.vPrev ? frozen.vPrev[t] : v;
    vPrevUsed.push([...vin]);
    const st: number[] = [];
    const vt: number[] = [];
    const su: number[] = [];
    for (let i = 0; i < M; i++) {
      const c = i % C;
      const h = p.lambda * vin[i] + p.gain * xt[i] + p.bias;
      const u = h - p.thr[c];
      const si = p.smooth ? primitive64(p.surrogate, p.alpha, u) : u >= 0 ? 1 : 0;
      const sr = frozen.sReset ? frozen.sReset[t][i] : si;
      su.push(si);
      const amount = p.amount ? p.amount[c] : p.thr[c];
      vt.push(p.vReset === null ? h - amount * sr : h * (1 - sr) + p.vReset * sr);
      st.push(si);
    }
    s.push(st);
    vs.push(vt);
    sUsed.push(su);
    v = vt;
  });
  return { s, v: vs, sUsed, vPrevUsed };
}

/** `a [B][K] x w [K][N]` in float64 (w row-major flat, K*N). */
export function matmul64(a: number[], B: number, K: number, w: number[], N: number): number[] {
  const out = new Array<number>(B * N).fill(0);
  for (let b = 0; b < B; b++)
    for (let k = 0; k < K; k++) {
      const ak = a[b * K + k];
      for (let n = 0; n < N; n++) out[b * N + n] += ak * w[k * N + n];
    }
  return out;
}

/** Central finite differences of `f` at `x` (float64), one coordinate at a time. */
export function finiteDiff(f: (x: number[]) => number, x: number[], h = 1e-6): number[] {
  return x.map((_, i) => {
    const xp = [...x];
    const xm = [...x];
    xp[i] += h;
    xm[i] -= h;
    return (f(xp) - f(xm)) / (2 * h);
  });
}

/** Split a flat [T*M] array into [T][M]. */
export function rows(flat: ArrayLike<number>, T: number): number[][] {
  const M = flat.length / T;
  return Array.from({ length: T }, (_, t) => Array.from(flat).slice(t * M, (t + 1) * M));
}
