// SPIDE: the IDE backward solved by spikes (Xiao et al., Neural Networks 2023,
// arXiv 2302.00232, github.com/pkuxmq/SPIDE-FSNN; methods-vision.md 7).
//
// After the spiking forward (the feedback network with SPIDE's modified reset), each
// neuron's backward partner is a ternary neuron of the core (`ternaryStep`: +-1 events
// at +-V_b, reset by V_b - u_rest). Driven by `J[t] = kappa dL/da + J^T q[t-1]`, the
// average of its weighted events q = s (V_b - u_rest) over T_b steps approaches the
// solution gamma of (I - J^T) gamma = kappa dL/da, with no matrix inverse. The weight
// update is local, from the two rates: dW_l = c (m_l beta_l)^T a_{l-1} (computed here by
// the same `gamma . df/dtheta` product IDE uses, which for linear layers is exactly that
// outer product). The readout is trained by ordinary gradient.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ConfigError, checkFinite, checkPositiveInt } from '../errors.js';
import { makeTernaryParams, ternaryStep } from '../neurons/index.js';
import type { LIFState, TernaryParams } from '../neurons/index.js';
import {
  equilibriumResidual,
  implicitParameterGradients,
  linearizeEquilibrium,
  lossAndRateGradient,
} from './ide.js';
import type {
  EquilibriumGradients,
  EquilibriumNetwork,
  LinearizedEquilibrium,
  LogitLoss,
} from './ide.js';

/** Options of the spike-driven backward solve. */
export interface SpikingSolveOptions {
  /** Backward steps T_b. Default 100 (SPIDE MNIST code) [V]. */
  timeSteps?: number;
  /** Ternary threshold V_b. Default 0.5 [V]. */
  vThreshold?: number;
  /** Ternary resting potential. Default `-vThreshold` [V] (so each event weighs 1). */
  uRest?: number;
}

/** Result of the spike-driven backward solve (tensors owned by the caller). */
export interface SpikingSolveResult {
  /** Average weighted backward events per layer, `[B, n_l]`: the estimate of gamma. */
  beta: Tensor[];
  /** Total number of backward events (|q| > 0) over all steps (for energy counts). */
  events: number;
  /** Fraction of backward neurons at the representable limit |beta| = V_b - u_rest (clipped). */
  saturated: number;
}

function ternaryParamsOf(o: SpikingSolveOptions): { p: TernaryParams; steps: number } {
  const steps = o.timeSteps ?? 100;
  checkPositiveInt(steps, 'backward time steps (T_b)');
  const vb = o.vThreshold ?? 0.5;
  checkFinite(vb, 'backward v_threshold (V_b)');
  return { p: makeTernaryParams({ vThreshold: vb, uRest: o.uRest ?? -vb }), steps };
}

/**
 * Solve `(I - J^T) beta = rhs` by T_b steps of ternary neurons (one per element of every
 * layer), all layers updated together from the previous step's events [P: synchronous
 * order]. The representable range is `|beta| <= V_b - u_rest`, the resolution
 * `(V_b - u_rest) / T_b`; scale `rhs` (kappa) to fit.
 */
export function spikingSolve(
  lin: LinearizedEquilibrium,
  rhs: readonly Tensor[],
  options: SpikingSolveOptions = {},
): SpikingSolveResult {
  const { p, steps } = ternaryParamsOf(options);
  const w = p.vThreshold - p.uRest; // weight of one event
  let states: LIFState[] = rhs.map((r) => ({ v: tf.zerosLike(r) }));
  let q: Tensor[] = rhs.map((r) => tf.zerosLike(r));
  let sums: Tensor[] = rhs.map((r) => tf.zerosLike(r));
  let events: Tensor = tf.scalar(0);
  for (let t = 0; t < steps; t++) {
    const next = tf.tidy(() => {
      const back = lin.vjp(q); // J^T q[t-1]
      const outV: Tensor[] = [];
      const outQ: Tensor[] = [];
      rhs.forEach((r, l) => {
        const res = ternaryStep(tf.add(r, back[l]), states[l], p);
        outV.push(res.state.v);
        outQ.push(tf.mul(res.spikes, w));
      });
      const outS = sums.map((s, l) => tf.add(s, outQ[l]));
      const ev = tf.add(events, tf.addN(outQ.map((x) => tf.sum(tf.abs(x)))));
      return [...outV, ...outQ, ...outS, ev];
    });
    tf.dispose([...states.map((s) => s.v), ...q, ...sums, events]);
    const L = rhs.length;
    states = next.slice(0, L).map((v) => ({ v }));
    q = next.slice(L, 2 * L);
    sums = next.slice(2 * L, 3 * L);
    events = next[3 * L];
  }
  const beta = sums.map((s) => tf.div(s, steps));
  const total = rhs.reduce((a, r) => a + r.size, 0);
  const sat = tf.tidy(() =>
    tf.addN(
      beta.map((b) => tf.sum(tf.cast(tf.greaterEqual(tf.abs(b), w * (1 - 1e-6)), 'float32'))),
    ),
  );
  const result = {
    beta,
    events: events.dataSync()[0] / w,
    saturated: sat.dataSync()[0] / total,
  };
  tf.dispose([...states.map((s) => s.v), ...q, ...sums, events, sat]);
  return result;
}

/** Options of `spideGradients`. */
export interface SPIDEOptions {
  /** Forward spiking steps T. Default 30 [V]. */
  timeSteps?: number;
  /** Backward spiking steps T_b. Default 100 (MNIST code) [V]. */
  backwardTimeSteps?: number;
  /** Threshold V_b of the backward ternary neurons. Default 0.5 [V]. */
  backwardThreshold?: number;
  /** Resting potential of the backward neurons. Default `-backwardThreshold` [V]. */
  backwardRest?: number;
  /**
   * Loss scale kappa (SPIDE code: 100 MNIST, 400 CIFAR-10, 500 CIFAR-100) [V]; default 100.
   * The backward is driven by kappa dL/da and the returned gradients are divided by
   * kappa again, so they are gradients of the unscaled loss: use the ordinary learning
   * rate. NOTE: the reference code instead keeps the kappa-scaled gradient and divides
   * the learning rate, which also divides the weight decay by kappa; to reproduce it,
   * pass weight decay / kappa to the optimizer.
   */
  kappa?: number;
}

/** SPIDE's gradient evaluation also reports the backward phase's events. */
export interface SPIDEGradients extends EquilibriumGradients {
  /** Backward events per layer element and step (the backward firing rate). */
  backwardRate: number;
  /** Fraction of backward neurons clipped at the representable limit (kappa too large). */
  backwardSaturated: number;
}

/**
 * One SPIDE gradient evaluation: spiking forward for `timeSteps` (T), spiking
 * backward for `backwardTimeSteps` (T_b). `backward.relResidual` is the relative residual of the
 * linear system at beta/kappa, `backward.iterations` the T_b steps.
 * Pass `result.grads` to an optimizer; dispose with `disposeEquilibriumGradients`.
 */
export function spideGradients(
  net: EquilibriumNetwork,
  x: Tensor,
  loss: LogitLoss,
  options: SPIDEOptions = {},
): SPIDEGradients {
  const T = options.timeSteps ?? 30;
  checkPositiveInt(T, 'timeSteps');
  const kappa = options.kappa ?? 100;
  checkFinite(kappa, 'kappa');
  if (kappa <= 0) throw new ConfigError(`kappa must be > 0, got ${kappa}`);
  const steps = options.backwardTimeSteps ?? 100;
  ternaryParamsOf({
    timeSteps: steps,
    vThreshold: options.backwardThreshold,
    uRest: options.backwardRest,
  });
  const current = tf.tidy(() => net.inputCurrent(x, false));
  const rates = net.simulate(current, T);
  const { loss: value, dLda } = lossAndRateGradient(net, rates, loss);
  const lin = linearizeEquilibrium(net, current, rates);
  const rhs = dLda.map((g) => tf.mul(g, kappa));
  const solved = spikingSolve(lin, rhs, {
    timeSteps: steps,
    vThreshold: options.backwardThreshold,
    uRest: options.backwardRest,
  });
  const gamma = solved.beta.map((b) => tf.div(b, kappa));
  const relResidual = linearResidual(lin, gamma, dLda);
  lin.dispose();
  const grads = implicitParameterGradients(net, x, rates, gamma, loss);
  const forwardResidual = equilibriumResidual(net, current, rates);
  const logits = tf.tidy(() => net.readoutLogits(rates));
  const elements = rates.reduce((a, r) => a + r.size, 0);
  tf.dispose([current, ...dLda, ...rhs, ...solved.beta, ...gamma]);
  return {
    loss: value,
    logits,
    rates,
    grads,
    forwardResidual,
    backward: { relResidual, iterations: steps },
    backwardRate: solved.events / (elements * steps),
    backwardSaturated: solved.saturated,
  };
}

/** `||(I - J^T) gamma - rhs|| / ||rhs||` (0 when rhs is 0). */
export function linearResidual(
  lin: LinearizedEquilibrium,
  gamma: readonly Tensor[],
  rhs: readonly Tensor[],
): number {
  return tf.tidy(() => {
    const jt = lin.vjp(gamma);
    const r = gamma.map((g, l) => tf.sum(tf.square(tf.sub(tf.sub(g, jt[l]), rhs[l]))));
    const b = rhs.map((x) => tf.sum(tf.square(x)));
    const rn = Math.sqrt(tf.addN(r).dataSync()[0]);
    const bn = Math.sqrt(tf.addN(b).dataSync()[0]);
    return bn === 0 ? 0 : rn / bn;
  });
}
