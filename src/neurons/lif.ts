// IF and LIF neurons, one step (SpikingJelly activation_based `neuron/lif.py` and
// `integrate_and_fire.py` charge/fire/reset split; methods-vision.md 0.3 core with
// the OTTT/SLTT/DSR `lambda` form; methods-language.md 0.3 Spikingformer LIF), and
// trainable thresholds (a scalar or per-channel tf.Variable as `vThreshold`).
import { tf } from '../tf.js';
import type { Tensor, Variable } from '../tf.js';
import { ConfigError, ShapeError, checkFinite, checkPositiveInt } from '../errors.js';
import { fire, surrogate } from './surrogate.js';
import type { Surrogate } from './surrogate.js';
import { detach, resetHard, resetSoft } from './reset.js';
import { activeRecorder } from '../energy/recorder.js';
import type {
  Charge,
  ChargeCoefficients,
  LIFParams,
  LIFState,
  StepResult,
  Threshold,
} from './types.js';

/** Options of `makeLIFParams`/`makeIFParams`; every field has a SpikingJelly-style default. */
export interface LIFOptions {
  /** Default `{ form: 'decay_input', tau: 2 }` for LIF, `{ form: 'if' }` for IF. */
  charge?: Charge;
  /** Default 1. */
  vThreshold?: Threshold;
  /** Default 0 (hard reset); `null` for soft reset. */
  vReset?: number | null;
  /** Default null (soft reset subtracts the threshold). */
  resetAmount?: number | null;
  /** Default sigmoid with alpha 4. */
  surrogate?: Surrogate;
  smooth?: boolean;
  detachReset?: boolean;
  detachState?: boolean;
}

/** LIF parameters with defaults filled in (SpikingJelly LIFNode: tau 2, decay_input, hard reset to 0). */
export function makeLIFParams(options: LIFOptions = {}): LIFParams {
  const params: LIFParams = {
    charge: options.charge ?? { form: 'decay_input', tau: 2 },
    vThreshold: options.vThreshold ?? 1,
    vReset: options.vReset === undefined ? 0 : options.vReset,
    resetAmount: options.resetAmount ?? null,
    surrogate: options.surrogate ?? surrogate('sigmoid'),
    smooth: options.smooth ?? false,
    detachReset: options.detachReset ?? false,
    detachState: options.detachState ?? false,
  };
  validateLIFParams(params);
  return params;
}

/** IF parameters: `makeLIFParams` with the no-leak charge `H = V + X`. */
export function makeIFParams(options: Omit<LIFOptions, 'charge'> = {}): LIFParams {
  return makeLIFParams({ ...options, charge: { form: 'if' } });
}

/** Check every field of LIF parameters, throwing ConfigError naming the bad one. */
export function validateLIFParams(p: LIFParams): void {
  const c = p.charge;
  switch (c.form) {
    case 'if':
      break;
    case 'decay_input':
    case 'no_decay_input':
      checkFinite(c.tau, 'tau');
      if (c.tau <= 1) {
        throw new ConfigError(`tau must be > 1 for the ${c.form} charge, got ${c.tau}`);
      }
      break;
    case 'lambda':
      checkFinite(c.lambda, 'lambda');
      checkFinite(c.gain, 'gain');
      if (c.lambda < 0 || c.lambda > 1) {
        throw new ConfigError(`lambda (decay) must be in [0, 1], got ${c.lambda}`);
      }
      break;
    default:
      throw new ConfigError(
        `charge.form must be one of if, decay_input, no_decay_input, lambda, got ${JSON.stringify((c as { form: unknown }).form)}`,
      );
  }
  if (typeof p.vThreshold === 'number') checkFinite(p.vThreshold, 'v_threshold');
  else if (p.vThreshold.rank > 1) {
    throw new ShapeError(
      `v_threshold tensor must be a scalar or a vector [C], got shape [${p.vThreshold.shape.join(', ')}]`,
    );
  }
  if (p.vReset !== null) {
    checkFinite(p.vReset, 'v_reset');
    if (typeof p.vThreshold === 'number' && p.vThreshold <= p.vReset) {
      throw new ConfigError(
        `v_threshold must be > v_reset, got v_threshold ${p.vThreshold} and v_reset ${p.vReset}`,
      );
    }
    if (p.resetAmount !== null) {
      throw new ConfigError(
        `reset_amount applies to the soft reset only (v_reset null), got v_reset ${p.vReset}`,
      );
    }
  }
  if (p.resetAmount !== null) {
    checkFinite(p.resetAmount, 'reset_amount');
    if (p.resetAmount <= 0) throw new ConfigError(`reset_amount must be > 0, got ${p.resetAmount}`);
  }
}

/** Reduce a charge form to `H = lambda V + gain X + bias`. */
export function chargeCoefficients(charge: Charge, vReset: number | null): ChargeCoefficients {
  const vr = vReset ?? 0;
  switch (charge.form) {
    case 'if':
      return { lambda: 1, gain: 1, bias: 0 };
    case 'decay_input':
      return { lambda: 1 - 1 / charge.tau, gain: 1 / charge.tau, bias: vr / charge.tau };
    case 'no_decay_input':
      return { lambda: 1 - 1 / charge.tau, gain: 1, bias: vr / charge.tau };
    case 'lambda':
      return { lambda: charge.lambda, gain: charge.gain, bias: 0 };
  }
}

/** SPIDE's modified soft reset amount `V_th - u_rest` (default `u_rest = -V_th`, i.e. `2 V_th`). */
export function spideResetAmount(vThreshold: number, uRest: number = -vThreshold): number {
  return vThreshold - uRest;
}

/**
 * A trainable threshold initialised to `init`: a scalar variable (per layer) when
 * `channels` is omitted, else a `[channels]` vector over the last input axis. Pass it as
 * `vThreshold`; gradients reach it through fire and (soft) reset. `name` is the variable
 * name in the model's tensor-name scheme.
 */
export function createThreshold(init: number, channels?: number, name?: string): Variable {
  checkFinite(init, 'v_threshold');
  if (channels !== undefined) checkPositiveInt(channels, 'channels');
  const value = channels === undefined ? tf.scalar(init) : tf.fill([channels], init);
  const v = tf.variable(value, true, name);
  value.dispose();
  return v;
}

/** Throw ShapeError unless a threshold tensor broadcasts over `shape` as a scalar or `[C]`. */
export function checkThreshold(thr: Threshold, shape: readonly number[]): void {
  if (typeof thr === 'number' || thr.rank === 0) return;
  const c = shape[shape.length - 1];
  if (thr.rank !== 1 || thr.shape[0] !== c) {
    throw new ShapeError(
      `per-channel v_threshold must be [${c}] (the last input axis), got [${thr.shape.join(', ')}]`,
    );
  }
}

/** Charge only: `H = lambda V + gain X + bias` (`V` detached when `detachState`). */
export function lifCharge(x: Tensor, v: Tensor, p: LIFParams): Tensor {
  const k = chargeCoefficients(p.charge, p.vReset);
  const vIn = p.detachState ? detach(v) : v; // [B, ...]
  let h = k.lambda === 1 ? vIn : tf.mul(vIn, k.lambda); // [B, ...]
  h = tf.add(h, k.gain === 1 ? x : tf.mul(x, k.gain));
  return k.bias === 0 ? h : tf.add(h, k.bias);
}

/**
 * One IF/LIF step: charge, fire `S = Heaviside(H - V_th)` (surrogate backward), reset.
 * x: `[B, ...]` input current; state.v: `[B, ...]`. Returns spikes `[B, ...]` and the new state.
 */
export function lifStep(x: Tensor, state: LIFState, p: LIFParams): StepResult<LIFState> {
  checkThreshold(p.vThreshold, x.shape);
  return tf.tidy(() => {
    const h = lifCharge(x, state.v, p); // [B, ...]
    // Opt-in: a recorder that asks for membranes (training cost) sees H; nothing otherwise.
    activeRecorder()?.recordNeuron?.({
      charge: h,
      threshold: p.vThreshold,
      surrogate: p.surrogate,
      timeSteps: 1,
    });
    const s = fire(p.surrogate, tf.sub(h, p.vThreshold), p.smooth); // [B, ...]
    const sr = p.detachReset ? detach(s) : s;
    const v =
      p.vReset === null
        ? resetSoft(h, sr, p.resetAmount ?? p.vThreshold)
        : resetHard(h, sr, p.vReset); // [B, ...]
    return { spikes: s, state: { v } };
  });
}
