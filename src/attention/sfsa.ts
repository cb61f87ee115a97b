// SFSA, softmax-free spiking attention of BiSpikCLM (arXiv 2605.13859; the paper's
// equations are not available, this is the [P] design of methods-language.md 3(b)):
// causal linear attention on spikes with an integer row normaliser and no division.
//   parallel (training):  P = (Q Kᵀ) ⊙ M (M_ij = 1[j <= i]),  O = P V,  Z = rowsum(P)
//   recurrent (decoding): S_i = S_{i-1} + K_iᵀ V_i,  z_i = z_{i-1} + K_i,
//                         O_i = Q_i S_i,  Z_i = Q_i · z_i          (state S [d, dv], z [d])
//   spikes:               Y = 1[O >= θa·Z] · 1[Z > 0],  θa = 0.5 by default
// Both forms give the same integers O and Z bit for bit: all values are integers held in
// float32, exact while every partial sum stays below 2^24, i.e. `max(d, dv)·L < 2^24` for
// L positions (S, z <= L; O, Z <= d·L): about 262k positions at d = 64.
// Optional state decay [P] (recurrent form only; floor is not linear, so it has no
// parallel form): `S <- S − floor(S / 2^m) + Kᵀ V`, i.e. `S − (S >> m)` on the
// non-negative integer state. NOTE: the same decay is applied to z (3(b) names only S):
// an undecayed normaliser would keep growing while O stays bounded, so Y would fall
// silent on long contexts.
// Training path [P, our choice]: the current `O/Z − θa` (−θa where Z = 0; computed as
// `(O − θa·Z)/Z`, see spiking-common.ts) goes through the neuron core's surrogate spike,
// with gradients to O and Z (hence Q, K, V) — the forward equals the integer form.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { matMul } from '../ops/index.js';
import { ShapeError } from '../errors.js';
import type { Surrogate } from '../neurons/index.js';
import {
  allowedMask,
  checkCount,
  checkSpikeQKV,
  checkThresholdOption,
  defaultAttentionSurrogate,
  integerSpikes,
  mergeLead,
  pairCount,
  ratioSpikes,
  reportProduct,
  splitLead,
} from './spiking-common.js';
import type { SpikeDims, SpikingAttentionResult } from './spiking-common.js';

/** Options shared by both SFSA forms. */
export interface SfsaOptions {
  /** Attention threshold θa > 0 on `O/Z`. Default 0.5. */
  threshold?: number;
  /** `[B, N]` 1 = token, 0 = padding (padded keys add nothing to P, S or z). */
  attentionMask?: Tensor | null;
  /** Surrogate of the output neuron (neuron core). Default sigmoid, α = 4. */
  surrogate?: Surrogate;
  /** Integer comparison `O >= θa·Z` only, no gradients. Default false. */
  inference?: boolean;
  /** Parallel form: return `map` = `Â = P / (Z + 1e-6)` `[T, B, H, N, N]` per time step (SpAD). */
  returnMap?: boolean;
  /** Return `counts`: O, Z (and, parallel form, the integer map P as `scores`). */
  returnCounts?: boolean;
  /** Layer name for energy reports. Default `sfsa`. */
  name?: string;
}

/** Recurrent state: `S` `[T, B, H, d, dv]` and `z` `[T, B, H, d]`, integer counts in float32. */
export interface SfsaState {
  S: Tensor;
  z: Tensor;
}

/** Options of `sfsaRecurrent`. */
export interface SfsaRecurrentOptions extends Omit<SfsaOptions, 'returnMap'> {
  /** State after the previous positions; default: zeros (start of the sequence). */
  state?: SfsaState | null;
  /** Decay shift m >= 1: `S <- S − floor(S / 2^m) + Kᵀ V` (and z). Default null: no decay. */
  decayShift?: number | null;
}

/** Result of `sfsaRecurrent`: the outputs and the state after the last position. */
export interface SfsaRecurrentResult extends SpikingAttentionResult {
  state: SfsaState;
}

const FN = 'sfsa';

function checkSelf(fn: string, dims: SpikeDims): void {
  if (dims.Nq !== dims.Nk) {
    throw new ShapeError(
      `${fn}: q and k must cover the same ${dims.Nq} positions, k has ${dims.Nk}`,
    );
  }
}

function outputSpikes(o: Tensor, z: Tensor, theta: number, options: SfsaOptions): Tensor {
  return options.inference
    ? integerSpikes(o, z, theta)
    : ratioSpikes(o, z, theta, options.surrogate ?? defaultAttentionSurrogate(), true);
}

/**
 * Parallel SFSA over a whole sequence from position 0. q, k `[T, B, H, N, d]`, v
 * `[T, B, H, N, dv]`, 0/1 spikes -> `spikes` `[T, B, H, N, dv]`. Pure.
 */
export function sfsaParallel(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: SfsaOptions = {},
): SpikingAttentionResult {
  const dims = checkSpikeQKV(FN, q, k, v);
  checkSelf(FN, dims);
  const theta = checkThresholdOption(FN, options.threshold ?? 0.5);
  const { T, B, H, Nq: N, d, dv } = dims;
  const name = options.name ?? FN;
  return tf.tidy(() => {
    const allowed = allowedMask(FN, dims, true, 0, options.attentionMask); // 0/1 or null (N = 1)
    const c = splitLead(matMul(mergeLead(q), mergeLead(k), false, true), dims); // [T, B, H, N, N]
    const p = allowed ? tf.mul(c, allowed) : c; // [T, B, H, N, N] 0..d
    const o = splitLead(matMul(mergeLead(p), mergeLead(v)), dims); // [T, B, H, N, dv]
    const z = tf.sum(p, -1, true); // [T, B, H, N, 1]
    const spikes = outputSpikes(o, z, theta, options); // [T, B, H, N, dv]

    // NOTE: P is integer-valued; the AV report counts its non-zeros (the 6.1 fr_A).
    const M = pairCount(N, N, 0, true);
    reportProduct(`${name}.qk`, q, k, T, B * H * M * d);
    reportProduct(`${name}.av`, p, v, T, B * H * M * dv);

    const result: SpikingAttentionResult = { spikes };
    if (options.returnMap) result.map = tf.div(p, tf.add(z, 1e-6)); // [T, B, H, N, N]
    if (options.returnCounts) result.counts = { output: o, rowSum: z, scores: p };
    return result as unknown as tf.TensorContainer;
  }) as unknown as SpikingAttentionResult;
}

/** A zero SFSA state for `[T, B, H]` heads of width d (keys) and dv (values). */
export function initialSfsaState(T: number, B: number, H: number, d: number, dv = d): SfsaState {
  return { S: tf.zeros([T, B, H, d, dv]), z: tf.zeros([T, B, H, d]) };
}

/**
 * Recurrent SFSA: the constant-size state form for decoding (one JS step per position,
 * every time step, batch row and head batched). Same inputs and spikes as `sfsaParallel`
 * (for a continuation, pass `state`); returns the new state. Pure: the input state is
 * neither changed nor disposed.
 */
export function sfsaRecurrent(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: SfsaRecurrentOptions = {},
): SfsaRecurrentResult {
  const dims = checkSpikeQKV(FN, q, k, v);
  checkSelf(FN, dims);
  const theta = checkThresholdOption(FN, options.threshold ?? 0.5);
  const shift = options.decayShift ?? null;
  if (shift !== null) checkCount(FN, shift, 'decayShift');
  const { T, B, H, Nq: N, d, dv } = dims;
  const Mb = T * B * H;
  const st = options.state ?? null;
  if (
    st &&
    (st.S.shape.join() !== [T, B, H, d, dv].join() || st.z.shape.join() !== [T, B, H, d].join())
  ) {
    throw new ShapeError(
      `${FN}: state must be S [${[T, B, H, d, dv].join(', ')}] and z [${[T, B, H, d].join(', ')}], got S [${st.S.shape.join(', ')}] and z [${st.z.shape.join(', ')}]`,
    );
  }
  if (options.attentionMask && options.attentionMask.shape.join() !== [B, N].join()) {
    throw new ShapeError(
      `${FN}: attentionMask must be [B, N] = [${B}, ${N}], got [${options.attentionMask.shape.join(', ')}]`,
    );
  }
  const name = options.name ?? FN;
  return tf.tidy(() => {
    const pad = options.attentionMask
      ? tf.reshape(tf.cast(tf.notEqual(options.attentionMask, 0), 'float32'), [1, B, 1, N, 1])
      : null;
    const kk = pad ? tf.mul(k, pad) : k; // [T, B, H, N, d]: a padded key adds nothing
    const qs = tf.unstack(mergeLead(q), 1); // N x [Mb, d]
    const ks = tf.unstack(mergeLead(kk), 1); // N x [Mb, d]
    const vs = tf.unstack(mergeLead(v), 1); // N x [Mb, dv]
    let S = st ? tf.reshape(st.S, [Mb, d, dv]) : tf.zeros([Mb, d, dv]); // [Mb, d, dv]
    let z = st ? tf.reshape(st.z, [Mb, d, 1]) : tf.zeros([Mb, d, 1]); // [Mb, d, 1]
    const os: Tensor[] = [];
    const zs: Tensor[] = [];
    for (let i = 0; i < N; i++) {
      if (shift !== null) {
        const scale = 2 ** -shift; // exact: a power of two
        S = tf.sub(S, tf.floor(tf.mul(S, scale))); // S − (S >> m)
        z = tf.sub(z, tf.floor(tf.mul(z, scale)));
      }
      const ki = tf.reshape(ks[i], [Mb, d, 1]); // [Mb, d, 1]
      S = tf.add(S, matMul(ki, tf.reshape(vs[i], [Mb, 1, dv]))); // [Mb, d, dv] += K_iᵀ V_i
      z = tf.add(z, ki); // [Mb, d, 1] += K_i
      const qi = tf.reshape(qs[i], [Mb, 1, d]); // [Mb, 1, d]
      os.push(matMul(qi, S)); // [Mb, 1, dv] O_i = Q_i S_i
      zs.push(matMul(qi, z)); // [Mb, 1, 1]  Z_i = Q_i · z_i
    }
    const o = splitLead(tf.concat(os, 1), dims); // [T, B, H, N, dv]
    const zz = splitLead(tf.concat(zs, 1), dims); // [T, B, H, N, 1]
    const spikes = outputSpikes(o, zz, theta, options); // [T, B, H, N, dv]

    // Energy (6.1, Spikingformer's kv-first convention): Kᵀ V with two spike operands,
    // then Q S with a dense integer S. The d additions per token of z and Z are omitted.
    reportProduct(`${name}.kv`, kk, v, T, B * H * N * d * dv);
    reportProduct(`${name}.qs`, q, null, T, B * H * N * d * dv);

    const result: SfsaRecurrentResult = {
      spikes,
      state: { S: tf.reshape(S, [T, B, H, d, dv]), z: tf.reshape(z, [T, B, H, d]) },
    };
    if (options.returnCounts) result.counts = { output: o, rowSum: zz };
    return result as unknown as tf.TensorContainer;
  }) as unknown as SfsaRecurrentResult;
}
