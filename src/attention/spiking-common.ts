// Shared pieces of the spiking token mixers (WSSA/CWSSA in wssa.ts, SFSA in sfsa.ts,
// the SSA baselines in spiking-baselines.ts): checks of time-first spike tensors
// `[T, B, H, N, d]`, the allowed-key mask in that layout (built with mask.ts), the
// row-normalised output neuron of methods-language.md 1(b) step 6 / 3(b) with its
// division-free integer inference form, and energy reports (6.1).
//
// The output neuron is a stateless threshold unit per time step [P]: it fires when
// `O / Z >= θ` (Z = row mass: `m = |W_i|` for WTA, `Z_i = Σ_j P_ij` for SFSA), and a
// row with `Z = 0` never fires. NOTE: it is not a LIF (which would couple the T
// steps), so `1[O >= θ·Z] · 1[Z > 0]` is its exact inference form. The training form
// feeds the current `u = (O − θ·Z) / Z` (`−θ` when `Z = 0`), which is `O/Z − θ`, to
// the neuron core's surrogate spike function; computing `u` this way (rather than
// `O/Z − θ`) makes its sign, hence the forward spike, bit-identical to the integer
// comparison in float32 for every θ.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { checkFinite, checkPositiveInt, ConfigError, ShapeError } from '../errors.js';
import { activeRecorder } from '../energy/recorder.js';
import type { Encoding } from '../energy/recorder.js';
import { surrogate as makeSurrogate } from '../neurons/index.js';
import type { Surrogate } from '../neurons/index.js';
import { causalMask } from './mask.js';

/** Sizes of one spiking attention call. */
export interface SpikeDims {
  T: number;
  B: number;
  H: number;
  /** Queries. */
  Nq: number;
  /** Keys (cached + new for incremental decoding). */
  Nk: number;
  /** Query/key width. */
  d: number;
  /** Value width. */
  dv: number;
}

/** What every spiking mixer returns (optional fields only on request). */
export interface SpikingAttentionResult {
  /** `[T, B, H, Nq, dv]` output spikes (0/1). */
  spikes: Tensor;
  /** `[T, B, H, Nq, Nk]` attention map (which one: see the function). */
  map?: Tensor;
  /** `[T, B, H, Nq, Nk]` WSSA only: the surrogate softmax map `P` (differentiable). */
  softMap?: Tensor;
  /**
   * Integer aggregation `O` `[T, B, H, Nq, dv]`, row mass `[T, B, H, Nq, 1]` and (SFSA
   * parallel form) the integer map `P` `[T, B, H, Nq, Nk]`.
   */
  counts?: { output: Tensor; rowSum: Tensor; scores?: Tensor };
  /** Baselines only: the real-valued input of the output neuron `[T, B, H, Nq, dv]`. */
  current?: Tensor;
}

function shapeOf(t: Tensor): string {
  return `[${t.shape.join(', ')}]`;
}

/** Check q `[T, B, H, Nq, d]`, k `[T, B, H, Nk, d]`, v `[T, B, H, Nk, dv]`; `fn` names the caller. */
export function checkSpikeQKV(fn: string, q: Tensor, k: Tensor, v: Tensor): SpikeDims {
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    if (t.rank !== 5) {
      throw new ShapeError(`${fn}: ${name} must be [T, B, H, N, d] spikes, got ${shapeOf(t)}`);
    }
  }
  const [T, B, H, Nq, d] = q.shape as number[];
  const Nk = k.shape[3] as number;
  const dv = v.shape[4] as number;
  const lead = (t: Tensor): boolean => t.shape[0] === T && t.shape[1] === B && t.shape[2] === H;
  if (!lead(k) || !lead(v) || k.shape[4] !== d || v.shape[3] !== Nk) {
    throw new ShapeError(
      `${fn}: q ${shapeOf(q)}, k ${shapeOf(k)}, v ${shapeOf(v)} do not fit (q [T, B, H, Nq, d], k [T, B, H, Nk, d], v [T, B, H, Nk, dv])`,
    );
  }
  return { T, B, H, Nq, Nk, d, dv };
}

/** A firing threshold option: finite and > 0 (θ ≤ 0 would make silent rows fire). */
export function checkThresholdOption(fn: string, value: number, name = 'threshold'): number {
  checkFinite(value, `${fn}: ${name}`);
  if (value <= 0) throw new ConfigError(`${fn}: ${name} must be > 0, got ${value}`);
  return value;
}

/** An optional non-negative integer option (e.g. `offset`). */
export function checkNonNegativeInt(fn: string, value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(`${fn}: ${name} must be an integer >= 0, got ${String(value)}`);
  }
  return value;
}

/** A positive integer option, named `fn: name` in the error. */
export function checkCount(fn: string, value: number, name: string): number {
  checkPositiveInt(value, `${fn}: ${name}`);
  return value;
}

/**
 * Allowed keys as a float32 0/1 mask, rank 5 and broadcastable to the scores
 * `[T, B, H, Nq, Nk]` (shape `[1, 1 | B, 1, Nq | 1, Nk]`), or null when every key is
 * allowed. Query `i` sits at absolute position `offset + i`; `attentionMask` `[B, Nk]` is
 * 1 (nonzero) for tokens, 0 for padding. Float rather than bool: on wasm, broadcast
 * float `mul`/`add` are fast where a broadcast `where` or comparison is not (mask.ts).
 */
export function allowedMask(
  fn: string,
  dims: SpikeDims,
  causal: boolean,
  offset: number,
  attentionMask: Tensor | null | undefined,
): Tensor | null {
  const { B, Nq, Nk } = dims;
  if (
    attentionMask &&
    (attentionMask.rank !== 2 || attentionMask.shape.join() !== [B, Nk].join())
  ) {
    throw new ShapeError(
      `${fn}: attentionMask must be [B, Nk] = [${B}, ${Nk}], got ${shapeOf(attentionMask)}`,
    );
  }
  if (causal && offset + Nq > Nk) {
    throw new ShapeError(
      `${fn}: ${Nq} queries at offset ${offset} need at least ${offset + Nq} keys, got ${Nk}`,
    );
  }
  const needCausal = causal && !(Nq === 1 && offset === Nk - 1); // the last query sees every key
  if (!needCausal && !attentionMask) return null;
  return tf.tidy(() => {
    const c = needCausal ? tf.cast(causalMask(Nq, Nk, offset), 'float32') : null; // [Nq, Nk]
    const p = attentionMask
      ? tf.reshape(tf.cast(tf.notEqual(attentionMask, 0), 'float32'), [B, 1, Nk]) // [B, 1, Nk]
      : null;
    const m = c && p ? tf.mul(c, p) : ((c ?? p) as Tensor); // [B | 1, Nq | 1, Nk] (c: [Nq, Nk])
    const rows = m.shape[m.rank - 2] as number;
    return tf.reshape(m, [1, p ? B : 1, 1, rows, Nk]); // [1, 1 | B, 1, Nq | 1, Nk]
  });
}

/** Allowed (query, key) pairs per head and batch row, padding ignored (the 6.1 `M`). */
export function pairCount(Nq: number, Nk: number, offset: number, causal: boolean): number {
  return causal ? Nq * offset + (Nq * (Nq + 1)) / 2 : Nq * Nk;
}

/** `[T, B, H, N, c]` -> `[T*B*H, N, c]`: one batched matMul serves every step, row and head. */
export function mergeLead(x: Tensor): Tensor {
  const [T, B, H, N, c] = x.shape as number[];
  return tf.reshape(x, [T * B * H, N, c]); // [T*B*H, N, c]
}

/** `[T*B*H, N, c]` -> `[T, B, H, N, c]`. */
export function splitLead(x: Tensor, dims: SpikeDims): Tensor {
  return tf.reshape(x, [dims.T, dims.B, dims.H, x.shape[1] as number, x.shape[2] as number]);
}

/**
 * The normalised current `u = (O − θ·Z) / Z` (`−θ` where `Z = 0`) as a customGrad:
 * `∂u/∂O = 1/Z`, and `∂u/∂Z = −O/Z²` when `gradThroughRowSum` (SFSA: Z depends on Q, K)
 * or 0 (WSSA: `1/m` is a constant of the backward, methods-language.md 1(b)).
 * o `[..., Nq, dv]`, z `[..., Nq, 1]` -> u `[..., Nq, dv]`.
 */
export function normalisedCurrent(
  o: Tensor,
  z: Tensor,
  theta: number,
  gradThroughRowSum: boolean,
): Tensor {
  const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const [out, rows, save] = args as [Tensor, Tensor, tf.GradSaveFunc];
    const u = tf.tidy(() => {
      const silent = tf.cast(tf.equal(rows, 0), 'float32'); // [..., Nq, 1]
      const num = tf.sub(out, tf.mul(rows, theta)); // [..., Nq, dv]
      return tf.sub(tf.div(num, tf.maximum(rows, 1)), tf.mul(silent, theta)); // [..., Nq, dv]
    });
    save([u, rows]);
    return {
      value: u,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [uu, zz] = saved;
        const inv = tf.div(tf.cast(tf.greater(zz, 0), 'float32'), tf.maximum(zz, 1)); // [..., Nq, 1]
        const dO = tf.mul(dy, inv); // [..., Nq, dv]
        const dZ = gradThroughRowSum
          ? tf.neg(tf.sum(tf.mul(tf.mul(dy, tf.add(uu, theta)), inv), -1, true)) // −O/Z² · dy
          : tf.zerosLike(zz); // [..., Nq, 1]
        return [dO, dZ];
      },
    };
  });
  return op(o, z);
}

let defaultSurrogate: Surrogate | null = null;

/** The output neuron's default surrogate (sigmoid, α = 4, as Spikingformer), built once. */
export function defaultAttentionSurrogate(): Surrogate {
  defaultSurrogate ??= makeSurrogate('sigmoid');
  return defaultSurrogate;
}

/** Training form: the neuron core's surrogate spike of the normalised current. */
export function ratioSpikes(
  o: Tensor,
  z: Tensor,
  theta: number,
  sg: Surrogate,
  gradThroughRowSum: boolean,
): Tensor {
  return sg.spike(normalisedCurrent(o, z, theta, gradThroughRowSum)); // [..., Nq, dv]
}

/**
 * Inference form, no division: `1[O >= θ·Z] · 1[Z > 0]` (no gradient). Written as
 * `O − θ·Z >= 0`, which has the same truth value in float32 (a difference of two floats
 * is 0 only when they are equal, and rounding keeps its sign), because a broadcast
 * comparison is slow on wasm.
 */
export function integerSpikes(o: Tensor, z: Tensor, theta: number): Tensor {
  return tf.tidy(() => {
    const fires = tf.cast(tf.greaterEqual(tf.sub(o, tf.mul(z, theta)), 0), 'float32'); // [..., Nq, dv]
    return tf.mul(fires, tf.cast(tf.greater(z, 0), 'float32')); // [..., Nq, dv]
  });
}

/** Report a spike product (`input` × `other`) to the running energy recorder, if any. */
export function reportProduct(
  layer: string,
  input: Tensor,
  other: Tensor | null,
  timeSteps: number,
  flopsPerStep: number,
  encoding: Encoding = 'spike',
): void {
  const rec = activeRecorder();
  if (!rec) return;
  rec.record({
    layer,
    kind: 'attention',
    input,
    ...(other ? { other } : {}),
    timeSteps,
    flopsPerStep,
    encoding,
  });
}

/** Report a non-AC operation (top-k comparisons, softmax) to the running recorder, if any. */
export function reportOther(
  layer: string,
  op: string,
  input: Tensor,
  timeSteps: number,
  flopsPerStep: number,
): void {
  const rec = activeRecorder();
  if (!rec) return;
  rec.record({ layer, kind: 'other', op, input, timeSteps, flopsPerStep, encoding: 'real' });
}
