// Global-norm gradient clipping (PyTorch's `clip_grad_norm_`: the 2-norm of
// every gradient taken together, scaled by max/(norm + 1e-6) when above max)
// and the guarded optimizer step built on it: a NaN or ±Inf norm is detected
// before anything is updated. tfjs has no clipByGlobalNorm (conventions.md 5.3).
import { ConfigError } from '../errors.js';
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { NonFiniteGradientError } from './errors.js';
import { gradEntries } from './optimizer.js';
import type { GradMap, Optimizer } from './optimizer.js';

/** What to do with a non-finite gradient norm. */
export type NonFinitePolicy = 'throw' | 'flag';

/** Result of `clipGradNorm`. */
export interface ClipResult {
  /** Global 2-norm of the gradients before clipping (NaN/Infinity when non-finite). */
  readonly norm: number;
  /** The (clipped) gradients, new tensors owned by the caller, same names. */
  readonly grads: Map<string, Tensor>;
  /** True when the gradients were scaled down. */
  readonly clipped: boolean;
  /** False when the norm is NaN or ±Inf (then `grads` are unscaled copies). */
  readonly finite: boolean;
  /** Names whose own gradient norm is non-finite. */
  readonly nonFinite: readonly string[];
}

/** Per-tensor and global 2-norms of the gradients, read back in one transfer. */
export async function gradNorms(
  grads: GradMap,
): Promise<{ norm: number; perTensor: Map<string, number> }> {
  const entries = gradEntries(grads);
  if (entries.length === 0) return { norm: 0, perTensor: new Map() };
  const norms = tf.tidy(() => {
    const each = tf.stack(entries.map(([, g]) => tf.sqrt(tf.sum(tf.square(g))))); // [n]
    return tf.concat([each, tf.reshape(tf.sqrt(tf.sum(tf.square(each))), [1])]); // [n + 1]
  });
  const values = await norms.data();
  norms.dispose();
  const perTensor = new Map(entries.map(([n], i) => [n, values[i]]));
  return { norm: values[entries.length], perTensor };
}

/**
 * Clip gradients to a global 2-norm of at most `maxNorm`. The inputs are not
 * changed or disposed. A non-finite norm throws NonFiniteGradientError
 * (`onNonFinite: 'throw'`, the default) or is reported with `finite: false`.
 */
export async function clipGradNorm(
  grads: GradMap,
  maxNorm: number,
  options: { onNonFinite?: NonFinitePolicy } = {},
): Promise<ClipResult> {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) {
    throw new ConfigError(`maxNorm must be a finite number > 0, got ${String(maxNorm)}`);
  }
  const { norm, perTensor } = await gradNorms(grads);
  const finite = Number.isFinite(norm);
  const nonFinite = [...perTensor].filter(([, n]) => !Number.isFinite(n)).map(([name]) => name);
  if (!finite && (options.onNonFinite ?? 'throw') === 'throw') {
    throw new NonFiniteGradientError(norm, nonFinite);
  }
  const clipped = finite && norm > maxNorm;
  const scale = maxNorm / (norm + 1e-6);
  const out = new Map<string, Tensor>();
  for (const [name, g] of gradEntries(grads)) {
    out.set(name, clipped ? tf.tidy(() => tf.mul(g, scale)) : tf.clone(g));
  }
  return { norm, grads: out, clipped, finite, nonFinite };
}

/** Options of `optimizerStep`. */
export interface OptimizerStepOptions {
  /** Clip to this global norm first; omitted = no clipping (the norm is still measured). */
  maxGradNorm?: number;
  /** 'throw' (default): NonFiniteGradientError; 'flag': return `applied: false`. */
  onNonFinite?: NonFinitePolicy;
}

/** Result of `optimizerStep`. */
export interface OptimizerStepResult {
  /** Pre-clip global gradient norm (log it as `grad_norm`). */
  readonly gradNorm: number;
  readonly clipped: boolean;
  /** False when the norm was non-finite and the update was skipped. */
  readonly applied: boolean;
}

/**
 * Measure (and optionally clip) the gradients, then apply one optimizer update
 * — unless the norm is NaN/Inf, in which case no parameter, state or step
 * count changes. The gradients stay owned by the caller.
 */
export async function optimizerStep(
  optimizer: Optimizer,
  grads: GradMap,
  options: OptimizerStepOptions = {},
): Promise<OptimizerStepResult> {
  const policy = options.onNonFinite ?? 'throw';
  if (options.maxGradNorm === undefined) {
    const { norm, perTensor } = await gradNorms(grads);
    if (!Number.isFinite(norm)) {
      if (policy === 'throw') {
        const bad = [...perTensor].filter(([, n]) => !Number.isFinite(n)).map(([name]) => name);
        throw new NonFiniteGradientError(norm, bad);
      }
      return { gradNorm: norm, clipped: false, applied: false };
    }
    optimizer.step(grads);
    return { gradNorm: norm, clipped: false, applied: true };
  }
  const r = await clipGradNorm(grads, options.maxGradNorm, { onNonFinite: policy });
  try {
    if (r.finite) optimizer.step(r.grads);
  } finally {
    tf.dispose([...r.grads.values()]);
  }
  return { gradNorm: r.norm, clipped: r.clipped, applied: r.finite };
}
