// The token mixers of the spiking students, one dispatch over src/attention: WSSA/CWSSA
// (arXiv 2604.11321, WE/WD), SFSA (arXiv 2605.13859, BiSpikCLM), and the ablation
// baselines Spikformer SSA and softmax spiking attention (methods-language.md 1(b)).
// Inputs are the Q/K/V neuron outputs per time step — spikes, or counts 0..D of an
// integer model. NOTE [P]: in the `expanded` coding the mixer integrates each step's D
// binary sub-steps into these counts (additions) before its products, so integer and
// spike inference agree exactly; ASN steps θ of Q/K/V sites shape their firing only.
// Decoding state per layer: cached K/V spikes (CWSSA, causal baselines, spike-cache.ts)
// or SFSA's recurrent integer state (constant memory per token).
// Maps for distillation, time-averaged `[B, H, Nq, Nk]`: WTA the binary map A; SFSA and
// SSA the row-normalised coincidences Â = r(P) / (r(Z) + 1e-6) (3(c)); softmax the
// probabilities. The per-step maps `[T, B, H, Nq, Nk]` come back on request.
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { ConfigError } from '../src/errors.js';
import {
  SpikeKVCache,
  sfsaParallel,
  sfsaRecurrent,
  softmaxSpikingAttention,
  spikformerSsa,
  wssa,
} from '../src/attention/index.js';
import type { SfsaState, SpikingAttentionResult } from '../src/attention/index.js';
import { makeLIFParams } from '../src/neurons/index.js';
import type { LIFParams } from '../src/neurons/index.js';
import type { ConfigReader } from './config.js';
import type { StudentAttention, StudentConfig } from './student-config.js';

/** Everything a mixer call needs from the config. */
export interface MixerSettings {
  kind: StudentAttention;
  causal: boolean;
  /** WTA winners per row. */
  k: number;
  /** Output threshold θo / θa (the baselines' LIF threshold). */
  threshold: number;
  tauS: number | null;
  decayShift: number | null;
  /** Output LIF of the baselines (Spikingformer's attention neuron with `threshold`). */
  lif: LIFParams;
}

/** Mixer settings of a parsed config. */
export function mixerSettings(c: StudentConfig, causal: boolean): MixerSettings {
  return {
    ...{ kind: c.attention_type, causal, k: c.wta_k, threshold: c.attention_threshold },
    ...{ tauS: c.wta_tau_s, decayShift: c.sfsa_decay_shift },
    lif: makeLIFParams({ vThreshold: c.attention_threshold, detachReset: true }),
  };
}

/**
 * The spiking mixers hold integer counts in float32; refuse sizes where they stop being
 * exact (`2^24`): WTA keys `(d·D² + 2)·N`, SFSA sums `d·D³·N` (D = counts per step).
 */
export function checkMixerRange(r: ConfigReader, c: StudentConfig, levels: number): void {
  const d = c.hidden_size / c.num_attention_heads;
  const N = c.max_position_embeddings;
  const exact = 2 ** 24;
  if (c.attention_type === 'wssa' || c.attention_type === 'cwssa') {
    r.require(
      (d * levels * levels + 2) * N <= exact,
      'max_position_embeddings',
      `is too long for exact WTA keys at head width ${d} and ${levels} counts per step`,
    );
  } else if (c.attention_type === 'sfsa') {
    r.require(
      d * levels ** 3 * N < exact,
      'max_position_embeddings',
      `is too long for exact SFSA sums at head width ${d} and ${levels} counts per step`,
    );
  }
}

/** Decoding state of one layer's mixer (owned by the decode state). */
export type MixerCache =
  { kind: 'kv'; kv: SpikeKVCache } | { kind: 'sfsa'; state: SfsaState | null };

/** A fresh per-layer decoding cache for `kind`. */
export function newMixerCache(kind: StudentAttention, maxPositions: number): MixerCache {
  return kind === 'sfsa'
    ? { kind: 'sfsa', state: null }
    : { kind: 'kv', kv: new SpikeKVCache(maxPositions) };
}

/** Free a layer's decoding cache. */
export function disposeMixerCache(c: MixerCache): void {
  if (c.kind === 'kv') c.kv.dispose();
  else if (c.state) tf.dispose([c.state.S, c.state.z]);
}

/** Per-call options of `runMixer`. */
export interface MixerCall {
  /** `[B, Nk]` 1 = token, 0 = padding over every key (cached + new while decoding). */
  attentionMask?: Tensor | null;
  /** Decoding: this layer's cache, updated in place (the new state is kept). */
  cache?: MixerCache | null;
  /** Use the integer (no customGrad) forms; same values. */
  inference: boolean;
  wantMap: boolean;
  wantSpikeMap: boolean;
  /** Layer name for energy reports. */
  name: string;
}

/** Output spikes `[T, B, H, Nq, d]` and, on request, the maps. */
export interface MixerResult {
  y: Tensor;
  map?: Tensor;
  spikeMap?: Tensor;
}

/** `r(P) / (rowsum(r(P)) + 1e-6)` of a time-mean map `[B, H, Nq, Nk]`. */
function normaliseRows(rp: Tensor): Tensor {
  return tf.div(rp, tf.add(tf.sum(rp, -1, true), 1e-6)); // [B, H, Nq, Nk]
}

/** `mean_T(P) / (mean_T(Z) + 1e-6)`: P `[T, B, H, Nq, Nk]` -> `[B, H, Nq, Nk]`. */
function rowNormalised(p: Tensor): Tensor {
  return normaliseRows(tf.mean(p, 0)); // [B, H, Nq, Nk]
}

/**
 * The distillation map of a mixer from the time mean `[B, H, Nq, Nk]` of its per-step maps
 * (the `spikeMap`s): row-normalised for SFSA and SSA, the mean itself for WTA and softmax.
 * `forward`'s maps are exactly this of the mean of its per-step maps.
 */
export function mapFromMean(kind: StudentAttention, mean: Tensor): Tensor {
  return kind === 'sfsa' || kind === 'ssa' ? normaliseRows(mean) : mean;
}

/** Whether a mixer carries state across the T steps (the baselines' output LIF runs over T). */
export function mixesAcrossTime(kind: StudentAttention): boolean {
  return kind === 'ssa' || kind === 'softmax_spiking';
}

/**
 * Mix q `[T, B, H, n, d]`, k, v (spikes or counts of the n new positions) -> spikes.
 * With `call.cache` the keys are every cached position plus these. Run under a tidy.
 */
export function runMixer(
  s: MixerSettings,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  call: MixerCall,
): MixerResult {
  const wantAny = call.wantMap || call.wantSpikeMap;
  const cache = call.cache ?? null;
  const mask = call.attentionMask ?? null;
  if (s.kind === 'sfsa') {
    if (cache && cache.kind === 'sfsa') {
      // Padded positions (the last n columns of the mask) add nothing to the state: K = 0.
      const kIn = mask ? tf.mul(k, newKeyMask(mask, k.shape[3] as number)) : k;
      const r = sfsaRecurrent(q, kIn, v, {
        ...{ state: cache.state, decayShift: s.decayShift, threshold: s.threshold },
        ...{ inference: call.inference, name: call.name },
      });
      if (cache.state) tf.dispose([cache.state.S, cache.state.z]);
      cache.state = { S: tf.keep(r.state.S), z: tf.keep(r.state.z) };
      return { y: r.spikes };
    }
    if (s.decayShift !== null) {
      if (wantAny) {
        throw new ConfigError('attention maps need the parallel SFSA form (sfsa_decay_shift null)');
      }
      const base = { decayShift: s.decayShift, threshold: s.threshold, name: call.name };
      return { y: sfsaRecurrent(q, k, v, { ...base, inference: call.inference }).spikes };
    }
    const r = sfsaParallel(q, k, v, {
      ...{ threshold: s.threshold, attentionMask: mask, inference: call.inference },
      ...{ returnCounts: wantAny, name: call.name },
    });
    const p = r.counts?.scores; // [T, B, H, N, N] integer P
    return withMaps({ y: r.spikes }, p, p && call.wantMap ? rowNormalised(p) : undefined, call);
  }
  let keys = k;
  let values = v;
  if (cache && cache.kind === 'kv') ({ keys, values } = cache.kv.append(k, v)); // [T, B, H, Nk, *]
  const common = { attentionMask: mask, name: call.name };
  let r: SpikingAttentionResult;
  if (s.kind === 'wssa' || s.kind === 'cwssa') {
    r = wssa(q, keys, values, {
      ...common,
      ...{ causal: s.causal, k: s.k, threshold: s.threshold, inference: call.inference },
      ...(s.tauS === null ? {} : { tauS: s.tauS }),
      returnMap: wantAny,
    });
    const a = r.map; // [T, B, H, Nq, Nk] 0/1
    return withMaps({ y: r.spikes }, a, a && call.wantMap ? tf.mean(a, 0) : undefined, call);
  }
  const base = { ...common, causal: s.causal, neuron: s.lif, returnMap: wantAny };
  if (s.kind === 'ssa') {
    r = spikformerSsa(q, keys, values, base);
    const p = r.map; // [T, B, H, Nq, Nk] integer Q Kᵀ (masked)
    return withMaps({ y: r.spikes }, p, p && call.wantMap ? rowNormalised(p) : undefined, call);
  }
  r = softmaxSpikingAttention(q, keys, values, base);
  const p = r.map; // [T, B, H, Nq, Nk] probabilities
  return withMaps({ y: r.spikes }, p, p && call.wantMap ? tf.mean(p, 0) : undefined, call);
}

/** The last `n` columns of a key mask `[B, Nk]` as `[1, B, 1, n, 1]` float 0/1. */
function newKeyMask(mask: Tensor, n: number): Tensor {
  const [B, Nk] = mask.shape as [number, number];
  const m = tf.cast(tf.notEqual(tf.slice(mask, [0, Nk - n], [B, n]), 0), 'float32'); // [B, n]
  return tf.reshape(m, [1, B, 1, n, 1]);
}

function withMaps(
  out: MixerResult,
  spikeMap: Tensor | undefined,
  map: Tensor | undefined,
  call: MixerCall,
): MixerResult {
  if (map) out.map = map;
  if (spikeMap && call.wantSpikeMap) out.spikeMap = spikeMap;
  return out;
}
