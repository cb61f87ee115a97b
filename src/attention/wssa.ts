// WSSA (bidirectional) and CWSSA (causal) winner-take-all spiking self-attention, the
// token mixers of WE-/WD-Spikingformer (arXiv 2604.11321). The paper's equations are not
// available; this is the [P] design of methods-language.md 1(b)-(d):
//   C = Q Kᵀ (coincidence counts 0..d) -> mask (−1) -> k-WTA map A (wta.ts)
//   O = A V (integers 0..k), m = rowsum(A) = |W_i| <= k
//   Y = SN_θo(O / max(m, 1))  training; `1[O >= θo·m]·1[m > 0]` inference (no division)
// Defaults [P]: k = 1, θo = 0.5 (Spikingformer's attention neuron threshold), τ_s =
// sqrt(d)/2, sigmoid surrogate α = 4 for the output neuron (spiking-common.ts).
// The `1/m` of the normalisation is a constant of the backward (1(b) "after the 1/m_i
// scaling"); Q and K get gradients only through the WTA surrogate, V through `O = A V`.
//
// Incremental decoding (CWSSA): pass the new queries with the cached keys/values of every
// past position and time step (spike-cache.ts) — query i sits at `offset + i`, default
// `Nk − Nq` — and the rows equal those of the full computation bit for bit.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { matMul } from '../ops/index.js';
import { checkFinite, ConfigError, ShapeError } from '../errors.js';
import type { Surrogate } from '../neurons/index.js';
import {
  allowedMask,
  checkCount,
  checkNonNegativeInt,
  checkSpikeQKV,
  checkThresholdOption,
  defaultAttentionSurrogate,
  integerSpikes,
  mergeLead,
  pairCount,
  ratioSpikes,
  reportOther,
  reportProduct,
  splitLead,
} from './spiking-common.js';
import type { SpikingAttentionResult } from './spiking-common.js';
import { WTA_KEY_LIMIT, wtaHardMap, wtaMap, wtaSoftMap } from './wta.js';

/** Options of `wssa` / `cwssa`. */
export interface WssaOptions {
  /** Causal mask before the top-k (CWSSA). Default false (WSSA); `cwssa` sets it. */
  causal?: boolean;
  /** Winners per query row, `k >= 1` (k >= Nk: every positive allowed key). Default 1. */
  k?: number;
  /** Output threshold θo > 0 on the normalised aggregate `O/m`. Default 0.5. */
  threshold?: number;
  /** `[B, Nk]` 1 = token, 0 = padding (padded keys never win). */
  attentionMask?: Tensor | null;
  /** Causal only: query i sits at absolute position `offset + i`. Default `Nk − Nq`. */
  offset?: number;
  /** Softmax-Jacobian surrogate for the WTA backward. Default true; false: ∂/∂Q = ∂/∂K = 0. */
  wtaSurrogate?: boolean;
  /** Temperature τ_s > 0 of the surrogate softmax. Default `sqrt(d) / 2`. */
  tauS?: number;
  /** Surrogate of the output neuron (neuron core). Default sigmoid, α = 4. */
  surrogate?: Surrogate;
  /** Inference form: integer comparison `O >= θo·m`, no customGrad, no gradients. Default false. */
  inference?: boolean;
  /** Return the binary map `A` as `map` (0/1, at most k ones per row). */
  returnMap?: boolean;
  /**
   * Return `softMap`: the surrogate `P = softmax(C'/τ_s)` over allowed keys, differentiable
   * w.r.t. Q and K (a distillation target for the map; rows sum to 1, or 0 if none allowed).
   */
  returnSoftMap?: boolean;
  /** Return `counts`: `output` = O (integers 0..k) and `rowSum` = m (integers 0..k). */
  returnCounts?: boolean;
  /** Layer name for energy reports (`<name>.qk`, `<name>.av`, `<name>.topk`). Default `wssa`/`cwssa`. */
  name?: string;
}

/**
 * Winner-take-all spiking self-attention. q `[T, B, H, Nq, d]`, k `[T, B, H, Nk, d]`,
 * v `[T, B, H, Nk, dv]`, all 0/1 spikes -> `spikes` `[T, B, H, Nq, dv]` (plus `map`,
 * `softMap`, `counts` on request). Pure; every intermediate is freed.
 */
export function wssa(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: WssaOptions = {},
): SpikingAttentionResult {
  const causal = options.causal ?? false;
  const fn = causal ? 'cwssa' : 'wssa';
  const dims = checkSpikeQKV(fn, q, k, v);
  const { T, B, H, Nq, Nk, d } = dims;
  const kWin = checkCount(fn, options.k ?? 1, 'k');
  const theta = checkThresholdOption(fn, options.threshold ?? 0.5);
  const tauS = options.tauS ?? Math.sqrt(d) / 2;
  checkFinite(tauS, `${fn}: tauS`);
  if (tauS <= 0) throw new ConfigError(`${fn}: tauS must be > 0, got ${tauS}`);
  if (!causal && options.offset !== undefined) {
    throw new ConfigError(`${fn}: offset applies to the causal form only (use cwssa)`);
  }
  const offset = checkNonNegativeInt(fn, options.offset ?? Nk - Nq, 'offset');
  if ((d + 2) * Nk > WTA_KEY_LIMIT) {
    throw new ShapeError(`${fn}: (d + 2) * Nk = ${(d + 2) * Nk} exceeds the exact key range`);
  }
  const sg = options.surrogate ?? defaultAttentionSurrogate();
  const inference = options.inference ?? false;
  const name = options.name ?? fn;

  return tf.tidy(() => {
    const allowed = allowedMask(fn, dims, causal, offset, options.attentionMask); // 0/1 or null
    const c = splitLead(matMul(mergeLead(q), mergeLead(k), false, true), dims); // [T, B, H, Nq, Nk]
    const surrogate = options.wtaSurrogate ?? true;
    const a = inference // [T, B, H, Nq, Nk] 0/1, at most k ones per row
      ? wtaHardMap(c, allowed, kWin, d)
      : wtaMap(c, allowed, { k: kWin, tauS, maxScore: d, surrogate });
    const o = splitLead(matMul(mergeLead(a), mergeLead(v)), dims); // [T, B, H, Nq, dv] 0..k
    const m = tf.sum(a, -1, true); // [T, B, H, Nq, 1] 0..k
    const spikes = inference ? integerSpikes(o, m, theta) : ratioSpikes(o, m, theta, sg, false);

    // Energy (6.1): both products over the M allowed pairs per head; top-k comparisons apart.
    // NOTE: the counter takes fr_A over all Nq·Nk map entries, so for a causal map it is the
    // 6.1 fr_A (over allowed entries) times M / (Nq·Nk).
    const M = pairCount(Nq, Nk, offset, causal);
    reportProduct(`${name}.qk`, q, k, T, B * H * M * d);
    reportProduct(`${name}.av`, a, v, T, B * H * M * dims.dv);
    if (kWin < Nk) reportOther(`${name}.topk`, 'topk', c, T, B * H * M);

    const result: SpikingAttentionResult = { spikes }; // [T, B, H, Nq, dv]
    if (options.returnMap) result.map = a;
    if (options.returnSoftMap) result.softMap = wtaSoftMap(c, allowed, tauS);
    if (options.returnCounts) result.counts = { output: o, rowSum: m };
    return result as unknown as tf.TensorContainer;
  }) as unknown as SpikingAttentionResult;
}

/** Causal WSSA (WD-Spikingformer): `wssa` with the causal mask applied before the top-k. */
export function cwssa(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: Omit<WssaOptions, 'causal'> = {},
): SpikingAttentionResult {
  return wssa(q, k, v, { ...options, causal: true });
}
