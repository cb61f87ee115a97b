// DSR, Differentiation on Spike Representation (Meng et al., CVPR 2022, arXiv
// 2205.00459; methods-vision.md 2). The (weighted) firing rate of each layer is, in
// the limit, a clamp of its (weighted) mean input; the gradient goes through that
// clamp instead of through the spike train. Streaming form [I]: T forward steps
// without a graph measure each layer's input mean and output rate, then ONE
// ANN-sized graph rebuilds the mean currents from the measured rates (the synapses
// are linear, so mean(s W^T + b) = mean(s) W^T + b) and passes the measured rates
// on, with the clamp's gradient:
//   IF:  r ≈ clamp(Ī, 0, V_th),               ∂r/∂Ī = 1[0 ≤ Ī ≤ V_th],   ∂r/∂V_th = 1[Ī > V_th]
//   LIF: r̂ ≈ clamp(Î/τ, 0, V_th/Δt),          ∂r̂/∂Î = (1/τ)·1[0 ≤ Î ≤ V_th τ/Δt],
//        ∂r̂/∂V_th = Δt·1[Î > V_th τ/Δt]  (the reference code's scaling, reproduced)
// LIF rates are weighted by w_t = β^(T−t) (β the membrane decay), IF rates plain means.
// Memory is one layer stack, independent of T. Thresholds are clamped below after
// each update (`V_th ← max(V_th, bound)`).
import { tf } from '../tf.js';
import type { Scalar, Tensor, Variable } from '../tf.js';
import { ConfigError } from '../errors.js';
import { valueAndGrads } from './gradients.js';
import type { Optimizer } from './optimizer.js';
import { stepLoss } from './online.js';
import type { SpikingStepNet, StepLossOptions, StepState } from './online.js';
import { disposeState, stateTensors } from './online.js';

/** A step net whose layers DSR can rebuild from rates. */
export interface LayeredStepNet extends SpikingStepNet {
  readonly dsrSpikes: { alpha: number; dt: number | null } | null;
  firstInput(x: Tensor): Tensor;
  current(layer: number, input: Tensor, trace?: Tensor | null): Tensor;
  sendOn(layer: number, out: Tensor): Tensor;
  readoutLogits(input: Tensor, trace?: Tensor | null): Tensor;
  threshold(layer: number): number | Tensor;
}

/** The clamp the rate follows: IF (`dt` null) or LIF with membrane time constant `tau` and step `dt`. */
export interface DsrMapping {
  dt: number | null;
  tau: number;
}

/**
 * The measured rate `rate` passed forward, with the gradient of the clamp mapping of
 * the mean current `current` (both `[B, ...]`) and the threshold `thr` (a scalar tensor).
 */
export function dsrRate(current: Tensor, rate: Tensor, thr: Tensor, m: DsrMapping): Tensor {
  const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const [i, r, th, save] = args as [Tensor, Tensor, Tensor, tf.GradSaveFunc];
    save([i, th]);
    return {
      value: tf.clone(r),
      gradFunc: (dy: Tensor, [is, ths]: Tensor[]) => {
        const ceil = m.dt === null ? ths : tf.mul(ths, m.tau / m.dt); // Ī at which the rate saturates
        const inside = tf.logicalAnd(tf.greaterEqual(is, 0), tf.lessEqual(is, ceil));
        const slope = m.dt === null ? 1 : 1 / m.tau;
        const di = tf.mul(tf.mul(dy, tf.cast(inside, 'float32')), slope);
        const above = tf.cast(tf.greater(is, ceil), 'float32');
        const dth = tf.mul(tf.sum(tf.mul(dy, above)), m.dt === null ? 1 : m.dt);
        return [di, tf.zerosLike(dy), tf.reshape(dth, ths.shape)];
      },
    };
  });
  return op(current, rate, thr);
}

/** Options of the DSR step. */
export interface DsrOptions extends StepLossOptions {
  /** Lower bound of the trainable thresholds after an update [V: 5e-4 LIF, 0.01 IF]. */
  thresholdBound?: number;
}

/** What the T no-grad steps measured: per layer the (weighted) mean input and output, and the readout input. */
interface Measured {
  inputs: Tensor[]; // mean synapse input of each spiking layer (index 0: the image)
  rates: Tensor[]; // mean output of each spiking layer
  readoutInput: Tensor;
  firingRates: number[];
  logitsSum: Tensor;
}

function checkNet(net: LayeredStepNet): DsrMapping {
  const d = net.dsrSpikes;
  if (!d)
    throw new ConfigError('dsr needs a net with DSR spikes (config field "dsr": {alpha, dt})');
  if (net.neuronKind !== 'if' && net.neuronKind !== 'lif') {
    throw new ConfigError(`dsr needs IF or LIF neurons, got ${net.neuronKind}`);
  }
  if (d.dt === null) return { dt: null, tau: 1 };
  const beta = net.traceDecay(0);
  return { dt: d.dt, tau: -d.dt / Math.log(beta) };
}

function measure(net: LayeredStepNet, x: Tensor): Measured {
  const T = net.timeSteps;
  const L = net.numSpikingLayers;
  const isLif = net.dsrSpikes?.dt !== null;
  const beta = net.traceDecay(0);
  const w = Array.from({ length: T }, (_, t) => (isLif ? beta ** (T - 1 - t) : 1));
  const wSum = w.reduce((a, b) => a + b, 0);
  let state: StepState = net.initState(x.shape[0]);
  let acc: Tensor[] | null = null; // inputs[0..L-1], rates[0..L-1], readout input, logits sum
  const fr = new Array<number>(L).fill(0);
  for (let t = 0; t < T; t++) {
    let next: StepState | null = null;
    const prev: Tensor[] | null = acc;
    const kept: Tensor[] = tf.tidy((): Tensor[] => {
      const r = net.step(x, state);
      next = r.state;
      r.layers.forEach((l, i) => (fr[i] += tf.mean(tf.notEqual(l.spikes, 0)).dataSync()[0] / T));
      const parts = [
        ...r.layers.map((l) => l.input),
        ...r.layers.map((l) => l.spikes),
        r.readoutInput,
      ];
      const scaled = parts.map((p) => tf.mul(p, w[t] / wSum));
      const sums: Tensor[] = prev ? scaled.map((p, i) => tf.add(prev[i], p)) : scaled;
      const logits: Tensor = prev ? tf.add(prev[prev.length - 1], r.logits) : r.logits;
      return [...sums, logits, ...stateTensors(r.state)];
    });
    if (prev) tf.dispose(prev);
    acc = kept.slice(0, 2 * L + 2);
    disposeState(state);
    state = next as unknown as StepState;
  }
  disposeState(state);
  const a = acc as Tensor[];
  return {
    inputs: a.slice(0, L),
    rates: a.slice(L, 2 * L),
    readoutInput: a[2 * L],
    logitsSum: a[2 * L + 1],
    firingRates: fr,
  };
}

/** Result of one DSR batch. */
export interface DsrResult {
  loss: number;
  /** Σ_t o[t] `[B, K]` of the spiking forward (owned by the caller). */
  logitsSum: Tensor;
  firingRates: number[];
}

/**
 * DSR gradients of one batch x `[B, ...]`, labels int32 `[B]`: T steps without a graph,
 * then the rate graph. Loss: `stepLoss` on the readout of the last layer's rate.
 */
export function dsrGradients(
  net: LayeredStepNet,
  x: Tensor,
  labels: Tensor,
  o: DsrOptions = {},
): { grads: Map<string, Tensor>; result: DsrResult } {
  const m = checkNet(net);
  const meas = measure(net, x);
  try {
    const { loss, grads } = valueAndGrads(() => {
      let inp = net.firstInput(meas.inputs[0]); // mean input = the image (direct coding)
      for (let l = 0; l < net.numSpikingLayers; l++) {
        const i = net.current(l, inp); // mean current Ī (linear synapse)
        const thr = net.threshold(l);
        const th = typeof thr === 'number' ? tf.scalar(thr) : thr;
        const r = dsrRate(i, meas.rates[l], th, m);
        inp = net.sendOn(l, r);
      }
      return stepLoss(net.readoutLogits(inp), labels, o) as Scalar;
    }, net.namedParameters());
    const value = loss.dataSync()[0];
    loss.dispose();
    return {
      grads,
      result: { loss: value, logitsSum: meas.logitsSum, firingRates: meas.firingRates },
    };
  } finally {
    tf.dispose([...meas.inputs, ...meas.rates, meas.readoutInput]);
  }
}

/** Clamp every trainable threshold of the net from below (`V_th ← max(V_th, bound)`). */
export function clampThresholds(net: LayeredStepNet, bound: number): void {
  for (let l = 0; l < net.numSpikingLayers; l++) {
    const t = net.threshold(l);
    if (typeof t !== 'number' && (t as Variable).trainable) {
      tf.tidy(() => (t as Variable).assign(tf.maximum(t, bound)));
    }
  }
}

/** One DSR training batch: gradients, optimizer step, threshold clamp. */
export function dsrTrainStep(
  net: LayeredStepNet,
  optimizer: Optimizer,
  x: Tensor,
  labels: Tensor,
  o: DsrOptions = {},
): DsrResult {
  const { grads, result } = dsrGradients(net, x, labels, o);
  try {
    optimizer.step(grads);
  } finally {
    tf.dispose([...grads.values()]);
  }
  if (o.thresholdBound !== undefined) clampThresholds(net, o.thresholdBound);
  return result;
}
