// A multi-step IF/LIF neuron as a layer: the neuron core's `lifMultiStep`
// (src/neurons/) over time-first `[T, B, ..., C]` input, configured with the
// config.json neuron keys (`parseNeuronConfig`: tau, v_threshold, v_reset,
// surrogate, detach_reset, ...), plus an optional trainable threshold owned as a
// module parameter (`v_threshold`, scalar or `[C]`) so it is saved and loaded
// with the model. Each forward starts from a fresh membrane (SpikingJelly's
// `reset_net` before every sequence).
import { tf } from '../tf.js';
import type { Tensor, Variable } from '../tf.js';
import { checkPositiveInt, ConfigError, ShapeError } from '../errors.js';
import { lifMultiStep, neuronSpecToConfig, parseNeuronConfig } from '../neurons/index.js';
import type { LIFParams, NeuronSpec } from '../neurons/index.js';
import { Module } from './module.js';

/** Spikingformer's neuron: SpikingJelly multi-step LIF, tau 2, threshold 1, hard reset to 0, reset detached. */
export const SPIKINGFORMER_LIF: Readonly<Record<string, unknown>> = Object.freeze({
  neuron: 'lif',
  tau: 2,
  v_threshold: 1,
  v_reset: 0,
  detach_reset: true,
});

/** Constructor arguments of `SpikingNeuron` (also its `getConfig()`). */
export interface SpikingNeuronArgs {
  /** Channels `C` of the last input axis (size of a per-channel threshold). Positive integer. */
  num_features: number;
  /**
   * IF/LIF neuron config with config.json keys (see `NEURON_CONFIG_KEYS` of
   * src/neurons for `if`/`lif`), without `time_steps` (T is the input's first axis).
   * Missing keys take the neuron core's defaults; default `SPIKINGFORMER_LIF`.
   */
  neuron?: Record<string, unknown>;
}

type LIFSpec = Extract<NeuronSpec, { neuron: 'if' | 'lif' }>;

/** Multi-step IF/LIF layer: `[T, B, ..., C]` currents -> `[T, B, ..., C]` spikes. */
export class SpikingNeuron extends Module {
  readonly numFeatures: number;
  readonly spec: LIFSpec;
  /** The trainable threshold, or null for a fixed one. */
  readonly threshold: Variable | null;
  private readonly params: LIFParams;

  constructor(args: SpikingNeuronArgs) {
    super();
    checkPositiveInt(args.num_features, 'num_features');
    this.numFeatures = args.num_features;
    const cfg = args.neuron ?? SPIKINGFORMER_LIF;
    if ('time_steps' in cfg) {
      throw new ConfigError(
        'neuron config of a layer must not set time_steps: T is the first axis of the input',
      );
    }
    const spec = parseNeuronConfig(cfg);
    if (spec.neuron !== 'if' && spec.neuron !== 'lif') {
      throw new ConfigError(
        `this layer runs IF/LIF neurons (multi-step), got neuron ${JSON.stringify(spec.neuron)}`,
      );
    }
    this.spec = spec;
    const init = spec.params.vThreshold as number;
    if (spec.trainableThreshold !== 'none' && spec.fused === true) {
      throw new ConfigError('fused: true needs a fixed threshold; use fused "auto" or false');
    }
    this.threshold =
      spec.trainableThreshold === 'none'
        ? null
        : this.addParameter(
            'v_threshold',
            spec.trainableThreshold === 'layer'
              ? tf.scalar(init)
              : tf.fill([this.numFeatures], init),
          );
    this.params = this.threshold ? { ...spec.params, vThreshold: this.threshold } : spec.params;
  }

  getConfig(): Required<SpikingNeuronArgs> {
    const neuron = neuronSpecToConfig(this.spec);
    delete neuron.time_steps;
    return { num_features: this.numFeatures, neuron };
  }

  /** xSeq: [T, B, ..., C] -> spikes [T, B, ..., C]. Run under the caller's `tf.tidy`. */
  forward(xSeq: Tensor): Tensor {
    if (xSeq.rank < 2 || xSeq.shape[xSeq.rank - 1] !== this.numFeatures) {
      throw new ShapeError(
        `SpikingNeuron '${this.path}': input must be [T, B, ..., ${this.numFeatures}], got shape [${xSeq.shape.join(', ')}]`,
      );
    }
    return lifMultiStep(xSeq, this.params, { fused: this.spec.fused }).spikes; // [T, B, ..., C]
  }
}
