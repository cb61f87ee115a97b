// Ternary neuron of SPIDE's spike-based backward phase (Xiao et al., Neural Networks
// 2023, github.com/pkuxmq/SPIDE-FSNN; methods-vision.md 7(c)): symmetric thresholds
// +-V_b, outputs in {-1, 0, +1}, reset by subtracting s (V_b - u_rest).
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ConfigError, checkFinite } from '../errors.js';
import { fire, surrogate } from './surrogate.js';
import type { Surrogate } from './surrogate.js';
import { checkSequence, unstackTime } from './functional.js';
import type { LIFState, StepResult } from './types.js';

/** Ternary neuron parameters (SPIDE defaults: V_b = 0.5, u_rest = -V_b, IF). */
export interface TernaryParams {
  /** Symmetric threshold V_b > 0: fire +1 when `u >= V_b`, -1 when `u <= -V_b`. */
  vThreshold: number;
  /** Resting potential; a spike subtracts `s (V_b - u_rest)`. */
  uRest: number;
  /** Leak applied to the previous potential (1 = IF, SPIDE's backward). */
  decay: number;
  /** Surrogate for the two step functions (only used if the neuron is differentiated). */
  surrogate: Surrogate;
  smooth: boolean;
}

/** Ternary parameters with SPIDE's defaults, validated. */
export function makeTernaryParams(o: Partial<TernaryParams> = {}): TernaryParams {
  const vThreshold = o.vThreshold ?? 0.5;
  const p: TernaryParams = {
    vThreshold,
    uRest: o.uRest ?? -vThreshold,
    decay: o.decay ?? 1,
    surrogate: o.surrogate ?? surrogate('sigmoid'),
    smooth: o.smooth ?? false,
  };
  checkFinite(p.vThreshold, 'v_threshold');
  checkFinite(p.uRest, 'u_rest');
  checkFinite(p.decay, 'decay');
  if (p.vThreshold <= 0)
    throw new ConfigError(`v_threshold must be > 0 for the ternary neuron, got ${p.vThreshold}`);
  if (p.uRest >= p.vThreshold) {
    throw new ConfigError(`u_rest must be < v_threshold, got u_rest ${p.uRest}`);
  }
  if (p.decay < 0 || p.decay > 1) throw new ConfigError(`decay must be in [0, 1], got ${p.decay}`);
  return p;
}

/**
 * One ternary step: `u = decay v + J`, `s = 1[u >= V_b] - 1[u <= -V_b]`,
 * `v = u - s (V_b - u_rest)`. J, state.v: `[B, ...]`; spikes in {-1, 0, +1}.
 */
export function ternaryStep(
  input: Tensor,
  state: LIFState,
  p: TernaryParams,
): StepResult<LIFState> {
  return tf.tidy(() => {
    const u = p.decay === 1 ? tf.add(state.v, input) : tf.add(tf.mul(state.v, p.decay), input); // [B, ...]
    const pos = fire(p.surrogate, tf.sub(u, p.vThreshold), p.smooth); // 1[u >= V_b]
    const neg = fire(p.surrogate, tf.sub(tf.neg(u), p.vThreshold), p.smooth); // 1[u <= -V_b]
    const s = tf.sub(pos, neg); // [B, ...] in {-1, 0, 1}
    const v = tf.sub(u, tf.mul(s, p.vThreshold - p.uRest)); // [B, ...]
    return { spikes: s, state: { v } };
  });
}

/** Run the ternary neuron over `inputs: [T, B, ...]` from `v = 0`: spikes `[T, B, ...]` and the final state. */
export function ternaryMultiStep(
  inputs: Tensor,
  p: TernaryParams,
  state?: LIFState,
): { spikes: Tensor; state: LIFState } {
  checkSequence(inputs);
  const out = tf.tidy(() => {
    let st: LIFState = state ?? { v: tf.zeros(inputs.shape.slice(1)) };
    const ss: Tensor[] = [];
    for (const x of unstackTime(inputs)) {
      const r = ternaryStep(x, st, p);
      ss.push(r.spikes);
      st = r.state;
    }
    return [tf.stack(ss), st.v];
  });
  return { spikes: out[0], state: { v: out[1] } };
}
