// The method registry of `snnlm vision train`: each training method is a row keyed
// by its CLI name, saying which nets it supports (with the reason when not), the
// net settings and optimiser it defaults to, and how it trains one batch. Methods
// added later (IDE, SPIDE, HLOP, binary weights) register here with the same
// interface (`registerVisionMethod`).
import { ConfigError } from '../src/errors.js';
import type { Tensor } from '../src/tf.js';
import { Opzo, createDefaultOptimizer, dsrTrainStep, onlineTrainStep } from './method-deps.js';
import type { Optimizer, OnlineRule } from './method-deps.js';
import type { SpikingVisionNet, VisionNetConfig } from '../models/vision/index.js';
import type { SpikingStepNet } from '../src/train/index.js';
import { createRng } from '../src/generate/rng.js';

/** What one training batch reports. */
export interface BatchReport {
  /** Mean over steps of the loss. */
  loss: number;
  /** Σ_t o[t] `[B, K]` of the training forward (owned by the caller; for train accuracy). */
  logitsSum: Tensor;
  firingRates: number[];
}

/** A method's trainer for one run. */
export interface MethodTrainer {
  readonly optimizer: Optimizer;
  trainBatch(x: Tensor, labels: Tensor): BatchReport;
  dispose(): void;
}

/** Settings a method is asked to start from (CLI flags). */
export interface MethodSettings {
  /** Base learning rate (a schedule scales it). */
  lr?: number;
  /** SLTT-K's K. */
  k?: number;
  seed: number;
}

/**
 * What the trainer needs of a net: step-driven (evaluation runs `step` T times and
 * sums the logits), savable as a model folder, with named spiking layers.
 */
export interface VisionModel extends SpikingStepNet {
  getConfig(): Record<string, unknown> & { model_type: string };
  stateDict(): Map<string, Tensor>;
  layerNames(): string[];
  eval(): unknown;
  dispose(): void;
}

/** The run settings a method that builds its own net (e.g. a feedback net) receives. */
export interface NetRequest {
  arch: string;
  timeSteps: number;
  seed: number;
  neuron?: string;
  hidden?: number[];
  channels?: number[];
}

/**
 * One training method. Built-in methods train the MLP/CNN of models/vision; a method
 * with another net lists its `archs` and builds the net in `buildNet`.
 */
export interface VisionMethod<N extends VisionModel = SpikingVisionNet> {
  readonly name: string;
  readonly summary: string;
  /** The gradient rule of the training cost model (methods-language 5), when it has one. */
  readonly costRule: 'bptt' | 'sltt' | 'sltt-k' | 'ottt' | 'opzo' | null;
  /** Default time steps [P, methods-vision 10]. */
  readonly defaultT: number;
  /** Archs it trains. @default ['mlp', 'cnn'] */
  readonly archs?: readonly string[];
  /** Builds the net for the archs of `archs` that are not models/vision's MLP/CNN. */
  buildNet?(req: NetRequest): N;
  /** Default net fields for an arch (merged under the user's). */
  netDefaults(arch: 'mlp' | 'cnn'): Record<string, unknown>;
  /** Why the method cannot train this net, or null when it can. */
  unsupported(cfg: VisionNetConfig): string | null;
  /** The trainer of one run. */
  createTrainer(net: N, s: MethodSettings): MethodTrainer;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each row is typed by its own net
const registry = new Map<string, VisionMethod<any>>();

/** Add (or replace) a method under its name. */
export function registerVisionMethod<N extends VisionModel>(m: VisionMethod<N>): void {
  registry.set(m.name, m);
}

/** The names of the registered methods, sorted. */
export function visionMethodNames(): string[] {
  return [...registry.keys()].sort();
}

/** The method `name`; a ConfigError listing the known ones otherwise. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each row is typed by its own net
export function visionMethod(name: string): VisionMethod<any> {
  const m = registry.get(name);
  if (!m) {
    throw new ConfigError(
      `unknown method ${JSON.stringify(name)}; known: ${visionMethodNames().join(', ')}`,
    );
  }
  return m;
}

/** Throw a ConfigError naming the method and the reason when it cannot train `cfg`. */
export function checkSupported<N extends VisionModel>(
  m: VisionMethod<N>,
  cfg: VisionNetConfig,
): void {
  const why = m.unsupported(cfg);
  if (why) throw new ConfigError(`method ${m.name} does not support this network: ${why}`);
}

// ---- the methods of methods-vision 1-5 ----------------------------------------------

/** The LIF of OTTT/SLTT/OPZO's code (λ 0.5, V_th 1, soft reset detached, sigmoid α 4) [V]. */
const LIF = {
  neuron: 'lif',
  decay: 0.5,
  v_threshold: 1,
  v_reset: null,
  detach_reset: true,
  surrogate: 'sigmoid',
  surrogate_alpha: 4,
};

const ifOrLif = (c: VisionNetConfig) =>
  c.neuronSpec.neuron === 'if' || c.neuronSpec.neuron === 'lif'
    ? null
    : `it needs IF or LIF neurons, got ${c.neuronSpec.neuron}`;

function online(name: string, rule: OnlineRule, summary: string, mse: number): VisionMethod {
  const isOttt = rule.startsWith('ottt');
  return {
    name,
    summary,
    costRule: isOttt ? 'ottt' : (rule as 'bptt' | 'sltt' | 'sltt-k'),
    defaultT: 6,
    netDefaults: (arch) => ({
      neuron: LIF,
      norm: arch === 'cnn' ? (isOttt ? 'sws' : 'batch') : 'none',
    }),
    unsupported: (c) => {
      if (c.dsr) return 'its neurons use DSR spikes (config field dsr)';
      if (isOttt) {
        if (c.norm === 'batch')
          return 'OTTT trains online and uses scaled weight standardisation (norm "sws" or "none"), not batch norm';
        return ifOrLif(c);
      }
      return null;
    },
    createTrainer(net, s) {
      const optimizer = createDefaultOptimizer(net, s.lr ?? 0.1);
      const rng = createRng(s.seed);
      return {
        optimizer,
        trainBatch: (x, y) =>
          onlineTrainStep(net, optimizer, x, y, { rule, k: s.k ?? 2, rng, mseWeight: mse }),
        dispose: () => optimizer.dispose(),
      };
    },
  };
}

registerVisionMethod(
  online('bptt', 'bptt', 'surrogate-gradient BPTT over the whole T-step graph (baseline)', 0),
);
registerVisionMethod(
  online(
    'sltt',
    'sltt',
    'SLTT: temporal paths dropped, one backward per step, memory of one step',
    0.05,
  ),
);
registerVisionMethod(
  online('sltt-k', 'sltt-k', 'SLTT-K: backward at K random steps (--k, default 2)', 0.05),
);
registerVisionMethod(
  online(
    'ottt',
    'ottt-a',
    'OTTT_A: presynaptic traces, instantaneous loss, one update per batch',
    0.05,
  ),
);
registerVisionMethod(
  online('ottt-o', 'ottt-o', 'OTTT_O: as OTTT_A with an update after every time step', 0.05),
);

registerVisionMethod<SpikingVisionNet>({
  name: 'dsr',
  summary: 'DSR: gradients through the spike representation (rate clamp), trainable thresholds',
  costRule: null,
  defaultT: 20,
  // LIF τ 1, Δt 0.05 (β = e^-0.05), V_th 0.3 trainable, α 0.3 [V code defaults].
  netDefaults: (arch) => ({
    neuron: {
      neuron: 'lif',
      decay: Math.exp(-0.05),
      input_gain: 1 - Math.exp(-0.05),
      v_threshold: 0.3,
      v_reset: null,
      trainable_threshold: true,
    },
    dsr: { alpha: 0.3, dt: 0.05 },
    norm: 'none',
    pool: arch === 'cnn' ? 'avg' : undefined,
  }),
  unsupported: (c) => {
    const neuron = ifOrLif(c);
    if (neuron) return neuron;
    if (!c.dsr) return 'its neurons need DSR spikes (config field dsr: {alpha, dt})';
    if (c.norm === 'batch')
      return 'the rate graph needs linear synapses; batch norm over steps is not (use norm "none" or "sws")';
    if (c.arch === 'cnn' && c.pool === 'max')
      return 'max pooling does not commute with the rate; use pool "avg"';
    return null;
  },
  createTrainer(net, s) {
    const optimizer = createDefaultOptimizer(net, s.lr ?? 0.1);
    const bound = net.config.dsr?.dt === null ? 0.01 : 5e-4;
    return {
      optimizer,
      trainBatch: (x, y) => dsrTrainStep(net, optimizer, x, y, { thresholdBound: bound }),
      dispose: () => optimizer.dispose(),
    };
  },
});

registerVisionMethod<SpikingVisionNet>({
  name: 'opzo',
  summary: 'OPZO: one forward with node perturbation and momentum feedback, no backward pass',
  costRule: 'opzo',
  defaultT: 6,
  netDefaults: () => ({ neuron: LIF, norm: 'none', hidden: [400, 400] }),
  unsupported: (c) => {
    if (c.arch !== 'mlp')
      return 'its feedback matrices and local updates are written for fully connected synapses (arch mlp)';
    if (c.norm !== 'none') return 'it updates the raw weights without a tape (norm "none")';
    if (c.dsr) return 'its neurons use DSR spikes';
    if (c.neuronSpec.neuron === 'lif' || c.neuronSpec.neuron === 'if') {
      return c.neuronSpec.params.vReset === null ? null : 'it needs the soft reset (v_reset null)';
    }
    return ifOrLif(c);
  },
  createTrainer(net, s) {
    const optimizer = createDefaultOptimizer(net, s.lr ?? 0.1);
    const opzo = new Opzo(net, { seed: s.seed, mseWeight: 0.05 });
    return {
      optimizer,
      trainBatch: (x, y) => opzo.trainStep(optimizer, x, y),
      dispose: () => {
        opzo.dispose();
        optimizer.dispose();
      },
    };
  },
});
