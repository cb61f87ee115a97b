// Per-time-step training of spiking nets (methods-vision.md 1, 3, 4): BPTT (the
// whole T-step graph), SLTT (state detached at every step, one backward per step,
// memory of one step), SLTT-K (backward at K random steps only) and OTTT (SLTT's
// per-step graph plus presynaptic traces in the weight gradients; the A variant
// sums the T step gradients into one update, the O variant updates after every
// step). All use the instantaneous loss `L[t] = ℓ(o[t], y) / T`.
//
// The rules drive any network that implements `SpikingStepNet` (one time step at a
// time, explicit state), so models/ builds the nets and src/train decides which
// paths carry gradients.
import { tf } from '../tf.js';
import type { Scalar, Tensor, Variable } from '../tf.js';
import { ConfigError, checkPositiveInt } from '../errors.js';
import { detach } from '../neurons/index.js';
import { createRng } from '../generate/rng.js';
import type { Rng } from '../generate/rng.js';
import { valueAndGrads, GradientAccumulator } from './gradients.js';
import type { Optimizer } from './optimizer.js';

/** The state of a step net between time steps. */
export interface StepState {
  /** Per spiking layer, the neuron state tensors (membrane, ...). */
  neurons: Record<string, Tensor>[];
  /**
   * Presynaptic traces `â` per synapse (index l feeds spiking layer l, index L the
   * readout); null entries where no trace is kept (the first synapse reads the raw input).
   */
  traces: (Tensor | null)[] | null;
}

/** How one step runs: the gradient switches the training rules set. */
export interface StepOptions {
  /** Cut every temporal path of the neuron state (SLTT, OTTT): the state enters as a constant. */
  detachState?: boolean;
  /** Keep presynaptic traces and feed them to the weight gradients (OTTT). */
  traces?: boolean;
  /** With `traces`, the readout's weight gradient reads a trace too (OTTT's code). @default true */
  readoutTrace?: boolean;
  /** Replace the output of spiking layer l by `perturb(l, out)` before it is sent on (OPZO's noise). */
  perturb?: (layer: number, out: Tensor) => Tensor;
}

/** What one spiking layer did in a step. */
export interface LayerRecord {
  /** The synapse input `[B, ...]` (raw image for layer 0, pooled/flattened spikes after). */
  input: Tensor;
  /** Its trace when traces are kept (null for the raw input). */
  trace: Tensor | null;
  /** Membrane charge before firing `H` (soft reset only; null otherwise). */
  charge: Tensor | null;
  /** The layer's output `[B, ...]` (spikes, or ASN/DSR-valued spikes). */
  spikes: Tensor;
  /** The layer's threshold (number or scalar tensor). */
  threshold: number | Tensor;
}

/** Result of one step. */
export interface StepOutput {
  /** Readout `o[t]` `[B, classes]`. */
  logits: Tensor;
  state: StepState;
  layers: LayerRecord[];
  /** Input of the readout `[B, features]` and its trace. */
  readoutInput: Tensor;
  readoutTrace: Tensor | null;
}

/** A spiking network driven one time step at a time. */
export interface SpikingStepNet {
  readonly timeSteps: number;
  readonly numSpikingLayers: number;
  /** Neuron family of the spiking layers (`if`, `lif`, `asn`). */
  readonly neuronKind: string;
  /** Decay λ of spiking layer l (1 for IF): the trace decay of the synapse it feeds. */
  traceDecay(layer: number): number;
  /** A fresh state for a batch of `batch` inputs. */
  initState(batch: number): StepState;
  /** One time step on input x `[B, ...]` (direct coding: the same image every step). */
  step(x: Tensor, state: StepState, opts?: StepOptions): StepOutput;
  namedParameters(): [string, Variable][];
  /** Set training mode (batch statistics) or eval mode. */
  train(on?: boolean): unknown;
}

/** Every tensor of a state (to keep or dispose). */
export function stateTensors(s: StepState): Tensor[] {
  const out: Tensor[] = [];
  for (const n of s.neurons) out.push(...Object.values(n));
  for (const t of s.traces ?? []) if (t) out.push(t);
  return out;
}

/** Dispose a state's tensors. */
export function disposeState(s: StepState): void {
  tf.dispose(stateTensors(s));
}

/** `detach` applied to every tensor of a state. */
export function detachState(s: StepState): StepState {
  return {
    neurons: s.neurons.map((n) =>
      Object.fromEntries(Object.entries(n).map(([k, v]) => [k, detach(v)])),
    ),
    traces: s.traces ? s.traces.map((t) => (t ? detach(t) : null)) : null,
  };
}

// ---- losses ----------------------------------------------------------------------

/** Per-step loss of the vision rules: cross-entropy, optionally mixed with MSE to the one-hot. */
export interface StepLossOptions {
  /** OTTT/SLTT's `λ_m` in `(1 − λ_m) CE + λ_m MSE(o, onehot)`. @default 0 */
  mseWeight?: number;
}

/** Mean over the batch of `(1 − m) CE(o, y) + m MSE(o, onehot(y))`. logits `[B, K]`, labels int32 `[B]`. */
export function stepLoss(logits: Tensor, labels: Tensor, o: StepLossOptions = {}): Scalar {
  const k = logits.shape[1] as number;
  const onehot = tf.oneHot(labels as tf.Tensor1D, k); // [B, K]
  const ce = tf.losses.softmaxCrossEntropy(onehot, logits) as Scalar;
  const m = o.mseWeight ?? 0;
  if (m === 0) {
    onehot.dispose();
    return ce;
  }
  const mse = tf.mean(tf.square(tf.sub(logits, onehot))) as Scalar;
  return tf.add(tf.mul(ce, 1 - m), tf.mul(mse, m));
}

/** `∂ℓ/∂o` of `stepLoss` in closed form (softmax − onehot for CE), per sample over B: `[B, K]`. */
export function stepLossGrad(logits: Tensor, labels: Tensor, o: StepLossOptions = {}): Tensor {
  return tf.tidy(() => {
    const [b, k] = logits.shape as [number, number];
    const onehot = tf.oneHot(labels as tf.Tensor1D, k);
    const m = o.mseWeight ?? 0;
    let g = tf.mul(tf.sub(tf.softmax(logits), onehot), (1 - m) / b);
    if (m !== 0) g = tf.add(g, tf.mul(tf.sub(logits, onehot), (2 * m) / (b * k)));
    return g;
  });
}

// ---- the rules -------------------------------------------------------------------

export const ONLINE_RULES = ['bptt', 'sltt', 'sltt-k', 'ottt-a', 'ottt-o'] as const;
export type OnlineRule = (typeof ONLINE_RULES)[number];

/** Options of `onlineGradients` / `onlineTrainStep`. */
export interface OnlineOptions extends StepLossOptions {
  rule: OnlineRule;
  /** SLTT-K: steps with a backward. */
  k?: number;
  /** SLTT-K: the generator drawing the K steps (seeded by the caller). */
  rng?: Rng;
  /** SLTT-K: use these steps instead of drawing them (checks average over all subsets). */
  steps?: readonly number[];
  /** BPTT only: cut the temporal paths inside the full graph (SLTT's gradient by BPTT; checks). */
  cutTemporal?: boolean;
  /** OTTT: readout weight gradient from its trace (the reference code). @default true */
  readoutTrace?: boolean;
}

/** Result of one batch: mean loss over steps, summed logits for accuracy, the gradients. */
export interface OnlineResult {
  /** Σ_t L[t] (= mean over t of ℓ(o[t], y)). */
  loss: number;
  /** Σ_t o[t] `[B, K]` (owned by the caller). */
  logitsSum: Tensor;
  /** Mean firing rate of each spiking layer over the batch and T. */
  firingRates: number[];
}

/** K distinct steps of 0..T-1 drawn uniformly (SLTT-K's `randperm(T)[:K]`), ascending. */
export function chooseSteps(T: number, K: number, rng: Rng): Set<number> {
  checkPositiveInt(K, 'k');
  if (K > T) throw new ConfigError(`sltt-k: k must be <= T (${T}), got ${K}`);
  const idx = Array.from({ length: T }, (_, i) => i);
  for (let i = 0; i < K; i++) {
    const j = i + Math.floor(rng.next() * (T - i));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return new Set(idx.slice(0, K));
}

function checkRule(net: SpikingStepNet, o: OnlineOptions): void {
  if (!(ONLINE_RULES as readonly string[]).includes(o.rule)) {
    throw new ConfigError(
      `unknown online rule ${JSON.stringify(o.rule)}; known: ${ONLINE_RULES.join(', ')}`,
    );
  }
  if (o.rule.startsWith('ottt') && net.neuronKind === 'asn') {
    throw new ConfigError(
      'ottt needs IF or LIF neurons (the trace follows the membrane decay), got asn',
    );
  }
}

function rates(acc: number[], layers: LayerRecord[]): void {
  layers.forEach((l, i) => {
    acc[i] =
      (acc[i] ?? 0) + (tf.tidy(() => tf.mean(tf.notEqual(l.spikes, 0)).dataSync()[0]) as number);
  });
}

/**
 * Run one batch x `[B, ...]`, labels int32 `[B]`, and hand the gradients of the rule
 * to `onGrads` (SLTT/OTTT-A: once, summed over steps; OTTT-O: after every step,
 * with the step's gradient). Gradient maps are by public parameter name and are
 * disposed after `onGrads` returns.
 */
export function onlineBatch(
  net: SpikingStepNet,
  x: Tensor,
  labels: Tensor,
  o: OnlineOptions,
  onGrads: (grads: Map<string, Tensor>) => void,
): OnlineResult {
  checkRule(net, o);
  const T = net.timeSteps;
  const B = x.shape[0] as number;
  const params = net.namedParameters();
  const fr: number[] = [];
  let logitsSum = tf.zeros([B, 1]);
  let lossSum = 0;
  const addLogits = (l: Tensor) => {
    const next = logitsSum.shape[1] === 1 ? tf.clone(l) : tf.add(logitsSum, l);
    logitsSum.dispose();
    logitsSum = next;
  };

  if (o.rule === 'bptt') {
    let keptLogits: Tensor | null = null;
    const { loss, grads } = valueAndGrads(() => {
      let state = net.initState(B);
      let total: Tensor = tf.scalar(0);
      let sum: Tensor | null = null;
      for (let t = 0; t < T; t++) {
        const out = net.step(x, o.cutTemporal ? detachState(state) : state);
        rates(fr, out.layers);
        total = tf.add(total, tf.div(stepLoss(out.logits, labels, o), T));
        sum = sum ? tf.add(sum, out.logits) : out.logits;
        state = out.state;
      }
      keptLogits = tf.keep(detach(sum as Tensor));
      return total as Scalar;
    }, params);
    lossSum = loss.dataSync()[0];
    loss.dispose();
    addLogits(keptLogits as unknown as Tensor);
    (keptLogits as unknown as Tensor).dispose();
    try {
      onGrads(grads);
    } finally {
      tf.dispose([...grads.values()]);
    }
  } else {
    const ottt = o.rule === 'ottt-a' || o.rule === 'ottt-o';
    const stepOpts: StepOptions = {
      detachState: true,
      traces: ottt,
      readoutTrace: o.readoutTrace ?? true,
    };
    const chosen =
      o.rule !== 'sltt-k'
        ? null
        : o.steps
          ? new Set(o.steps)
          : chooseSteps(T, o.k ?? 1, o.rng ?? createRng(0));
    const acc = o.rule === 'ottt-o' ? null : new GradientAccumulator();
    let state = net.initState(B);
    try {
      for (let t = 0; t < T; t++) {
        let next: StepState | null = null;
        let stepLogits: Tensor | null = null;
        if (chosen && !chosen.has(t)) {
          // A step without a graph: forward only (SLTT-K's unselected steps).
          let r: StepOutput | null = null;
          const kept = tf.tidy(() => {
            r = net.step(x, state, stepOpts);
            rates(fr, r.layers);
            const l = stepLoss(r.logits, labels, o);
            return [l, r.logits, ...stateTensors(r.state)];
          });
          lossSum += kept[0].dataSync()[0] / T;
          kept[0].dispose();
          next = (r as unknown as StepOutput).state;
          stepLogits = kept[1];
        } else {
          const { loss, grads } = valueAndGrads(() => {
            const r = net.step(x, state, stepOpts);
            rates(fr, r.layers);
            next = {
              neurons: r.state.neurons.map((n) =>
                Object.fromEntries(Object.entries(n).map(([k, v]) => [k, tf.keep(detach(v))])),
              ),
              traces: r.state.traces
                ? r.state.traces.map((tr) => (tr ? tf.keep(detach(tr)) : null))
                : null,
            };
            stepLogits = tf.keep(detach(r.logits));
            return tf.div(stepLoss(r.logits, labels, o), T) as Scalar;
          }, params);
          lossSum += loss.dataSync()[0];
          loss.dispose();
          try {
            if (acc) acc.add(grads);
            else onGrads(grads);
          } finally {
            tf.dispose([...grads.values()]);
          }
        }
        addLogits(stepLogits as unknown as Tensor);
        (stepLogits as unknown as Tensor).dispose();
        disposeState(state);
        state = next as unknown as StepState;
      }
      if (acc && acc.count > 0) {
        // The accumulator averages; the rule sums the per-step gradients.
        const mean = acc.mean();
        const sum = new Map([...mean].map(([n, g]) => [n, tf.tidy(() => tf.mul(g, acc.count))]));
        tf.dispose([...mean.values()]);
        try {
          onGrads(sum);
        } finally {
          tf.dispose([...sum.values()]);
        }
      }
    } finally {
      disposeState(state);
      acc?.dispose();
    }
  }
  return { loss: lossSum, logitsSum, firingRates: fr.map((r) => r / T) };
}

/** The gradients one batch gives under `o.rule` (SLTT/OTTT-A/BPTT; not OTTT-O), by public name. */
export function onlineGradients(
  net: SpikingStepNet,
  x: Tensor,
  labels: Tensor,
  o: OnlineOptions,
): { grads: Map<string, Tensor>; result: OnlineResult } {
  if (o.rule === 'ottt-o')
    throw new ConfigError('ottt-o updates after every step; use onlineTrainStep');
  let out = new Map<string, Tensor>();
  const result = onlineBatch(net, x, labels, o, (g) => {
    out = new Map([...g].map(([n, t]) => [n, tf.clone(t)]));
  });
  return { grads: out, result };
}

/** One training batch: the rule's gradients go to `optimizer.step` (every step for OTTT-O). */
export function onlineTrainStep(
  net: SpikingStepNet,
  optimizer: Optimizer,
  x: Tensor,
  labels: Tensor,
  o: OnlineOptions,
): OnlineResult {
  return onlineBatch(net, x, labels, o, (g) => optimizer.step(g));
}
