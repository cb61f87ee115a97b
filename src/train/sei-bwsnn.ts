// SEI-BWSNN: self-ensemble-inspired training of binary-weight SNNs (Meng et al., arXiv
// 2508.12609; methods-language.md 4). Code is not public: everything below except the
// abstract's claims is our proposal [P].
//
// The self-ensemble view [I]: an IF/LIF neuron at step t fires `H(X_t + r_{t-1} - V_th)`
// with `r_{t-1}` what its state adds to the input (for IF / lambda-LIF with gain 1,
// `r = lambda V_{t-1}`), so a T-step SNN is the average of T weight-sharing
// binary-activation networks (BANs) whose inputs carry the "noise" r; with T = 1 it
// is exactly a BAN. That licenses BNN techniques:
// - multiple shortcuts (Bi-Real style): every binary layer has its own identity
//   shortcut on the real-valued stream, `X <- X + BN(SN(X) W_b)`, `W_b = alpha sign(W)`;
// - knowledge distillation from a full-precision teacher:
//   `L = (1 - beta) CE(y, z_s) + beta tau^2 KL(softmax(z_t / tau) || softmax(z_s / tau))`
//   with beta = 1, tau = 1 [P]; readout = logits averaged over T.
// The first (input) layer and the classifier keep full-precision weights [P, BNN practice].
import { tf } from '../tf.js';
import type { Scalar, Tensor } from '../tf.js';
import { ConfigError, ShapeError, checkFinite, checkPositiveInt } from '../errors.js';
import { Linear, Module, TimeBatchNorm, deriveSeed } from '../layers/index.js';
import { chargeCoefficients, detach, lifMultiStep, parseNeuronConfig } from '../neurons/index.js';
import type { LIFParams, NeuronSpec } from '../neurons/index.js';
import { matMul } from '../ops/index.js';
import type { ParamGroup } from './param-groups.js';

/**
 * Default neuron [P]: LIF with `H = 0.5 V + X` (SpikingJelly tau 2 without input decay),
 * threshold 1, hard reset to 0; input gain 1 makes the T = 1 network exactly a BAN.
 */
export const SEI_DEFAULT_NEURON: Readonly<Record<string, unknown>> = Object.freeze({
  neuron: 'lif',
  tau: 2,
  decay_input: false,
  v_threshold: 1,
  v_reset: 0,
});

/** Constructor arguments (config keys) of `SEIBinarySNN`. */
export interface SEIBinarySNNConfig {
  /** Input width. */
  input_size: number;
  /** Width D of the real-valued stream. */
  hidden_size: number;
  /** Binary layers, each with its own shortcut. */
  num_layers: number;
  num_classes: number;
  /** IF/LIF neuron config with config.json keys (src/neurons); default `SEI_DEFAULT_NEURON`. */
  neuron?: Record<string, unknown>;
  /** `binary` (default) or `float` weights in the shortcut layers (a full-precision twin). */
  weight_precision?: 'binary' | 'float';
  seed?: number;
}

/** Output of a forward pass (tensors owned by the caller). */
export interface SEIForward {
  /** `[B, classes]`: the per-step logits averaged over T (the ensemble readout). */
  logits: Tensor;
  /** `[T, B, classes]`: every step's (ensemble member's) logits. */
  stepLogits: Tensor;
  /** Per binary layer, `[T, B, D]`: r_t = H_t - X_t, what the neuron state added to the input at step t. */
  residuals?: Tensor[];
}

type LIFSpec = Extract<NeuronSpec, { neuron: 'if' | 'lif' }>;

/** A spiking stack of binary-weight layers with per-layer shortcuts (methods-language 4(b)). */
export class SEIBinarySNN extends Module {
  readonly config: Required<SEIBinarySNNConfig>;
  readonly input: Linear;
  readonly blocks: { linear: Linear; norm: TimeBatchNorm }[];
  readonly head: Linear;
  readonly neuron: LIFParams;
  private readonly spec: LIFSpec;

  constructor(cfg: SEIBinarySNNConfig) {
    super();
    checkPositiveInt(cfg.input_size, 'input_size');
    checkPositiveInt(cfg.hidden_size, 'hidden_size');
    checkPositiveInt(cfg.num_layers, 'num_layers');
    checkPositiveInt(cfg.num_classes, 'num_classes');
    const precision = cfg.weight_precision ?? 'binary';
    if (precision !== 'binary' && precision !== 'float') {
      throw new ConfigError(
        `weight_precision must be binary or float, got ${JSON.stringify(precision)}`,
      );
    }
    const neuronCfg = cfg.neuron ?? { ...SEI_DEFAULT_NEURON };
    const spec = parseNeuronConfig(neuronCfg);
    if (spec.neuron !== 'if' && spec.neuron !== 'lif') {
      throw new ConfigError(
        `SEI-BWSNN runs IF/LIF neurons (the self-ensemble view needs a membrane), got neuron ${JSON.stringify(spec.neuron)}`,
      );
    }
    if (spec.trainableThreshold !== 'none') {
      throw new ConfigError(
        'SEI-BWSNN: trainable thresholds are not supported; use a fixed v_threshold',
      );
    }
    this.spec = spec;
    this.neuron = spec.params;
    const seed = cfg.seed ?? 0;
    checkFinite(seed, 'seed');
    this.config = {
      input_size: cfg.input_size,
      hidden_size: cfg.hidden_size,
      num_layers: cfg.num_layers,
      num_classes: cfg.num_classes,
      neuron: neuronCfg,
      weight_precision: precision,
      seed,
    };
    const D = cfg.hidden_size;
    this.input = this.addModule(
      'input',
      new Linear({ in_features: cfg.input_size, out_features: D, seed: deriveSeed(seed, 'input') }),
    );
    this.blocks = Array.from({ length: cfg.num_layers }, (_, i) => ({
      linear: this.addModule(
        `blocks.${i}.linear`,
        new Linear({
          in_features: D,
          out_features: D,
          bias: false,
          weight_precision: precision,
          input_encoding: 'spike',
          seed: deriveSeed(seed, `blocks.${i}`),
        }),
      ),
      norm: this.addModule(`blocks.${i}.norm`, new TimeBatchNorm({ num_features: D })),
    }));
    this.head = this.addModule(
      'head',
      new Linear({ in_features: D, out_features: cfg.num_classes, seed: deriveSeed(seed, 'head') }),
    );
  }

  getConfig(): Required<SEIBinarySNNConfig> {
    return { ...this.config, neuron: { ...this.config.neuron } };
  }

  private checkInput(x: Tensor): void {
    if (x.rank !== 2 || x.shape[1] !== this.config.input_size) {
      throw new ShapeError(
        `SEIBinarySNN: input must be [B, ${this.config.input_size}], got shape [${x.shape.join(', ')}]`,
      );
    }
  }

  /**
   * T spiking steps with direct coding (x: `[B, in]` fed at every step). Differentiable
   * (BPTT with the neuron's surrogate, STE for the binary weights). Run under the
   * caller's `tf.tidy` or dispose the result.
   */
  forward(x: Tensor, timeSteps: number, opts: { recordResiduals?: boolean } = {}): SEIForward {
    this.checkInput(x);
    checkPositiveInt(timeSteps, 'T (time steps)');
    const B = x.shape[0];
    const D = this.config.hidden_size;
    const x0 = this.input.forward(x, { firstLayer: true }); // [B, D]
    let X = tf.broadcastTo(tf.expandDims(x0, 0), [timeSteps, B, D]); // [T, B, D]
    const residuals: Tensor[] = [];
    for (const { linear, norm } of this.blocks) {
      const r = lifMultiStep(X, this.neuron, {
        returnV: opts.recordResiduals === true,
        fused: this.spec.fused,
      });
      if (opts.recordResiduals) residuals.push(this.stateInput(X, r.vSeq as Tensor));
      X = tf.add(X, norm.forward(linear.forward(r.spikes))); // [T, B, D]
    }
    const stepLogits = this.head.forward(X); // [T, B, C]
    const out: SEIForward = { logits: tf.mean(stepLogits, 0), stepLogits };
    if (opts.recordResiduals) out.residuals = residuals;
    return out;
  }

  /** r_t = H_t - X_t from the membrane sequence (after reset) `[T, B, D]`. */
  private stateInput(X: Tensor, vSeq: Tensor): Tensor {
    return tf.tidy(() => {
      const k = chargeCoefficients(this.neuron.charge, this.neuron.vReset);
      const T = X.shape[0];
      const v0 = tf.fill([1, ...X.shape.slice(1)], this.neuron.vReset ?? 0);
      const vPrev = T === 1 ? v0 : tf.concat([v0, tf.slice(vSeq, 0, T - 1)]); // [T, B, D]
      // H = lambda V + gain X + bias  =>  H - X = lambda V + (gain - 1) X + bias
      let r = tf.mul(vPrev, k.lambda);
      if (k.gain !== 1) r = tf.add(r, tf.mul(X, k.gain - 1));
      return k.bias === 0 ? r : tf.add(r, k.bias);
    });
  }

  /**
   * One pass of the binary-activation network (BAN) with the same weights: every
   * neuron is `H(X + r - V_th)` with `r` the per-layer residual `[B, D]` (null: 0).
   * Logits `[B, classes]`. Not differentiated (Heaviside forward only).
   */
  binaryActivationPass(x: Tensor, residuals: readonly Tensor[] | null = null): Tensor {
    this.checkInput(x);
    if (residuals && residuals.length !== this.blocks.length) {
      throw new ShapeError(
        `SEIBinarySNN: expected ${this.blocks.length} residual tensors, got ${residuals.length}`,
      );
    }
    const th = this.neuron.vThreshold as number;
    return tf.tidy(() => {
      let X = this.input.forward(x, { firstLayer: true }); // [B, D]
      this.blocks.forEach(({ linear, norm }, l) => {
        const u = residuals ? tf.add(X, residuals[l]) : X;
        const s = tf.cast(tf.greaterEqual(u, th), 'float32'); // [B, D] binary activation
        const wb = linear.effectiveWeight(); // [D, D], +-alpha
        X = tf.add(X, norm.forward(matMul(s, wb, false, true)));
      });
      return this.head.forward(X);
    });
  }
}

/**
 * Parameter group [P, methods-language 4(c)]: no weight decay on the latent weights of
 * binary layers (`blocks.<i>.linear.weight`).
 */
export const SEI_BINARY_NO_DECAY: ParamGroup = Object.freeze({
  match: /^blocks\.\d+\.linear\.weight$/,
  weightDecay: 0,
});

/** Options of `distillationLoss`. */
export interface DistillationOptions {
  /** Weight of the KD term; `1 - beta` weighs the CE. Default 1 (pure distillation) [P]. */
  beta?: number;
  /** Temperature. Default 1 [P]. */
  tau?: number;
  /** Integer labels `[B]`, needed when beta < 1. */
  labels?: Tensor;
}

/**
 * `(1 - beta) CE(y, z_s) + beta tau^2 KL(softmax(z_t / tau) || softmax(z_s / tau))`,
 * batch mean. student, teacher: `[B, classes]`; the teacher receives no gradient.
 */
export function distillationLoss(
  student: Tensor,
  teacher: Tensor,
  options: DistillationOptions = {},
): Scalar {
  const beta = options.beta ?? 1;
  const tau = options.tau ?? 1;
  checkFinite(beta, 'beta');
  checkFinite(tau, 'tau');
  if (beta < 0 || beta > 1) throw new ConfigError(`beta must be in [0, 1], got ${beta}`);
  if (tau <= 0) throw new ConfigError(`tau must be > 0, got ${tau}`);
  if (student.rank !== 2 || teacher.shape.join() !== student.shape.join()) {
    throw new ShapeError(
      `distillationLoss: student and teacher logits must both be [B, classes], got [${student.shape.join(', ')}] and [${teacher.shape.join(', ')}]`,
    );
  }
  if (beta < 1 && !options.labels) {
    throw new ConfigError('distillationLoss: labels are required when beta < 1 (the CE term)');
  }
  return tf.tidy(() => {
    const t = detach(teacher);
    const logPs = tf.logSoftmax(tf.div(student, tau)); // [B, C]
    const logPt = tf.logSoftmax(tf.div(t, tau)); // [B, C]
    const kl = tf.mean(tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)), -1));
    let loss = tf.mul(kl, beta * tau * tau);
    if (beta < 1 && options.labels) {
      const onehot = tf.oneHot(tf.cast(options.labels, 'int32'), student.shape[1] as number);
      const ce = tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(student)), -1)));
      loss = tf.add(loss, tf.mul(ce, 1 - beta));
    }
    return loss as Scalar;
  });
}
