// Per-token normalisations over the last axis, built from differentiable tfjs ops
// (gradients by autodiff, on every backend):
// - RMSNorm as in LLaMA (HF `LlamaRMSNorm`, github.com/meta-llama/llama
//   `model.py`): `y = x / sqrt(mean(x^2) + eps) * weight`, weight init 1, eps 1e-6.
// - LayerNorm as in PyTorch `nn.LayerNorm`: `y = (x - mean) / sqrt(var + eps) *
//   weight + bias` with the biased variance, eps 1e-5.
import { tf } from '../tf.js';
import type { Tensor, Variable } from '../tf.js';
import { checkFinite, checkPositiveInt, ConfigError, ShapeError } from '../errors.js';
import { Module, optBool } from './module.js';

/** Constructor arguments of `RMSNorm` (also its `getConfig()`). */
export interface RMSNormArgs {
  /** Width `D` of the normalised last axis. Positive integer. */
  normalized_shape: number;
  /** Added to the mean square before the square root. Default `1e-6` (HF LLaMA). */
  eps?: number;
}

/** Constructor arguments of `LayerNorm` (also its `getConfig()`). */
export interface LayerNormArgs {
  /** Width `D` of the normalised last axis. Positive integer. */
  normalized_shape: number;
  /** Added to the variance before the square root. Default `1e-5` (PyTorch). */
  eps?: number;
  /** Learn a bias `[D]` (init 0). Default `true`. */
  bias?: boolean;
}

function checkEps(eps: number): void {
  checkFinite(eps, 'eps');
  if (eps <= 0) throw new ConfigError(`eps must be > 0, got ${eps}`);
}

function checkLastAxis(x: Tensor, d: number, what: string): void {
  if (x.rank < 1 || x.shape[x.rank - 1] !== d) {
    throw new ShapeError(
      `${what}: input last axis must be ${d}, got shape [${x.shape.join(', ')}]`,
    );
  }
}

/** Root-mean-square normalisation over the last axis, with a learned gain. */
export class RMSNorm extends Module {
  readonly normalizedShape: number;
  readonly eps: number;
  /** Gain `[D]`, init 1. */
  readonly weight: Variable;

  constructor(args: RMSNormArgs) {
    super();
    checkPositiveInt(args.normalized_shape, 'normalized_shape');
    this.eps = args.eps ?? 1e-6;
    checkEps(this.eps);
    this.normalizedShape = args.normalized_shape;
    this.weight = this.addParameter('weight', tf.ones([this.normalizedShape]));
  }

  getConfig(): Required<RMSNormArgs> {
    return { normalized_shape: this.normalizedShape, eps: this.eps };
  }

  /** x: [..., D] -> [..., D]. Run under the caller's `tf.tidy`. */
  forward(x: Tensor): Tensor {
    checkLastAxis(x, this.normalizedShape, `RMSNorm '${this.path}'`);
    const ms = tf.mean(tf.square(x), -1, true); // [..., 1]
    const inv = tf.rsqrt(tf.add(ms, this.eps)); // [..., 1]
    return tf.mul(tf.mul(x, inv), this.weight); // [..., D]
  }
}

/** Layer normalisation over the last axis, with learned gain and bias. */
export class LayerNorm extends Module {
  readonly normalizedShape: number;
  readonly eps: number;
  /** Gain `[D]`, init 1. */
  readonly weight: Variable;
  /** Bias `[D]`, init 0, or null. */
  readonly bias: Variable | null;

  constructor(args: LayerNormArgs) {
    super();
    checkPositiveInt(args.normalized_shape, 'normalized_shape');
    this.eps = args.eps ?? 1e-5;
    checkEps(this.eps);
    this.normalizedShape = args.normalized_shape;
    this.weight = this.addParameter('weight', tf.ones([this.normalizedShape]));
    this.bias = !optBool(args.bias, 'bias', true)
      ? null
      : this.addParameter('bias', tf.zeros([this.normalizedShape]));
  }

  getConfig(): Required<LayerNormArgs> {
    return { normalized_shape: this.normalizedShape, eps: this.eps, bias: this.bias !== null };
  }

  /** x: [..., D] -> [..., D]. Run under the caller's `tf.tidy`. */
  forward(x: Tensor): Tensor {
    checkLastAxis(x, this.normalizedShape, `LayerNorm '${this.path}'`);
    const mean = tf.mean(x, -1, true); // [..., 1]
    const xc = tf.sub(x, mean); // [..., D]
    const variance = tf.mean(tf.square(xc), -1, true); // [..., 1], biased
    const y = tf.mul(tf.mul(xc, tf.rsqrt(tf.add(variance, this.eps))), this.weight); // [..., D]
    return this.bias ? tf.add(y, this.bias) : y;
  }
}
