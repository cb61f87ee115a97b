// The feedback SNN of IDE and SPIDE (methods-vision.md 6(b), 7(b); Xiao et al.,
// NeurIPS 2021 / Neural Networks 2023, github.com/pkuxmq/IDE-FSNN and SPIDE-FSNN):
// an input map F (Linear, optional BN), a chain of L spiking layers inside a loop
// closed by feedback weights W_fb from the last layer to the first, and a linear
// readout on the last layer's average firing rate.
//
// Two views of the same network:
// - spiking: T steps of IF/LIF neurons of the core (soft reset; SPIDE's modified
//   reset subtracts V_th - u_rest), giving (weighted) average firing rates a_l;
// - equilibrium: the rates approximate the fixed point a = f(a, x) with
//     f_1 = clamp(c (F x + b + a_L W_fb^T), 0, 1),   f_l = clamp(c (a_{l-1} W_l^T + b_l), 0, 1)
//   where c = 1 / (amount subtracted per spike): 1/V_th (IDE), 1/(V_th - u_rest) (SPIDE).
// The training rules in src/train/ide.ts and spide.ts use the `EquilibriumNetwork`
// contract this class implements.
import { tf } from '../../src/tf.js';
import type { Tensor, Variable } from '../../src/tf.js';
import { ConfigError, ShapeError, checkFinite, checkPositiveInt } from '../../src/errors.js';
import { matMul } from '../../src/ops/index.js';
import { Linear, Module, TimeBatchNorm, deriveSeed } from '../../src/layers/index.js';
import { lifStep, makeLIFParams } from '../../src/neurons/index.js';
import type { LIFParams, LIFState } from '../../src/neurons/index.js';
import type {
  EquilibriumNetwork,
  LayerRecord,
  LinearizedEquilibrium,
  SpikingStepNet,
  StepOptions,
  StepOutput,
  StepState,
} from '../../src/train/index.js';

/** `model_type` of a feedback SNN's config.json. */
export const FEEDBACK_MODEL_TYPE = 'feedback-snn';

/** Neurons the equilibrium view allows: IF, and LIF with the IDE leak `v <- lambda v` after reset. */
export const FEEDBACK_NEURONS = ['if', 'lif'] as const;
export type FeedbackNeuron = (typeof FEEDBACK_NEURONS)[number];

/** Reset rules: `subtract` V_th (IDE), or SPIDE's `modified` reset subtracting V_th - u_rest. */
export const FEEDBACK_RESETS = ['subtract', 'modified'] as const;
export type FeedbackReset = (typeof FEEDBACK_RESETS)[number];

/** Constructor arguments (the config.json keys) of `FeedbackSNN`. */
export interface FeedbackSNNConfig {
  /** Input width `n_0` (784 for MNIST). */
  input_size: number;
  /** Widths `n_1..n_L` of the spiking layers inside the loop (IDE F400: `[400]`). */
  hidden_sizes: number[];
  /** Classes of the linear readout. */
  num_classes: number;
  /** `if` (default) or `lif`. Other neurons of the core have no equilibrium map and are rejected. */
  neuron?: string;
  /** LIF leak lambda in (0, 1] applied after the reset (IDE code: 0.95 or 0.99). Default 0.95. */
  leak?: number;
  /** Firing threshold V_th. Default 2 (IDE code) [V]; SPIDE code uses 1. */
  v_threshold?: number;
  /** `subtract` (default, IDE) or `modified` (SPIDE). */
  reset?: string;
  /** Resting potential of the modified reset. Default `-v_threshold` (SPIDE code) [V]. */
  u_rest?: number;
  /** Batch norm on the input branch F x (IDE F400 uses Linear+BN) [V]. Default false. */
  input_norm?: boolean;
  /**
   * Feedback weight parameterisation: `spectral` (IDE code: `W_fb = g W / sigma_max(W)`, g a
   * learnable scalar clamped to [-1, 1], sigma by power iteration) or `none` (plain weight).
   * Default `spectral`.
   */
  feedback_norm?: string;
  /** Power iterations per training forward for the spectral norm. Default 1 (PyTorch's default). */
  power_iterations?: number;
  /** Time steps T of inference and of the step-driven interface. Default 5 (IDE F400) [V]. */
  time_steps?: number;
  /** Seed of every initialisation. Default 0. */
  seed?: number;
  /** Accepted when present (config.json); must be `feedback-snn`. */
  model_type?: string;
}

/** Parsed config with defaults filled in. */
export type ResolvedFeedbackConfig = Required<FeedbackSNNConfig> & {
  model_type: typeof FEEDBACK_MODEL_TYPE;
  neuron: FeedbackNeuron;
  reset: FeedbackReset;
  feedback_norm: 'spectral' | 'none';
};

/** IDE's Fashion-MNIST "F400" network: 784 -> Linear+BN -> 400 with 400x400 feedback -> 10 [V]. */
export function ideF400Config(overrides: Partial<FeedbackSNNConfig> = {}): FeedbackSNNConfig {
  return {
    input_size: 784,
    hidden_sizes: [400],
    num_classes: 10,
    neuron: 'if',
    v_threshold: 2,
    reset: 'subtract',
    input_norm: true,
    feedback_norm: 'spectral',
    ...overrides,
  };
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string, def: T): T {
  if (value === undefined) return def;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new ConfigError(
      `feedback SNN config: ${field} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

/** Validate a feedback SNN config and fill in the defaults; errors name the field. */
export function parseFeedbackConfig(cfg: FeedbackSNNConfig): ResolvedFeedbackConfig {
  if (cfg.model_type !== undefined && cfg.model_type !== FEEDBACK_MODEL_TYPE) {
    throw new ConfigError(
      `feedback SNN config: model_type must be "${FEEDBACK_MODEL_TYPE}", got ${JSON.stringify(cfg.model_type)}`,
    );
  }
  checkPositiveInt(cfg.input_size, 'input_size');
  checkPositiveInt(cfg.num_classes, 'num_classes');
  if (!Array.isArray(cfg.hidden_sizes) || cfg.hidden_sizes.length === 0) {
    throw new ConfigError(
      `feedback SNN config: hidden_sizes must be a non-empty array of widths, got ${JSON.stringify(cfg.hidden_sizes)}`,
    );
  }
  cfg.hidden_sizes.forEach((n, i) => checkPositiveInt(n, `hidden_sizes[${i}]`));
  const neuron = oneOf(cfg.neuron, FEEDBACK_NEURONS, 'neuron', 'if');
  const reset = oneOf(cfg.reset, FEEDBACK_RESETS, 'reset', 'subtract');
  const feedbackNorm = oneOf(
    cfg.feedback_norm,
    ['spectral', 'none'] as const,
    'feedback_norm',
    'spectral',
  );
  const vth = cfg.v_threshold ?? 2;
  checkFinite(vth, 'v_threshold');
  if (vth <= 0) throw new ConfigError(`feedback SNN config: v_threshold must be > 0, got ${vth}`);
  const uRest = cfg.u_rest ?? -vth;
  checkFinite(uRest, 'u_rest');
  if (uRest >= vth) {
    throw new ConfigError(`feedback SNN config: u_rest must be < v_threshold, got ${uRest}`);
  }
  const leak = cfg.leak ?? 0.95;
  checkFinite(leak, 'leak');
  if (!(leak > 0 && leak <= 1)) {
    throw new ConfigError(`feedback SNN config: leak must be in (0, 1], got ${leak}`);
  }
  const pit = cfg.power_iterations ?? 1;
  checkPositiveInt(pit, 'power_iterations');
  const seed = cfg.seed ?? 0;
  checkFinite(seed, 'seed');
  const timeSteps = cfg.time_steps ?? 5;
  checkPositiveInt(timeSteps, 'time_steps');
  const inputNorm = cfg.input_norm ?? false;
  if (typeof inputNorm !== 'boolean') {
    throw new ConfigError(
      `feedback SNN config: input_norm must be true or false, got ${JSON.stringify(inputNorm)}`,
    );
  }
  return {
    model_type: FEEDBACK_MODEL_TYPE,
    input_size: cfg.input_size,
    hidden_sizes: [...cfg.hidden_sizes],
    num_classes: cfg.num_classes,
    neuron,
    leak,
    v_threshold: vth,
    reset,
    u_rest: uRest,
    input_norm: inputNorm,
    feedback_norm: feedbackNorm,
    power_iterations: pit,
    time_steps: timeSteps,
    seed,
  };
}

/** Amount subtracted per spike: V_th (plain soft reset) or V_th - u_rest (SPIDE's modified reset). */
export function resetAmountOf(
  cfg: Pick<ResolvedFeedbackConfig, 'reset' | 'v_threshold' | 'u_rest'>,
): number {
  return cfg.reset === 'modified' ? cfg.v_threshold - cfg.u_rest : cfg.v_threshold;
}

/** The core IF/LIF parameters of the loop neurons (soft reset by `resetAmountOf`). */
export function feedbackNeuronParams(cfg: ResolvedFeedbackConfig): LIFParams {
  return makeLIFParams({
    charge: cfg.neuron === 'if' ? { form: 'if' } : { form: 'lambda', lambda: cfg.leak, gain: 1 },
    vThreshold: cfg.v_threshold,
    vReset: null,
    resetAmount: resetAmountOf(cfg),
  });
}

/**
 * `clamp(z, 0, 1)` whose gradient is `1[0 < z < 1]` (the equilibrium map's derivative in
 * methods-vision.md 6(c); tfjs's clipByValue would also pass the gradient at the bounds).
 */
const rateClampOp = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
  const [z, save] = args as [Tensor, tf.GradSaveFunc];
  save([z]);
  return {
    value: tf.clipByValue(z, 0, 1),
    gradFunc: (dy: Tensor, saved: Tensor[]) => tf.mul(dy, rateMask(saved[0])),
  };
});

/** The clamped rate of a scaled pre-activation z, differentiable with gradient `1[0 < z < 1]`. */
export function rateClamp(z: Tensor): Tensor {
  return rateClampOp(z);
}

/** `1[0 < z < 1]` as float32 (not differentiable). */
export function rateMask(z: Tensor): Tensor {
  return tf.tidy(() => tf.cast(tf.logicalAnd(tf.greater(z, 0), tf.less(z, 1)), 'float32'));
}

function l2normalize(v: Tensor): Tensor {
  return tf.tidy(() => tf.div(v, tf.add(tf.norm(v), 1e-12)));
}

/** Feedback SNN (IDE/SPIDE) built from a config; implements `EquilibriumNetwork`. */
export class FeedbackSNN extends Module implements EquilibriumNetwork, SpikingStepNet {
  readonly config: ResolvedFeedbackConfig;
  /** Input map F: `[n_1, n_0]` with bias. */
  readonly input: Linear;
  readonly inputNorm: TimeBatchNorm | null;
  /** Chain weights W_2..W_L (`layers.0` maps layer 1 to layer 2). */
  readonly layers: Linear[];
  /** Feedback from layer L to layer 1, `[n_1, n_L]`, no bias (the raw weight under `spectral`). */
  readonly feedback: Linear;
  /** Spectral parameterisation: the learnable scale g (clamped to [-1, 1]) and the power-iteration vectors. */
  readonly feedbackScale: Variable | null;
  private readonly powerU: Variable | null;
  private readonly powerV: Variable | null;
  readonly readout: Linear;
  readonly neuronParams: LIFParams;
  /** c = 1 / (amount subtracted per spike): rate per unit of input current. */
  readonly rateScale: number;

  constructor(config: FeedbackSNNConfig) {
    super();
    const cfg = parseFeedbackConfig(config);
    this.config = cfg;
    const sizes = cfg.hidden_sizes;
    const n1 = sizes[0];
    const nL = sizes[sizes.length - 1];
    const seed = cfg.seed;
    this.input = this.addModule(
      'input',
      new Linear({
        in_features: cfg.input_size,
        out_features: n1,
        seed: deriveSeed(seed, 'input'),
      }),
    );
    this.inputNorm = cfg.input_norm
      ? this.addModule('input_norm', new TimeBatchNorm({ num_features: n1 }))
      : null;
    this.layers = sizes.slice(1).map((n, i) =>
      this.addModule(
        `layers.${i}`,
        new Linear({
          in_features: sizes[i],
          out_features: n,
          seed: deriveSeed(seed, `layers.${i}`),
          input_encoding: 'spike',
        }),
      ),
    );
    this.feedback = this.addModule(
      'feedback',
      new Linear({
        in_features: nL,
        out_features: n1,
        bias: false,
        seed: deriveSeed(seed, 'feedback'),
        input_encoding: 'spike',
      }),
    );
    if (cfg.feedback_norm === 'spectral') {
      this.feedbackScale = this.addParameter('feedback_scale', tf.scalar(1)); // [P] init g = 1
      this.powerU = this.addParameter(
        'feedback_u',
        l2normalize(tf.randomNormal([n1], 0, 1, 'float32', deriveSeed(seed, 'u'))),
        false,
      );
      this.powerV = this.addParameter('feedback_v', tf.zeros([nL]), false);
      this.powerIterate(30); // [P] a converged estimate from the start
    } else {
      this.feedbackScale = null;
      this.powerU = null;
      this.powerV = null;
    }
    this.readout = this.addModule(
      'readout',
      new Linear({
        in_features: nL,
        out_features: cfg.num_classes,
        seed: deriveSeed(seed, 'readout'),
      }),
    );
    this.neuronParams = feedbackNeuronParams(cfg);
    this.rateScale = 1 / resetAmountOf(cfg);
  }

  getConfig(): ResolvedFeedbackConfig {
    return { ...this.config, hidden_sizes: [...this.config.hidden_sizes] };
  }

  get numLayers(): number {
    return this.config.hidden_sizes.length;
  }

  get layerSizes(): readonly number[] {
    return this.config.hidden_sizes;
  }

  // ---- step-driven interface (evaluation and per-step monitors) ----------------------

  get timeSteps(): number {
    return this.config.time_steps;
  }

  get numSpikingLayers(): number {
    return this.numLayers;
  }

  get neuronKind(): string {
    return this.config.neuron;
  }

  traceDecay(_layer: number): number {
    return this.config.neuron === 'lif' ? this.config.leak : 1;
  }

  /** Names of the loop layers for per-layer reports (`loop.0`, ...). */
  layerNames(): string[] {
    return this.config.hidden_sizes.map((_, l) => `loop.${l}`);
  }

  /** A resting state: per loop layer the membrane `v` and the last spikes `s`, `[B, n_l]`. */
  initState(batch: number): StepState {
    checkPositiveInt(batch, 'batch');
    return {
      neurons: this.config.hidden_sizes.map((n) => ({
        v: tf.zeros([batch, n]),
        s: tf.zeros([batch, n]),
      })),
      traces: null,
    };
  }

  /**
   * One step of the loop (same order as `simulate`): layer 1 gets `F x + b` plus the last
   * layer's previous spikes through W_fb; logits `o[t] = readout(s_L[t])`, so
   * `sum_t o[t] = T readout(a)` for IF. For evaluation and monitors: the feedback SNN trains
   * by IDE/SPIDE, so the online rules' switches (detachState, traces, perturb) are refused.
   * The spectral-norm power iteration is not advanced here. Run under `tf.tidy`.
   */
  step(x: Tensor, state: StepState, opts: StepOptions = {}): StepOutput {
    if (opts.detachState || opts.traces || opts.perturb) {
      throw new ConfigError(
        'FeedbackSNN.step: the feedback SNN trains by IDE/SPIDE (ideGradients, spideGradients); detachState, traces and perturb are not supported',
      );
    }
    const L = this.numLayers;
    if (state.neurons.length !== L) {
      throw new ShapeError(
        `FeedbackSNN.step: state has ${state.neurons.length} layers, expected ${L}`,
      );
    }
    const cur = this.inputCurrent(x, false); // [B, n1]
    const fb = this.effectiveFeedback(); // [n1, nL]
    const th = this.config.v_threshold;
    const neurons: Record<string, Tensor>[] = [];
    const layers: LayerRecord[] = [];
    for (let l = 0; l < L; l++) {
      let inp: Tensor;
      let synIn: Tensor;
      if (l === 0) {
        synIn = x;
        inp = tf.add(cur, matMul(state.neurons[L - 1].s, fb, false, true)); // [B, n1]
      } else {
        synIn = neurons[l - 1].s;
        inp = this.layers[l - 1].forward(synIn); // [B, n_l]
      }
      const r = lifStep(inp, { v: state.neurons[l].v }, this.neuronParams);
      neurons.push({ v: r.state.v, s: r.spikes });
      layers.push({ input: synIn, trace: null, charge: null, spikes: r.spikes, threshold: th });
    }
    const last = neurons[L - 1].s;
    return {
      logits: this.readout.forward(last),
      state: { neurons, traces: null },
      layers,
      readoutInput: last,
      readoutTrace: null,
    };
  }

  /** Run `n` power iterations on the raw feedback weight, updating the stored u, v. */
  powerIterate(n: number = this.config.power_iterations): void {
    if (!this.powerU || !this.powerV) return;
    const u0 = this.powerU;
    const v0 = this.powerV;
    tf.tidy(() => {
      const w = this.feedback.weight; // [n1, nL]
      let u: Tensor = u0;
      let v: Tensor = v0;
      for (let i = 0; i < n; i++) {
        v = l2normalize(tf.squeeze(matMul(tf.expandDims(u, 0), w), [0])); // [nL]
        u = l2normalize(tf.squeeze(matMul(w, tf.expandDims(v, 1)), [1])); // [n1]
      }
      u0.assign(u);
      v0.assign(v);
    });
  }

  /**
   * The feedback weight the network uses, `[n_1, n_L]`: `clamp(g,-1,1) W / sigma` with
   * `sigma = u^T W v` (u, v constants) under `spectral`, else the plain weight.
   * Differentiable w.r.t. W and g. Run under the caller's `tf.tidy`.
   */
  effectiveFeedback(): Tensor {
    const w = this.feedback.weight;
    if (!this.feedbackScale || !this.powerU || !this.powerV) return tf.clone(w);
    const sigma = tf.sum(tf.mul(matMul(tf.expandDims(this.powerU, 0), w), this.powerV)); // []
    const g = tf.clipByValue(this.feedbackScale, -1, 1);
    return tf.mul(tf.div(w, sigma), g); // [n1, nL]
  }

  /**
   * Input current of layer 1 (`F x + b`, batch-normed when configured), `[B, n_1]`.
   * x: `[B, n_0]` (direct coding: the same current at every step). With
   * `updateStats = false` a training-mode BN leaves its running statistics unchanged.
   */
  inputCurrent(x: Tensor, updateStats = true): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.config.input_size) {
      throw new ShapeError(
        `FeedbackSNN: input must be [B, ${this.config.input_size}], got shape [${x.shape.join(', ')}]`,
      );
    }
    const cur = this.input.forward(x, { firstLayer: true }); // [B, n1]
    const bn = this.inputNorm;
    if (!bn) return cur;
    if (updateStats || !bn.training) return bn.forward(cur);
    const saved = [tf.clone(bn.runningMean), tf.clone(bn.runningVar)];
    const y = bn.forward(cur);
    bn.runningMean.assign(saved[0]);
    bn.runningVar.assign(saved[1]);
    tf.dispose(saved);
    return y;
  }

  /**
   * Simulate T steps of the loop from rest (no gradient) and return each layer's average
   * firing rate `[B, n_l]`: the plain mean for IF, `sum lambda^(T-t) s[t] / sum lambda^(T-t)`
   * for LIF. `current` is `inputCurrent(x)`. In training mode the spectral-norm power
   * iteration advances first. The caller owns the returned tensors.
   */
  simulate(current: Tensor, timeSteps: number): Tensor[] {
    checkPositiveInt(timeSteps, 'T (time steps)');
    if (this.training) this.powerIterate();
    const L = this.numLayers;
    const lam = this.config.neuron === 'lif' ? this.config.leak : 1;
    const p = this.neuronParams;
    const batch = current.shape[0];
    const weights = tf.tidy(() => {
      const fb = this.effectiveFeedback(); // [n1, nL]
      const ws = this.layers.map((l) => l.effectiveWeight());
      return [fb, ...ws];
    });
    const sizes = this.config.hidden_sizes;
    let states: LIFState[] = sizes.map((n) => ({ v: tf.zeros([batch, n]) }));
    let spikes: Tensor[] = sizes.map((n) => tf.zeros([batch, n]));
    let sums: Tensor[] = sizes.map((n) => tf.zeros([batch, n]));
    let norm = 0;
    for (let t = 0; t < timeSteps; t++) {
      const next = tf.tidy(() => {
        const newStates: Tensor[] = [];
        const newSpikes: Tensor[] = [];
        for (let l = 0; l < L; l++) {
          let inp: Tensor;
          if (l === 0) {
            inp = tf.add(current, matMul(spikes[L - 1], weights[0], false, true)); // [B, n1]
          } else {
            inp = matMul(newSpikes[l - 1], weights[l], false, true); // [B, n_l]
            const b = this.layers[l - 1].bias;
            if (b) inp = tf.add(inp, b);
          }
          const r = lifStep(inp, states[l], p);
          newStates.push(r.state.v);
          newSpikes.push(r.spikes);
        }
        const newSums = sums.map((s, l) =>
          lam === 1 ? tf.add(s, newSpikes[l]) : tf.add(tf.mul(s, lam), newSpikes[l]),
        );
        return [...newStates, ...newSpikes, ...newSums];
      });
      tf.dispose([...states.map((s) => s.v), ...spikes, ...sums]);
      states = next.slice(0, L).map((v) => ({ v }));
      spikes = next.slice(L, 2 * L);
      sums = next.slice(2 * L);
      norm = lam * norm + 1;
    }
    const rates = sums.map((s) => tf.div(s, norm));
    tf.dispose([...states.map((s) => s.v), ...spikes, ...sums, ...weights]);
    return rates;
  }

  /** Scaled pre-activations `z_l` of the equilibrium map at `rates` (so `f_l = clamp(z_l, 0, 1)`). */
  private preActivations(current: Tensor, rates: readonly Tensor[]): Tensor[] {
    this.checkRates(rates);
    const L = this.numLayers;
    const c = this.rateScale;
    const fb = this.effectiveFeedback(); // [n1, nL]
    const z: Tensor[] = [];
    z.push(tf.mul(tf.add(current, matMul(rates[L - 1], fb, false, true)), c)); // [B, n1]
    for (let l = 1; l < L; l++) {
      z.push(tf.mul(this.layers[l - 1].forward(rates[l - 1]), c)); // [B, n_l]
    }
    return z;
  }

  /** The equilibrium map `f(a)` per layer, differentiable w.r.t. rates and parameters. */
  equilibrium(current: Tensor, rates: readonly Tensor[]): Tensor[] {
    return this.preActivations(current, rates).map(rateClamp);
  }

  /**
   * `J^T v` of `f` at `rates` by hand (no autodiff): with masks `m_l = 1[0 < z_l < 1]`,
   * `(J^T v)_L = c (m_1 v_1) W_fb` plus, for l >= 2, `(J^T v)_{l-1} = c (m_l v_l) W_l`.
   * The returned object owns its masks and weights: call `dispose()`.
   */
  linearize(current: Tensor, rates: readonly Tensor[]): LinearizedEquilibrium {
    const L = this.numLayers;
    const c = this.rateScale;
    const held = tf.tidy(() => {
      const masks = this.preActivations(current, rates).map(rateMask);
      const ws = [this.effectiveFeedback(), ...this.layers.map((l) => l.effectiveWeight())];
      return [...masks, ...ws];
    });
    const masks = held.slice(0, L);
    const ws = held.slice(L);
    return {
      masks,
      vjp: (v: readonly Tensor[]): Tensor[] =>
        tf.tidy(() => {
          const out: Tensor[] = v.map((t) => tf.zerosLike(t));
          for (let l = 0; l < L; l++) {
            const mv = tf.mul(tf.mul(masks[l], v[l]), c); // [B, n_l]
            const target = l === 0 ? L - 1 : l - 1;
            out[target] = tf.add(out[target], matMul(mv, ws[l])); // [B, n_target]
          }
          return out;
        }),
      dispose: () => tf.dispose(held),
    };
  }

  /** Logits `[B, classes]` from the last layer's rate. */
  readoutLogits(rates: readonly Tensor[]): Tensor {
    this.checkRates(rates);
    return this.readout.forward(rates[rates.length - 1]);
  }

  /** Spiking inference: simulate T steps and read out, `[B, classes]`. */
  forward(x: Tensor, timeSteps: number): Tensor {
    return tf.tidy(() => {
      const cur = this.inputCurrent(x, false);
      const rates = this.simulate(cur, timeSteps);
      return this.readoutLogits(rates);
    });
  }

  private checkRates(rates: readonly Tensor[]): void {
    const sizes = this.config.hidden_sizes;
    if (rates.length !== sizes.length) {
      throw new ShapeError(
        `FeedbackSNN: expected ${sizes.length} rate tensors, got ${rates.length}`,
      );
    }
    rates.forEach((r, l) => {
      if (r.rank !== 2 || r.shape[1] !== sizes[l]) {
        throw new ShapeError(
          `FeedbackSNN: rates[${l}] must be [B, ${sizes[l]}], got shape [${r.shape.join(', ')}]`,
        );
      }
    });
  }
}
