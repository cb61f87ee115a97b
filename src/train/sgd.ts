// SGD with momentum, following PyTorch's `torch.optim.SGD` (no dampening):
//   g ← g + wd·p                  (L2 weight decay, coupled, as in PyTorch SGD)
//   b ← μ·b + g                    (b starts at 0, so the first b is g)
//   g ← g + μ·b  if nesterov, else b
//   p ← p − lr·g
import { ConfigError } from '../errors.js';
import { tf } from '../tf.js';
import type { Tensor, Variable } from '../tf.js';
import { Optimizer } from './optimizer.js';
import type { NamedVariables, OptimizerOptions } from './optimizer.js';

/** Options of `SGD`; defaults are PyTorch's. */
export interface SGDOptions extends OptimizerOptions {
  /** @default 1e-3 */
  lr?: number;
  /** Momentum μ; 0 keeps no state. @default 0 */
  momentum?: number;
  /** Nesterov momentum (needs momentum > 0). @default false */
  nesterov?: boolean;
  /** L2 penalty added to the gradient. @default 0 */
  weightDecay?: number;
}

/**
 * Stochastic gradient descent with optional (Nesterov) momentum over named
 * `tf.Variable`s, updated in place. State: `<name>/momentum` when μ > 0.
 */
export class SGD extends Optimizer {
  readonly kind = 'sgd';
  readonly momentum: number;
  readonly nesterov: boolean;

  constructor(params: NamedVariables, options: SGDOptions = {}) {
    const momentum = options.momentum ?? 0;
    if (!(momentum >= 0 && momentum < 1)) {
      throw new ConfigError(`momentum must be in [0, 1), got ${String(options.momentum)}`);
    }
    const nesterov = options.nesterov ?? false;
    if (nesterov && momentum === 0) throw new ConfigError('nesterov needs momentum > 0');
    super(params, options, { lr: 1e-3, weightDecay: 0 }, momentum > 0 ? ['momentum'] : []);
    this.momentum = momentum;
    this.nesterov = nesterov;
  }

  hyperparameters(): Record<string, number | boolean> {
    return { momentum: this.momentum, nesterov: this.nesterov };
  }

  protected update(
    p: Variable,
    g: Tensor,
    slots: readonly Variable[],
    lr: number,
    weightDecay: number,
  ): void {
    let d = weightDecay !== 0 ? tf.add(g, tf.mul(p, weightDecay)) : g;
    if (this.momentum > 0) {
      const [buf] = slots;
      const b = tf.add(tf.mul(buf, this.momentum), d);
      buf.assign(b);
      d = this.nesterov ? tf.add(d, tf.mul(b, this.momentum)) : b;
    }
    p.assign(tf.sub(p, tf.mul(d, lr)));
  }
}
