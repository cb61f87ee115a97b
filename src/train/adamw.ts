// AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, ICLR 2019,
// arXiv 1711.05101), following PyTorch's `torch.optim.AdamW` (non-amsgrad):
//   p ← p·(1 − lr·wd)                              decoupled decay, first
//   m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²
//   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
// tfjs has no AdamW (conventions.md 5.3), hence this file.
import { ConfigError } from '../errors.js';
import { tf } from '../tf.js';
import type { Tensor, Variable } from '../tf.js';
import { Optimizer } from './optimizer.js';
import type { NamedVariables, OptimizerOptions } from './optimizer.js';

/** Options of `AdamW`; defaults are PyTorch's. */
export interface AdamWOptions extends OptimizerOptions {
  /** @default 1e-3 */
  lr?: number;
  /** (β1, β2). @default [0.9, 0.999] */
  betas?: readonly [number, number];
  /**
   * Added to the bias-corrected √v. @default 1e-8 (PyTorch's; tfjs's own Adam
   * uses 1e-7)
   */
  eps?: number;
  /** Decoupled weight decay of parameters no group rule matches. @default 1e-2 */
  weightDecay?: number;
}

/**
 * AdamW over named `tf.Variable`s, updated in place. State per parameter:
 * `<name>/m`, `<name>/v` (float32), plus the shared `step`.
 *
 * NOTE: one step counter for all parameters (PyTorch keeps one per parameter);
 * they differ only for a parameter that receives no gradient on some steps.
 *
 * ```ts
 * const opt = new AdamW(model.namedParameters(), { lr: 3e-4, groups: [NO_DECAY] });
 * opt.lr = schedule(step); opt.step(grads);
 * ```
 */
export class AdamW extends Optimizer {
  readonly kind = 'adamw';
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;

  constructor(params: NamedVariables, options: AdamWOptions = {}) {
    super(params, options, { lr: 1e-3, weightDecay: 1e-2 }, ['m', 'v']);
    const [beta1, beta2] = options.betas ?? [0.9, 0.999];
    for (const [b, name] of [
      [beta1, 'betas[0]'],
      [beta2, 'betas[1]'],
    ] as const) {
      if (!(b >= 0 && b < 1)) throw new ConfigError(`${name} must be in [0, 1), got ${String(b)}`);
    }
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = options.eps ?? 1e-8;
    if (!(this.eps >= 0 && Number.isFinite(this.eps))) {
      throw new ConfigError(`eps must be a finite number >= 0, got ${String(options.eps)}`);
    }
  }

  hyperparameters(): Record<string, number> {
    return { beta1: this.beta1, beta2: this.beta2, eps: this.eps };
  }

  protected update(
    p: Variable,
    g: Tensor,
    [m, v]: readonly Variable[],
    lr: number,
    weightDecay: number,
    step: number,
  ): void {
    const { beta1: b1, beta2: b2 } = this;
    // Bias corrections in float64; only the final scalars meet float32.
    const bc1 = 1 - b1 ** step;
    const bc2Sqrt = Math.sqrt(1 - b2 ** step);
    const m1 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
    const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
    const decayed = weightDecay !== 0 ? tf.mul(p, 1 - lr * weightDecay) : p;
    const denom = tf.add(tf.div(tf.sqrt(v1), bc2Sqrt), this.eps);
    const next = tf.sub(decayed, tf.mul(tf.div(m1, denom), lr / bc1));
    m.assign(m1);
    v.assign(v1);
    p.assign(next);
  }
}
