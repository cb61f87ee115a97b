// Analytic operation counts from layer shapes (methods-language.md 6.1): FLOPs of
// linear/conv layers and of a spiking Transformer block, and the spiking attention
// AC formulas — Spikingformer's `T·H·N·d²·(min(fr_K, fr_V) + fr_Q)` ([V], its energy
// script) and the token-map form for WSSA/CWSSA/SFSA ([P]).
import { ConfigError, checkPositiveInt } from '../errors.js';
import type { AttentionConvention } from './config.js';

/** Assert a firing rate lies in [0, 1], naming it in the error. */
export function checkRate(value: number, name: string): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new ConfigError(`${name} must be a firing rate in [0, 1], got ${String(value)}`);
  }
}

function checkCount(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
}

/** MACs of `tokens` rows through a `in → out` linear layer (`+ out` adds per row with bias). */
export function linearFlops(
  tokens: number,
  inFeatures: number,
  outFeatures: number,
  bias = false,
): number {
  checkCount(tokens, 'tokens');
  checkPositiveInt(inFeatures, 'inFeatures');
  checkPositiveInt(outFeatures, 'outFeatures');
  return tokens * (inFeatures * outFeatures + (bias ? outFeatures : 0));
}

/** Shape of a 2-D convolution, counted per output position. */
export interface Conv2dShape {
  inChannels: number;
  outChannels: number;
  /** Square kernel side. */
  kernel: number;
  outHeight: number;
  outWidth: number;
  bias?: boolean;
  groups?: number;
}

/** MACs of one image through a conv layer: `H_out · W_out · C_out · (C_in/groups · k² [+ 1 bias])`. */
export function conv2dFlops(s: Conv2dShape): number {
  const groups = s.groups ?? 1;
  for (const [k, v] of Object.entries({ ...s, groups })) {
    if (k !== 'bias') checkPositiveInt(v as number, k);
  }
  if (s.inChannels % groups !== 0) {
    throw new ConfigError(`inChannels ${s.inChannels} is not divisible by groups ${groups}`);
  }
  const perPosition = (s.inChannels / groups) * s.kernel * s.kernel + (s.bias ? 1 : 0);
  return s.outHeight * s.outWidth * s.outChannels * perPosition;
}

/** Per-sub-layer FLOPs of one spiking Transformer block for ONE time step (table of 6.1). */
export interface BlockFlops {
  /** Q, K, V projections together: `3 · N · D²`. */
  qkv: number;
  /** Output projection: `N · D²`. */
  out: number;
  /** MLP up: `N · D · hidden` (`4 · N · D²` for hidden = 4D). */
  mlp_up: number;
  /** MLP down: `N · hidden · D`. */
  mlp_down: number;
  /** Sum of the four weight layers (the attention product is counted separately). */
  total: number;
}

/** FLOPs of the weight layers of one block from (N, D, hidden = 4D), no biases. */
export function transformerBlockFlops(N: number, D: number, hidden = 4 * D): BlockFlops {
  checkPositiveInt(N, 'N');
  checkPositiveInt(D, 'D');
  checkPositiveInt(hidden, 'hidden');
  const qkv = 3 * N * D * D;
  const out = N * D * D;
  const mlp_up = N * D * hidden;
  const mlp_down = N * hidden * D;
  return { qkv, out, mlp_up, mlp_down, total: qkv + out + mlp_up + mlp_down };
}

/** FLOPs of the LM head for one time step: `N · D · V`. */
export function lmHeadFlops(N: number, D: number, V: number): number {
  return linearFlops(N, D, V);
}

/** Entries of an `N × N` token map: `N²`, or `N(N+1)/2` when causal. */
export function attentionMapEntries(N: number, causal: boolean): number {
  checkPositiveInt(N, 'N');
  return causal ? (N * (N + 1)) / 2 : N * N;
}

/** The effective rate of a product of two spike operands under a convention. */
export function combineRates(a: number, b: number, convention: AttentionConvention): number {
  switch (convention) {
    case 'one-operand':
      return Math.min(a, b);
    case 'two-operand':
      return a * b;
    default:
      throw new ConfigError(
        `attention must be one of one-operand, two-operand, got ${JSON.stringify(convention)}`,
      );
  }
}

/** Sizes and rates of one spiking attention block. `d = D / H` is the head width. */
export interface AttentionRates {
  T: number;
  H: number;
  N: number;
  d: number;
  frQ: number;
  frK: number;
  frV: number;
}

/**
 * Spikingformer SSA with `(Kᵀ V)` first: `T · H · N · d² · (c(fr_K, fr_V) + fr_Q)`,
 * `c` = min (one-operand, the script's choice) or product (two-operand).
 */
export function spikformerAttentionAcs(
  r: AttentionRates,
  convention: AttentionConvention = 'one-operand',
): number {
  checkAttention(r);
  return r.T * r.H * r.N * r.d * r.d * (combineRates(r.frK, r.frV, convention) + r.frQ);
}

/** Token-map attention (WSSA/CWSSA/SFSA parallel form) adds the map density `frA`. */
export interface TokenMapRates extends AttentionRates {
  /** Density of the attention map over its allowed entries (≤ k/N for k-WTA). */
  frA: number;
  causal: boolean;
}

/** `T · H · M · d · (c(fr_Q, fr_K) + c(fr_A, fr_V))`, `M` = map entries (causal: `N(N+1)/2`). */
export function tokenMapAttentionAcs(
  r: TokenMapRates,
  convention: AttentionConvention = 'one-operand',
): number {
  checkAttention(r);
  checkRate(r.frA, 'frA');
  const M = attentionMapEntries(r.N, r.causal);
  return (
    r.T *
    r.H *
    M *
    r.d *
    (combineRates(r.frQ, r.frK, convention) + combineRates(r.frA, r.frV, convention))
  );
}

/**
 * Integer comparisons of a top-k selection over each map row, a non-AC op: `T · H · M`.
 * NOTE: 6.1 writes `T · H · N²`; for a causal map we count the `N(N+1)/2` allowed
 * entries, as the AC formula does (a row compares only the entries it can select).
 */
export function topkComparisons(T: number, H: number, N: number, causal: boolean): number {
  checkPositiveInt(T, 'T');
  checkPositiveInt(H, 'H');
  return T * H * attentionMapEntries(N, causal);
}

function checkAttention(r: AttentionRates): void {
  for (const k of ['T', 'H', 'N', 'd'] as const) checkPositiveInt(r[k], k);
  for (const k of ['frQ', 'frK', 'frV'] as const) checkRate(r[k], k);
}
