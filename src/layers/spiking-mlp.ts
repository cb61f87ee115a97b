// The Spikingformer MLP sub-block (methods-language.md 0.5; github.com/
// zhouchenlin2096/Spikingformer `MLP`: lif -> conv1x1 -> BN -> lif -> conv1x1 -> BN):
//
//   X <- X + BN(SN(BN(SN(X) W1)) W2),   W1: [H, D], W2: [D, H], H = 4D by default
//
// on time-first input `[T, B, N, D]`. The residual stream X stays real-valued (the
// "membrane shortcut"); both weight layers see spikes only, so both report `spike`
// encoding to the energy recorder. BN is `TimeBatchNorm` (statistics over T, B, N).
// NOTE: Spikingformer uses 1x1 convolutions; a 1x1 conv over N tokens is exactly our
// Linear over the last axis (weights `[out, in]`, the conv's `[out, in, 1]` squeezed).
// NOTE: batch statistics over N mix tokens, so a causal decoder must run the BNs in
// eval mode (running statistics) or use another norm (methods-language.md 1(b)).
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { checkFinite, checkPositiveInt, ShapeError } from '../errors.js';
import { deriveSeed, Module, optBool } from './module.js';
import { Linear } from './linear.js';
import type { WeightPrecision } from './quantize.js';
import { TimeBatchNorm } from './time-batch-norm.js';
import { SpikingNeuron } from './spiking-neuron.js';

/** Constructor arguments of `SpikingMLP` (also its `getConfig()`). */
export interface SpikingMLPArgs {
  /** Model width `D` (last axis of the input and output). Positive integer. */
  in_features: number;
  /** Hidden width `H`. Default `4 * in_features`. */
  hidden_features?: number;
  /** Bias in both weight layers (Spikingformer's convs have one). Default `true`. */
  bias?: boolean;
  /** Precision of both weight layers: `float` (default), `binary` or `ternary`. */
  weight_precision?: WeightPrecision;
  /** STE clipping of quantised weights; default as `Linear` (true binary, false ternary). */
  ste_clip?: boolean;
  /** IF/LIF config of both neurons (config.json keys, no `time_steps`). Default Spikingformer LIF. */
  neuron?: Record<string, unknown>;
  /** `eps` of both batch norms. Default `1e-5`. */
  bn_eps?: number;
  /** `momentum` of both batch norms' running statistics. Default `0.1`. */
  bn_momentum?: number;
  /** Seed of the weight initialisation. Default `0`. */
  seed?: number;
}

/** Spiking MLP with a real-valued residual: `[T, B, N, D] -> [T, B, N, D]`. */
export class SpikingMLP extends Module {
  readonly inFeatures: number;
  readonly hiddenFeatures: number;
  private readonly seed: number;
  /** SN(X): spikes entering `up`. */
  readonly inSn: SpikingNeuron;
  /** W1 `[H, D]`. */
  readonly up: Linear;
  readonly upBn: TimeBatchNorm;
  /** Spikes entering `down`. */
  readonly hiddenSn: SpikingNeuron;
  /** W2 `[D, H]`. */
  readonly down: Linear;
  readonly downBn: TimeBatchNorm;

  constructor(args: SpikingMLPArgs) {
    super();
    checkPositiveInt(args.in_features, 'in_features');
    const d = args.in_features;
    const h = args.hidden_features ?? 4 * d;
    checkPositiveInt(h, 'hidden_features');
    this.seed = args.seed ?? 0;
    checkFinite(this.seed, 'seed');
    this.inFeatures = d;
    this.hiddenFeatures = h;
    const lin = {
      bias: optBool(args.bias, 'bias', true),
      weight_precision: args.weight_precision ?? 'float',
      ste_clip: args.ste_clip,
      input_encoding: 'spike' as const,
    };
    const bn = { eps: args.bn_eps, momentum: args.bn_momentum };
    this.inSn = this.addModule(
      'in_sn',
      new SpikingNeuron({ num_features: d, neuron: args.neuron }),
    );
    this.up = this.addModule(
      'up',
      new Linear({ ...lin, in_features: d, out_features: h, seed: deriveSeed(this.seed, 'up') }),
    );
    this.upBn = this.addModule('up_bn', new TimeBatchNorm({ ...bn, num_features: h }));
    this.hiddenSn = this.addModule(
      'hidden_sn',
      new SpikingNeuron({ num_features: h, neuron: args.neuron }),
    );
    this.down = this.addModule(
      'down',
      new Linear({ ...lin, in_features: h, out_features: d, seed: deriveSeed(this.seed, 'down') }),
    );
    this.downBn = this.addModule('down_bn', new TimeBatchNorm({ ...bn, num_features: d }));
  }

  getConfig(): Required<SpikingMLPArgs> {
    const up = this.up.getConfig();
    return {
      in_features: this.inFeatures,
      hidden_features: this.hiddenFeatures,
      bias: up.bias,
      weight_precision: up.weight_precision,
      ste_clip: up.ste_clip,
      neuron: this.inSn.getConfig().neuron,
      bn_eps: this.upBn.eps,
      bn_momentum: this.upBn.momentum,
      seed: this.seed,
    };
  }

  /** x: [T, B, N, D] (any token axes) -> [T, B, N, D]. Run under the caller's `tf.tidy`. */
  forward(x: Tensor): Tensor {
    if (x.rank < 3 || x.shape[x.rank - 1] !== this.inFeatures) {
      throw new ShapeError(
        `SpikingMLP '${this.path}': input must be time-first [T, B, N, ${this.inFeatures}], got shape [${x.shape.join(', ')}]`,
      );
    }
    const s1 = this.inSn.forward(x); // [T, B, N, D] spikes
    const a = this.upBn.forward(this.up.forward(s1)); // [T, B, N, H]
    const s2 = this.hiddenSn.forward(a); // [T, B, N, H] spikes
    const y = this.downBn.forward(this.down.forward(s2)); // [T, B, N, D]
    return tf.add(x, y); // [T, B, N, D], membrane shortcut
  }
}
