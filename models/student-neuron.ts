// The neurons of the spiking students, one module per neuron site (`layers.0.attn.q_sn`):
// - `lif`/`if`: binary spikes over T, the neuron core's multi-step runner (fused kernel
//   for a fixed threshold), Spikingformer's LIF by default (tau 2, θ 1, hard reset to 0,
//   reset detached, sigmoid α 4; methods-language.md 0.3);
// - `ilif`: SpikeYOLO's integer LIF, counts 0..D per step (0.3);
// - `asn`: the adaptive spiking neuron (arXiv 2604.12365) in the [P] design of 2(b):
//   per-channel leak λ = sigmoid(a) and step θ = softplus(b) + 1e-3, counts 0..D.
// A site returns `{ s, scale }`: `s` `[T, B, ..., C]` spikes or counts, and for ASN the step
// θ `[C]` that the consuming weight layer folds in (`n · (W diag θ)ᵀ = (θ n) Wᵀ`, 2(f)
// check 4), so weight layers only ever see spikes or integer counts. Each forward starts
// from a fresh state (every token's T steps are independent of the other tokens).
// NOTE: with T = 1 the integer neurons run their single-step functions: the neuron core's
// multi-step runners `unstack` T, and tfjs cannot differentiate `unstack` of a length-1
// axis (its Unpack gradient throws "Argument tensors passed to stack must be a Tensor[]").
import { tf } from '../src/tf.js';
import type { Tensor, Variable } from '../src/tf.js';
import { checkPositiveInt } from '../src/errors.js';
import {
  ASN_THETA_FLOOR,
  asnMultiStep,
  asnStep,
  asnTheta,
  ilifMultiStep,
  ilifStep,
  initialASNState,
  initialILIFState,
  lifMultiStep,
  makeILIFParams,
  parseNeuronConfig,
  validateASNOptions,
} from '../src/neurons/index.js';
import type { ILIFParams, LIFParams } from '../src/neurons/index.js';
import { Module } from '../src/layers/index.js';

export const STUDENT_NEURONS = ['lif', 'if', 'ilif', 'asn'] as const;
/** Neuron families a student can use. */
export type StudentNeuronKind = (typeof STUDENT_NEURONS)[number];

/** The config.json keys each family reads (besides `neuron` and `time_steps`). */
export const NEURON_FIELDS: Readonly<Record<StudentNeuronKind, readonly string[]>> = {
  lif: ['tau', 'v_threshold', 'v_reset', 'surrogate', 'surrogate_alpha', 'detach_reset'],
  if: ['v_threshold', 'v_reset', 'surrogate', 'surrogate_alpha', 'detach_reset'],
  ilif: ['max_count', 'decay', 'spike_encoding'],
  asn: ['max_count', 'decay', 'v_threshold', 'spike_encoding'],
};

/**
 * How activations enter weight layers: `spike` (IF/LIF 0/1 over T steps), `integer`
 * (counts 0..D per step, integer training) or `expanded` (each count as D binary
 * sub-steps, spike inference via `expandCounts`).
 */
export type SpikeCoding = 'spike' | 'integer' | 'expanded';

/** A validated neuron family with its coding and `levels` = counts per step (1 for spikes). */
export type StudentNeuronSetup =
  | { kind: 'lif' | 'if'; lif: LIFParams; coding: 'spike'; levels: 1 }
  | { kind: 'ilif'; ilif: ILIFParams; coding: 'integer' | 'expanded'; levels: number }
  | {
      kind: 'asn';
      lambdaInit: number;
      thetaInit: number;
      coding: 'integer' | 'expanded';
      levels: number;
    };

/** The neuron fields of a student config (see student-config.ts). */
export interface NeuronFields {
  neuron: StudentNeuronKind;
  tau: number;
  v_threshold: number;
  v_reset: number | null;
  surrogate: string;
  surrogate_alpha: number;
  detach_reset: boolean;
  max_count: number;
  decay: number;
  spike_encoding: 'integer' | 'binary';
}

/** Validate the neuron fields through the neuron core (errors name the field). */
export function studentNeuronSetup(c: NeuronFields): StudentNeuronSetup {
  const coding = c.spike_encoding === 'binary' ? 'expanded' : 'integer';
  switch (c.neuron) {
    case 'lif':
    case 'if': {
      const spec = parseNeuronConfig({
        neuron: c.neuron,
        ...(c.neuron === 'lif' ? { tau: c.tau } : {}),
        ...{ v_threshold: c.v_threshold, v_reset: c.v_reset, detach_reset: c.detach_reset },
        ...{ surrogate: c.surrogate, surrogate_alpha: c.surrogate_alpha },
      });
      return { kind: c.neuron, lif: spec.params as LIFParams, coding: 'spike', levels: 1 };
    }
    case 'ilif':
      return {
        kind: 'ilif',
        ilif: makeILIFParams({ decay: c.decay, maxCount: c.max_count }),
        coding,
        levels: c.max_count,
      };
    case 'asn':
      validateASNOptions({ lambdaInit: c.decay, thetaInit: c.v_threshold, maxCount: c.max_count });
      return {
        ...{ kind: 'asn', lambdaInit: c.decay, thetaInit: c.v_threshold },
        ...{ coding, levels: c.max_count },
      };
  }
}

/** A neuron site's output. */
export interface SpikeOut {
  /** `[T, B, ..., C]` spikes (0/1) or integer counts (0..D). */
  s: Tensor;
  /** ASN step θ `[C]` to fold into the consumer's weight; null otherwise. */
  scale: Tensor | null;
}

/** One neuron site over `[T, B, ..., C]` currents. */
export class StudentNeuron extends Module {
  readonly setup: StudentNeuronSetup;
  readonly channels: number;
  /** ASN leak logit `a` `[C]`; only when T > 1 (with one step the leak never acts). */
  readonly a: Variable | null = null;
  /** ASN step logit `b` `[C]`. */
  readonly b: Variable | null = null;
  private readonly a0: number = 0;

  constructor(setup: StudentNeuronSetup, channels: number, timeSteps: number) {
    super();
    checkPositiveInt(channels, 'channels');
    this.setup = setup;
    this.channels = channels;
    if (setup.kind === 'asn') {
      this.a0 = Math.log(setup.lambdaInit / (1 - setup.lambdaInit)); // sigmoid⁻¹(λ)
      const b0 = Math.log(Math.expm1(setup.thetaInit - ASN_THETA_FLOOR)); // softplus⁻¹
      if (timeSteps > 1) this.a = this.addParameter('a', tf.fill([channels], this.a0));
      this.b = this.addParameter('b', tf.fill([channels], b0));
    }
  }

  getConfig(): { kind: StudentNeuronKind; channels: number } {
    return { kind: this.setup.kind, channels: this.channels };
  }

  /** x: `[T, B, ..., C]` currents -> spikes/counts `[T, B, ..., C]`. Run under a tidy. */
  forward(x: Tensor): SpikeOut {
    const st = this.setup;
    switch (st.kind) {
      case 'lif':
      case 'if':
        return { s: lifMultiStep(x, st.lif).spikes, scale: null }; // [T, B, ..., C] 0/1
      case 'ilif': {
        if (x.shape[0] > 1) return { s: ilifMultiStep(x, st.ilif).counts, scale: null }; // [T, B, ..., C] 0..D
        const x1 = tf.squeeze(x, [0]); // [B, ..., C]
        const r = ilifStep(x1, initialILIFState(x1.shape), st.ilif);
        return { s: tf.expandDims(r.counts, 0), scale: null }; // [1, B, ..., C] 0..D
      }
      case 'asn': {
        const p = {
          a: this.a ?? tf.scalar(this.a0),
          b: this.b as Variable,
          ...{ maxCount: st.levels, gamma: 0, gradScale: 'lsq' as const },
        };
        const theta = asnTheta(p); // [C]
        if (x.shape[0] > 1) return { s: asnMultiStep(x, p).counts, scale: theta }; // [T, B, ..., C] 0..D
        const x1 = tf.squeeze(x, [0]); // [B, ..., C]
        const r = asnStep(x1, initialASNState(x1.shape), p);
        return { s: tf.expandDims(r.counts, 0), scale: theta }; // [1, B, ..., C] 0..D
      }
    }
  }
}
