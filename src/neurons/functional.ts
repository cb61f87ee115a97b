// Multi-step IF/LIF runner over time-first `[T, B, ...]` input (SpikingJelly
// `step_mode='m'`, `functional.multi_step_forward`): a loop over `lifStep` (the
// reference path) or the fused whole-sequence kernel of fused.ts.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ConfigError, ShapeError } from '../errors.js';
import { checkThreshold, lifStep } from './lif.js';
import { canFuse, lifMultiStepFused } from './fused.js';
import type { LIFParams, LIFState, MultiStepOptions, MultiStepResult } from './types.js';

/** A fresh IF/LIF state of shape `[B, ...]`: `V = v_reset` (0 for soft reset). */
export function initialLIFState(shape: readonly number[], p: LIFParams): LIFState {
  return { v: tf.fill([...shape], p.vReset ?? 0, 'float32') };
}

/** Throw ShapeError unless `xSeq` is time-first `[T, B, ...]` with T >= 1. */
export function checkSequence(xSeq: Tensor, what = 'input'): void {
  if (xSeq.rank < 2 || xSeq.shape[0] < 1) {
    throw new ShapeError(
      `${what} must be time-first [T, B, ...] with T >= 1, got shape [${xSeq.shape.join(', ')}]`,
    );
  }
}

/**
 * The T steps of a time-first sequence `[T, B, ...]` as T tensors `[B, ...]`.
 * NOTE: tfjs cannot differentiate `unstack` over an axis of length 1 (its gradient
 * calls `stack` on a single tensor and throws), so a one-step sequence is reshaped
 * instead; both are the same values.
 */
export function unstackTime(xSeq: Tensor): Tensor[] {
  if (xSeq.shape[0] === 1) return [tf.reshape(xSeq, xSeq.shape.slice(1))]; // [B, ...]
  return tf.unstack(xSeq); // T x [B, ...]
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Run an IF/LIF neuron over `xSeq: [T, B, ...]`. Returns spikes `[T, B, ...]`, optionally
 * the membrane sequence (after each reset), and the final state. Uses the fused kernel
 * when `options.fused` allows it (default `'auto'`: whenever the threshold is a number).
 *
 * Example: `const { spikes } = lifMultiStep(x, makeLIFParams({ charge: { form: 'decay_input', tau: 2 } }))`.
 */
export function lifMultiStep(
  xSeq: Tensor,
  p: LIFParams,
  options: MultiStepOptions = {},
): MultiStepResult {
  checkSequence(xSeq);
  const stepShape = xSeq.shape.slice(1);
  checkThreshold(p.vThreshold, stepShape);
  if (options.state && !sameShape(options.state.v.shape, stepShape)) {
    throw new ShapeError(
      `state.v must be [${stepShape.join(', ')}] to match the input, got [${options.state.v.shape.join(', ')}]`,
    );
  }
  const fusedOpt = options.fused ?? 'auto';
  if (fusedOpt === true && !canFuse(p)) {
    throw new ConfigError(
      'fused: true needs a fixed numeric v_threshold (a trainable threshold runs op by op)',
    );
  }
  const useFused = fusedOpt === 'auto' ? canFuse(p) : fusedOpt;
  const returnV = options.returnV ?? false;

  const out = tf.tidy(() => {
    const v0 = options.state?.v ?? initialLIFState(stepShape, p).v; // [B, ...]
    if (useFused) {
      const r = lifMultiStepFused(xSeq, v0, p, returnV);
      return returnV ? [r.spikes, r.vLast, r.vSeq as Tensor] : [r.spikes, r.vLast];
    }
    const xs = unstackTime(xSeq); // T x [B, ...]
    const spikes: Tensor[] = [];
    const vs: Tensor[] = [];
    let state: LIFState = { v: v0 };
    for (const x of xs) {
      const r = lifStep(x, state, p);
      spikes.push(r.spikes);
      if (returnV) vs.push(r.state.v);
      state = r.state;
    }
    const s = tf.stack(spikes); // [T, B, ...]
    return returnV ? [s, state.v, tf.stack(vs)] : [s, state.v];
  });
  const result: MultiStepResult = { spikes: out[0], state: { v: out[1] } };
  if (returnV) result.vSeq = out[2];
  return result;
}
