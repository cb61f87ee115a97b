// Shared types of the neuron core: charge forms, parameters and explicit state
// objects. A neuron step is pure: `(input, state, params) -> { spikes, state }`
// (architecture.md "One neuron core"; SpikingJelly's charge/fire/reset split).
import type { Tensor } from '../tf.js';
import type { Surrogate } from './surrogate.js';

/**
 * How the membrane charges from the previous potential `V` and the input `X`.
 * - `if`: `H = V + X`.
 * - `decay_input` (SpikingJelly `decay_input=True`): `H = V + (X - (V - V_reset)) / tau`
 *   (soft reset: `V_reset` taken as 0 in the charge).
 * - `no_decay_input` (SpikingJelly `decay_input=False`): `H = V - (V - V_reset) / tau + X`.
 * - `lambda` (OTTT/SLTT/DSR code): `H = lambda * V + gain * X`, decaying towards 0
 *   whatever `V_reset` is; `lambda = 1 - 1/tau, gain = 1` is SpikingJelly's no-decay form
 *   with `V_reset = 0`, `gain = 1 - lambda` is DSR's.
 */
export type Charge =
  | { form: 'if' }
  | { form: 'decay_input'; tau: number }
  | { form: 'no_decay_input'; tau: number }
  | { form: 'lambda'; lambda: number; gain: number };

/** Every charge form reduces to `H = lambda * V + gain * X + bias` (per element). */
export interface ChargeCoefficients {
  lambda: number;
  gain: number;
  bias: number;
}

/**
 * A firing threshold: a fixed number, or a tensor (usually a trainable `tf.Variable`)
 * that is a scalar (per layer) or a vector `[C]` over the last input axis (per channel).
 */
export type Threshold = number | Tensor;

/** Parameters of the IF/LIF neuron (IF is `charge.form === 'if'`). */
export interface LIFParams {
  charge: Charge;
  /** Fire when `H - vThreshold >= 0`. */
  vThreshold: Threshold;
  /** Hard reset to this value; `null` means soft reset (subtract). */
  vReset: number | null;
  /**
   * Soft reset only: subtract this amount per spike instead of `vThreshold`
   * (SPIDE's modified reset subtracts `V_th - u_rest`, i.e. `2 V_th` with `u_rest = -V_th`).
   * `null`: subtract the threshold.
   */
  resetAmount: number | null;
  surrogate: Surrogate;
  /** SpikingJelly `spiking=False`: the forward uses the smooth primitive instead of a step. */
  smooth: boolean;
  /** Treat the spike as a constant in the reset term (SpikingJelly `detach_reset`). */
  detachReset: boolean;
  /** Cut the temporal path of `V` between steps (SLTT). */
  detachState: boolean;
}

/** State of an IF/LIF neuron: the membrane potential after the last reset, `[B, ...]`. */
export interface LIFState {
  v: Tensor;
}

/** One step of a neuron: its output and the state to feed to the next step. */
export interface StepResult<S> {
  /** `[B, ...]` spikes (0/1, or the smooth primitive in smooth mode). */
  spikes: Tensor;
  state: S;
}

/** Options of the multi-step IF/LIF runner. */
export interface MultiStepOptions {
  /** State before the first step; default: a fresh state (`V = v_reset`, 0 for soft reset). */
  state?: LIFState;
  /** Also return the membrane sequence `[T, B, ...]` (after each step's reset). */
  returnV?: boolean;
  /**
   * Use the fused whole-sequence kernel (`true`), the op-by-op reference path (`false`),
   * or the fused kernel whenever the threshold is a fixed number (`'auto'`, the default).
   */
  fused?: boolean | 'auto';
}

/** Result of the multi-step IF/LIF runner. */
export interface MultiStepResult {
  /** `[T, B, ...]` spikes. */
  spikes: Tensor;
  /** `[T, B, ...]` membrane after each reset, when `returnV` was set. */
  vSeq?: Tensor;
  /** State after the last step (differentiable: gradients flow to earlier chunks). */
  state: LIFState;
}
