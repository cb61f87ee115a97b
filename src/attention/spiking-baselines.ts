// Ablation baselines next to WSSA/SFSA (methods-language.md 0.5 and 1(b) "ablation
// baselines"); same spike inputs, only the token mixer changes:
// - Spikformer/Spikingformer SSA [V, github.com/zhouchenlin2096/Spikingformer]:
//   `Y = SN_0.5(Q (Kᵀ V) · 0.125)`, bidirectional, linear in N because `Kᵀ V` comes first;
//   the causal variant re-orders the product as `(Q Kᵀ ⊙ M) V · scale` [P].
// - Softmax spiking self-attention: `Y = SN(softmax(Q Kᵀ · s + mask) V)`, s = 1/sqrt(d),
//   spikes in and a float softmax inside (what spiking LMs relied on before WTA).
// SN is the neuron core's multi-step LIF over the T axis; default Spikingformer's
// attention neuron [V]: tau 2 (decay_input), threshold 0.5, hard reset to 0, reset
// detached, sigmoid surrogate α = 4. Using it for the softmax baseline too is ours [P].
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { matMul } from '../ops/index.js';
import { checkFinite, ConfigError } from '../errors.js';
import { lifMultiStep, makeLIFParams } from '../neurons/index.js';
import type { LIFParams } from '../neurons/index.js';
import { MASK_VALUE } from './mask.js';
import {
  allowedMask,
  checkNonNegativeInt,
  checkSpikeQKV,
  mergeLead,
  pairCount,
  reportOther,
  reportProduct,
  splitLead,
} from './spiking-common.js';
import type { SpikingAttentionResult } from './spiking-common.js';

/** Options of the baseline mixers. */
export interface SpikingBaselineOptions {
  /** Causal mask. Default false. */
  causal?: boolean;
  /** `[B, Nk]` 1 = token, 0 = padding. */
  attentionMask?: Tensor | null;
  /** Causal only: query i sits at absolute position `offset + i`. Default `Nk − Nq`. */
  offset?: number;
  /** Score/output scale. Default 0.125 (SSA), `1 / sqrt(d)` (softmax). */
  scale?: number;
  /** Output neuron (LIF/IF of the neuron core). Default Spikingformer's attention LIF, θ 0.5. */
  neuron?: LIFParams;
  /** Return `map`: SSA the integer `Q Kᵀ` (masked), softmax the probabilities. */
  returnMap?: boolean;
  /** Return `current`, the input of the output neuron `[T, B, H, Nq, dv]`. */
  returnCurrent?: boolean;
  /** Layer name for energy reports. Default `ssa` / `softmax_ssa`. */
  name?: string;
}

let attentionLif: LIFParams | null = null;

/** Spikingformer's attention neuron: LIF tau 2, threshold 0.5, hard reset 0, reset detached. */
export function spikingformerAttentionLIF(): LIFParams {
  attentionLif ??= makeLIFParams({ vThreshold: 0.5, detachReset: true });
  return attentionLif;
}

function prepare(fn: string, q: Tensor, k: Tensor, v: Tensor, options: SpikingBaselineOptions) {
  const dims = checkSpikeQKV(fn, q, k, v);
  const causal = options.causal ?? false;
  if (!causal && options.offset !== undefined) {
    throw new ConfigError(`${fn}: offset applies to the causal form only`);
  }
  const offset = checkNonNegativeInt(fn, options.offset ?? dims.Nk - dims.Nq, 'offset');
  const scale = options.scale ?? (fn === 'ssa' ? 0.125 : 1 / Math.sqrt(dims.d));
  checkFinite(scale, `${fn}: scale`);
  if (scale <= 0) throw new ConfigError(`${fn}: scale must be > 0, got ${scale}`);
  const neuron = options.neuron ?? spikingformerAttentionLIF();
  return { dims, causal, offset, scale, neuron, name: options.name ?? fn };
}

/**
 * Spikformer/Spikingformer SSA. q `[T, B, H, Nq, d]`, k `[T, B, H, Nk, d]`, v
 * `[T, B, H, Nk, dv]` spikes -> `spikes` `[T, B, H, Nq, dv]`. Pure.
 */
export function spikformerSsa(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: SpikingBaselineOptions = {},
): SpikingAttentionResult {
  const { dims, causal, offset, scale, neuron, name } = prepare('ssa', q, k, v, options);
  const { T, B, H, Nq, Nk, d, dv } = dims;
  return tf.tidy(() => {
    const allowed = allowedMask('ssa', dims, causal, offset, options.attentionMask); // 0/1 or null
    const scores = (): Tensor => {
      const c = splitLead(matMul(mergeLead(q), mergeLead(k), false, true), dims); // [T, B, H, Nq, Nk]
      return allowed ? tf.mul(c, allowed) : c;
    };
    let current: Tensor;
    let map: Tensor | null = null;
    if (causal) {
      map = scores(); // [T, B, H, Nq, Nk] integers 0..d
      current = tf.mul(splitLead(matMul(mergeLead(map), mergeLead(v)), dims), scale);
      const M = pairCount(Nq, Nk, offset, true);
      reportProduct(`${name}.qk`, q, k, T, B * H * M * d);
      reportProduct(`${name}.av`, map, v, T, B * H * M * dv);
    } else {
      // Padding (if any) is a per-key mask: zero the padded keys, then Kᵀ V first.
      const kk = allowed ? tf.mul(k, tf.reshape(allowed, [1, B, 1, Nk, 1])) : k; // [T, B, H, Nk, d]
      const kv = matMul(mergeLead(kk), mergeLead(v), true, false); // [T*B*H, d, dv]
      current = tf.mul(splitLead(matMul(mergeLead(q), kv), dims), scale); // [T, B, H, Nq, dv]
      reportProduct(`${name}.kv`, kk, v, T, B * H * Nk * d * dv);
      reportProduct(`${name}.q_kv`, q, null, T, B * H * Nq * d * dv);
      if (options.returnMap) map = scores();
    }
    const spikes = lifMultiStep(current, neuron).spikes; // [T, B, H, Nq, dv]
    const result: SpikingAttentionResult = { spikes };
    if (options.returnMap && map) result.map = map;
    if (options.returnCurrent) result.current = current;
    return result as unknown as tf.TensorContainer;
  }) as unknown as SpikingAttentionResult;
}

/**
 * Softmax spiking self-attention `SN(softmax(Q Kᵀ · s + mask) V)`. Same shapes as
 * `spikformerSsa`. A row without any allowed key is uniform over all keys (as Hugging
 * Face's finite mask value gives). Pure.
 */
export function softmaxSpikingAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: SpikingBaselineOptions = {},
): SpikingAttentionResult {
  const { dims, causal, offset, scale, neuron, name } = prepare('softmax_ssa', q, k, v, options);
  const { T, B, H, Nq, Nk, d, dv } = dims;
  return tf.tidy(() => {
    const allowed = allowedMask('softmax_ssa', dims, causal, offset, options.attentionMask);
    const c = splitLead(matMul(mergeLead(q), mergeLead(k), false, true), dims); // [T, B, H, Nq, Nk]
    const s = tf.mul(c, scale); // [T, B, H, Nq, Nk]
    const logits = allowed ? tf.add(s, tf.mul(tf.sub(1, allowed), MASK_VALUE)) : s;
    const probs = tf.softmax(logits); // [T, B, H, Nq, Nk]
    const current = splitLead(matMul(mergeLead(probs), mergeLead(v)), dims); // [T, B, H, Nq, dv]
    const spikes = lifMultiStep(current, neuron).spikes; // [T, B, H, Nq, dv]

    const M = pairCount(Nq, Nk, offset, causal);
    reportProduct(`${name}.qk`, q, k, T, B * H * M * d);
    reportProduct(`${name}.av`, v, null, T, B * H * M * dv); // dense probabilities × V spikes
    reportOther(`${name}.softmax`, 'softmax', probs, T, B * H * M);

    const result: SpikingAttentionResult = { spikes };
    if (options.returnMap) result.map = probs;
    if (options.returnCurrent) result.current = current;
    return result as unknown as tf.TensorContainer;
  }) as unknown as SpikingAttentionResult;
}
