// How gradients are obtained for the optimizers: `valueAndGrads` runs a loss
// under the tfjs tape and returns gradients keyed by public parameter name, and
// `GradientAccumulator` sums micro-batch gradients so that k micro-batches of a
// mean-reduced loss give the gradient of one k-times larger batch (sum / k).
import { ConfigError } from '../errors.js';
import { tf } from '../tf.js';
import type { Scalar, Tensor, Variable } from '../tf.js';
import { gradEntries } from './optimizer.js';
import type { GradMap, NamedVariables } from './optimizer.js';

/** A loss value and the gradients of every trainable parameter it depends on. */
export interface ValueAndGrads {
  /** The loss (owned by the caller: dispose it). */
  readonly loss: Scalar;
  /**
   * Gradients by public name (owned by the caller). Parameters the loss does
   * not depend on are absent, and optimizers leave those unchanged.
   */
  readonly grads: Map<string, Tensor>;
}

/**
 * Evaluate `lossFn` (synchronous, returning a scalar) and differentiate it with
 * respect to the trainable parameters. Intermediates are freed; only the loss
 * and the gradients survive.
 */
export function valueAndGrads(lossFn: () => Scalar, params: NamedVariables): ValueAndGrads {
  const publicName = new Map<string, string>();
  const vars: Variable[] = [];
  for (const [name, v] of params) {
    if (!v.trainable) continue;
    publicName.set(v.name, name);
    vars.push(v);
  }
  if (vars.length === 0) throw new ConfigError('valueAndGrads: no trainable parameters given');
  const { value, grads } = tf.variableGrads(lossFn, vars);
  const out = new Map<string, Tensor>();
  for (const [internal, g] of Object.entries(grads))
    out.set(publicName.get(internal) ?? internal, g);
  return { loss: value, grads: out };
}

/**
 * Sums weighted micro-batch gradients; `mean()` divides by the total weight.
 * With weight 1 per micro-batch that is sum / k; pass the token count as the
 * weight when micro-batches hold different numbers of tokens. A name missing
 * from a micro-batch counts as a zero gradient there.
 */
export class GradientAccumulator {
  readonly #sums = new Map<string, Tensor>();
  #count = 0;
  #weight = 0;

  /** Micro-batches added since the last reset. */
  get count(): number {
    return this.#count;
  }

  /** Sum of the weights added since the last reset. */
  get totalWeight(): number {
    return this.#weight;
  }

  /** Add one micro-batch's gradients times `weight` (the inputs stay the caller's). */
  add(grads: GradMap, weight = 1): void {
    if (!(weight > 0) || !Number.isFinite(weight)) {
      throw new ConfigError(
        `accumulation weight must be a finite number > 0, got ${String(weight)}`,
      );
    }
    for (const [name, g] of gradEntries(grads)) {
      const prev = this.#sums.get(name);
      const next = tf.tidy(() => {
        const scaled = weight === 1 ? tf.clone(g) : tf.mul(g, weight);
        return prev ? tf.add(prev, scaled) : scaled;
      });
      prev?.dispose();
      this.#sums.set(name, next);
    }
    this.#count += 1;
    this.#weight += weight;
  }

  /** The weighted mean gradient: new tensors owned by the caller. */
  mean(): Map<string, Tensor> {
    if (this.#count === 0) throw new ConfigError('GradientAccumulator.mean() before any add()');
    const out = new Map<string, Tensor>();
    for (const [name, s] of this.#sums)
      out.set(
        name,
        tf.tidy(() => tf.div(s, this.#weight)),
      );
    return out;
  }

  /** Drop the sums (call after each optimizer step). */
  reset(): void {
    tf.dispose([...this.#sums.values()]);
    this.#sums.clear();
    this.#count = 0;
    this.#weight = 0;
  }

  /** Same as `reset`; the accumulator stays usable. */
  dispose(): void {
    this.reset();
  }
}
