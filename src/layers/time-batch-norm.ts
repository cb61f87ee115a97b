// Batch normalisation over time steps for spiking layers: per channel (last axis),
// statistics over every other axis — T, B and any token axes — as in tdBN
// (threshold-dependent BN, Zheng et al., AAAI 2021, arXiv 2011.05280), which
// normalises to `alpha * V_th` scale, and as Spikingformer's code does
// (github.com/zhouchenlin2096/Spikingformer: `BatchNorm1d` on the time-flattened
// `[T*B, C, N]` tensor, so statistics over T, B, N). Running statistics and
// momentum follow PyTorch `nn.BatchNorm1d`: `running = (1 - m) * running + m * batch`,
// unbiased batch variance in the running update, biased in the normalisation.
// NOTE: no `num_batches_tracked` buffer (only needed for momentum=None in PyTorch).
//
// y = alpha * v_threshold * (x - mean) / sqrt(var + eps) * weight + bias
import { tf } from '../tf.js';
import type { Tensor, Variable } from '../tf.js';
import { checkFinite, checkPositiveInt, ConfigError, ShapeError } from '../errors.js';
import { Module, optBool } from './module.js';
import { Linear } from './linear.js';

/** Constructor arguments of `TimeBatchNorm` (also its `getConfig()`). */
export interface TimeBatchNormArgs {
  /** Channels `C` (last axis of the input). Positive integer. */
  num_features: number;
  /** Added to the variance before the square root. Default `1e-5` (PyTorch). */
  eps?: number;
  /** Weight of the new batch statistic in the running average, in [0, 1]. Default `0.1`. */
  momentum?: number;
  /** Learn a per-channel gain (init 1) and bias (init 0). Default `true`. */
  affine?: boolean;
  /** tdBN's `alpha` in the `alpha * v_threshold` output scale. Default `1` (plain BN). */
  alpha?: number;
  /** tdBN's `V_th` in the `alpha * v_threshold` output scale: the next neuron's threshold. Default `1`. */
  v_threshold?: number;
}

/** Batch norm over (T, B, tokens) per channel; running statistics in eval mode. */
export class TimeBatchNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  readonly alpha: number;
  readonly vThreshold: number;
  /** Gain `[C]` (init 1), or null when `affine` is false. */
  readonly weight: Variable | null;
  /** Bias `[C]` (init 0), or null when `affine` is false. */
  readonly bias: Variable | null;
  /** Running mean `[C]` (buffer, init 0). */
  readonly runningMean: Variable;
  /** Running unbiased variance `[C]` (buffer, init 1). */
  readonly runningVar: Variable;

  constructor(args: TimeBatchNormArgs) {
    super();
    checkPositiveInt(args.num_features, 'num_features');
    this.numFeatures = args.num_features;
    this.eps = args.eps ?? 1e-5;
    this.momentum = args.momentum ?? 0.1;
    this.alpha = args.alpha ?? 1;
    this.vThreshold = args.v_threshold ?? 1;
    for (const [k, v] of [
      ['eps', this.eps],
      ['momentum', this.momentum],
      ['alpha', this.alpha],
      ['v_threshold', this.vThreshold],
    ] as const) {
      checkFinite(v, k);
    }
    if (this.eps <= 0) throw new ConfigError(`eps must be > 0, got ${this.eps}`);
    if (this.momentum < 0 || this.momentum > 1) {
      throw new ConfigError(`momentum must be in [0, 1], got ${this.momentum}`);
    }
    const c = this.numFeatures;
    const affine = optBool(args.affine, 'affine', true);
    this.weight = affine ? this.addParameter('weight', tf.ones([c])) : null;
    this.bias = affine ? this.addParameter('bias', tf.zeros([c])) : null;
    this.runningMean = this.addParameter('running_mean', tf.zeros([c]), false);
    this.runningVar = this.addParameter('running_var', tf.ones([c]), false);
  }

  getConfig(): Required<TimeBatchNormArgs> {
    return {
      num_features: this.numFeatures,
      eps: this.eps,
      momentum: this.momentum,
      affine: this.weight !== null,
      alpha: this.alpha,
      v_threshold: this.vThreshold,
    };
  }

  /**
   * x: [T, B, ..., C] -> same shape. Training mode normalises with the batch
   * statistics over all axes but the last and updates the running ones; eval mode
   * uses the running statistics. Run under the caller's `tf.tidy`.
   */
  forward(x: Tensor): Tensor {
    const c = this.numFeatures;
    if (x.rank < 2 || x.shape[x.rank - 1] !== c) {
      throw new ShapeError(
        `TimeBatchNorm '${this.path}': input must be [T, B, ..., ${c}], got shape [${x.shape.join(', ')}]`,
      );
    }
    const rows = x.size / c;
    const x2 = tf.reshape(x, [rows, c]); // [T*B*N, C]
    let mean: Tensor, variance: Tensor;
    if (this.training) {
      if (rows < 2) {
        throw new ShapeError(
          `TimeBatchNorm '${this.path}': training needs more than 1 value per channel, got ${rows}`,
        );
      }
      mean = tf.mean(x2, 0); // [C]
      variance = tf.mean(tf.square(tf.sub(x2, mean)), 0); // [C], biased
      this.updateRunning(mean, variance, rows);
    } else {
      mean = this.runningMean;
      variance = this.runningVar;
    }
    const y = tf.mul(tf.sub(x2, mean), tf.mul(tf.rsqrt(tf.add(variance, this.eps)), this.scale())); // [rows, C]
    return tf.reshape(this.bias ? tf.add(y, this.bias) : y, x.shape); // [T, B, ..., C]
  }

  /** Per-channel output gain `alpha * v_threshold * weight`, [C]. */
  private scale(): Tensor {
    const s = this.alpha * this.vThreshold;
    return this.weight ? tf.mul(this.weight, s) : tf.fill([this.numFeatures], s);
  }

  private updateRunning(mean: Tensor, biasedVar: Tensor, rows: number): void {
    const m = this.momentum;
    tf.tidy(() => {
      const unbiased = tf.mul(biasedVar, rows / (rows - 1));
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)));
    });
  }

  /**
   * A new float `Linear` equal to `this(linear(x))` in eval mode: the running
   * statistics, gain and bias folded into the (effective, i.e. quantised) weight
   * and a bias. `linear` is left unchanged; the caller owns the result.
   */
  foldInto(linear: Linear): Linear {
    if (linear.outFeatures !== this.numFeatures) {
      throw new ShapeError(
        `TimeBatchNorm '${this.path}': cannot fold into a Linear with out_features ${linear.outFeatures} (num_features ${this.numFeatures})`,
      );
    }
    const folded = new Linear({
      ...linear.getConfig(),
      weight_precision: 'float',
      bias: true,
    });
    const state = tf.tidy(() => {
      const s = tf.mul(tf.rsqrt(tf.add(this.runningVar, this.eps)), this.scale()); // [C]
      const w = tf.mul(linear.effectiveWeight(), tf.expandDims(s, 1)); // [C, in]
      const b0 = linear.bias ?? tf.zeros([this.numFeatures]); // [C]
      let b = tf.mul(tf.sub(b0, this.runningMean), s); // [C]
      if (this.bias) b = tf.add(b, this.bias);
      return { weight: w, bias: b };
    });
    folded.loadState(state);
    tf.dispose([state.weight, state.bias]);
    return folded;
  }
}
