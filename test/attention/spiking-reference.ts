// Independent plain-JS loop references of the spiking token mixers (no tfjs ops in the
// maths): k-WTA attention written as "sort the allowed keys of each row by (score desc,
// index asc)", SFSA as explicit double sums and as the S/z recurrence with decay, and a
// float64 softmax relaxation for finite differences. Plus seeded spike tensors.
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { rng } from '../neurons/reference.js';

/** Sizes of a `[T, B, H, N, c]` problem. */
export interface Dims {
  T: number;
  B: number;
  H: number;
  Nq: number;
  Nk: number;
  d: number;
  dv: number;
}

/** Seeded 0/1 values with P(1) = p. */
export function spikeData(n: number, p: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => (r() < p ? 1 : 0));
}

/** Seeded q, k, v spikes (data and tensors) of the given sizes. */
export interface QKV {
  dims: Dims;
  qf: number[];
  kf: number[];
  vf: number[];
  q: Tensor;
  k: Tensor;
  v: Tensor;
}

/** Seeded spikes q `[T, B, H, Nq, d]`, k `[T, B, H, Nk, d]`, v `[T, B, H, Nk, dv]`. */
export function makeQKV(dims: Dims, p: number, seed: number): QKV {
  const { T, B, H, Nq, Nk, d, dv } = dims;
  return fromData(
    dims,
    spikeData(T * B * H * Nq * d, p, seed),
    spikeData(T * B * H * Nk * d, p, seed + 1),
    spikeData(T * B * H * Nk * dv, p, seed + 2),
  );
}

/** Tensors from given data. */
export function fromData(dims: Dims, qf: number[], kf: number[], vf: number[]): QKV {
  const { T, B, H, Nq, Nk, d, dv } = dims;
  return {
    dims,
    qf,
    kf,
    vf,
    q: tf.tensor(qf, [T, B, H, Nq, d]),
    k: tf.tensor(kf, [T, B, H, Nk, d]),
    v: tf.tensor(vf, [T, B, H, Nk, dv]),
  };
}

/** Free the tensors of a `QKV`. */
export function disposeQKV(x: QKV): void {
  tf.dispose([x.q, x.k, x.v]);
}

/** Flat index into `[T, B, H, N, c]` data. */
export function at(
  dims: Dims,
  t: number,
  b: number,
  h: number,
  n: number,
  N: number,
  c: number,
  C: number,
): number {
  return (((t * dims.B + b) * dims.H + h) * N + n) * C + c;
}

/** Options of the loop references. */
export interface RefOptions {
  causal: boolean;
  offset?: number;
  /** `[B][Nk]` 1 = token. */
  pad?: number[][];
}

function allowedKey(o: RefOptions, dims: Dims, b: number, i: number, j: number): boolean {
  const offset = o.offset ?? dims.Nk - dims.Nq;
  if (o.causal && j > offset + i) return false;
  return !o.pad || o.pad[b][j] !== 0;
}

/** Coincidence count of query row i and key row j (plain loop). */
function score(
  q: number[],
  k: number[],
  dims: Dims,
  t: number,
  b: number,
  h: number,
  i: number,
  j: number,
): number {
  let s = 0;
  for (let c = 0; c < dims.d; c++) {
    s += q[at(dims, t, b, h, i, dims.Nq, c, dims.d)] * k[at(dims, t, b, h, j, dims.Nk, c, dims.d)];
  }
  return s;
}

/** Result of a loop reference: O, row mass and output spikes, flat `[T, B, H, Nq, dv]`. */
export interface RefResult {
  O: number[];
  rowSum: number[];
  Y: number[];
  /** Flat `[T, B, H, Nq, Nk]` map. */
  map: number[];
}

/**
 * k-WTA attention by sorting: allowed keys of each row ordered by (score desc, index asc),
 * the first k with a positive score win. k = 1 is hard-argmax attention.
 */
export function wtaRef(
  q: number[],
  k: number[],
  v: number[],
  dims: Dims,
  kWin: number,
  theta: number,
  o: RefOptions,
): RefResult {
  const { T, B, H, Nq, Nk, dv } = dims;
  const O = new Array<number>(T * B * H * Nq * dv).fill(0);
  const rowSum = new Array<number>(T * B * H * Nq).fill(0);
  const map = new Array<number>(T * B * H * Nq * Nk).fill(0);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < Nq; i++) {
          const cands: [number, number][] = [];
          for (let j = 0; j < Nk; j++) {
            if (allowedKey(o, dims, b, i, j)) cands.push([score(q, k, dims, t, b, h, i, j), j]);
          }
          cands.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
          const winners = cands.slice(0, kWin).filter(([s]) => s > 0);
          const row = ((t * B + b) * H + h) * Nq + i;
          rowSum[row] = winners.length;
          for (const [, j] of winners) {
            map[row * Nk + j] = 1;
            for (let c = 0; c < dv; c++) O[row * dv + c] += v[at(dims, t, b, h, j, Nk, c, dv)];
          }
        }
  return { O, rowSum, map, Y: spikesRef(O, rowSum, dv, theta) };
}

/** `Y = 1[O / Z >= θ]`, 0 where Z = 0 (division form, float64). */
export function spikesRef(O: number[], rowSum: number[], dv: number, theta: number): number[] {
  return O.map((x, e) => {
    const z = rowSum[Math.floor(e / dv)];
    return z > 0 && x / z >= theta ? 1 : 0;
  });
}

/** SFSA by explicit sums: P_ij = Q_i·K_j (j <= i, unpadded), O = P V, Z = rowsum(P). */
export function sfsaRef(
  q: number[],
  k: number[],
  v: number[],
  dims: Dims,
  theta: number,
  pad?: number[][],
): RefResult {
  const { T, B, H, Nq, Nk, dv } = dims;
  const O = new Array<number>(T * B * H * Nq * dv).fill(0);
  const rowSum = new Array<number>(T * B * H * Nq).fill(0);
  const map = new Array<number>(T * B * H * Nq * Nk).fill(0);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < Nq; i++) {
          const row = ((t * B + b) * H + h) * Nq + i;
          for (let j = 0; j < Nk; j++) {
            if (!allowedKey({ causal: true, pad }, dims, b, i, j)) continue;
            const p = score(q, k, dims, t, b, h, i, j);
            map[row * Nk + j] = p;
            rowSum[row] += p;
            for (let c = 0; c < dv; c++) O[row * dv + c] += p * v[at(dims, t, b, h, j, Nk, c, dv)];
          }
        }
  return { O, rowSum, map, Y: spikesRef(O, rowSum, dv, theta) };
}

/** SFSA as the S/z recurrence with optional decay `S <- S − floor(S / 2^m) + Kᵀ V` (and z). */
export function sfsaRecurrentRef(
  q: number[],
  k: number[],
  v: number[],
  dims: Dims,
  theta: number,
  shift: number | null,
): RefResult {
  const { T, B, H, Nq: N, d, dv } = dims;
  const O = new Array<number>(T * B * H * N * dv).fill(0);
  const rowSum = new Array<number>(T * B * H * N).fill(0);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++) {
        const S = new Array<number>(d * dv).fill(0);
        const z = new Array<number>(d).fill(0);
        for (let i = 0; i < N; i++) {
          if (shift !== null) {
            for (let e = 0; e < S.length; e++) S[e] -= Math.floor(S[e] / 2 ** shift);
            for (let e = 0; e < d; e++) z[e] -= Math.floor(z[e] / 2 ** shift);
          }
          for (let a = 0; a < d; a++) {
            const ka = k[at(dims, t, b, h, i, N, a, d)];
            z[a] += ka;
            for (let c = 0; c < dv; c++) S[a * dv + c] += ka * v[at(dims, t, b, h, i, N, c, dv)];
          }
          const row = ((t * B + b) * H + h) * N + i;
          for (let a = 0; a < d; a++) {
            const qa = q[at(dims, t, b, h, i, N, a, d)];
            rowSum[row] += qa * z[a];
            for (let c = 0; c < dv; c++) O[row * dv + c] += qa * S[a * dv + c];
          }
        }
      }
  return { O, rowSum, map: [], Y: spikesRef(O, rowSum, dv, theta) };
}

/** Float64 masked softmax of one row `c / τ` over `allowed` (0 elsewhere). */
export function softmaxRow(c: number[], allowed: boolean[], tau: number): number[] {
  let mx = -Infinity;
  c.forEach((x, j) => {
    if (allowed[j]) mx = Math.max(mx, x / tau);
  });
  const e = c.map((x, j) => (allowed[j] ? Math.exp(x / tau - mx) : 0));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => (s > 0 ? x / s : 0));
}
