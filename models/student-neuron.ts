// The neurons of the spiking students, one module per neuron site (`layers.0.attn.q_sn`):
// - `lif`/`if`: binary spikes over T, the neuron core's multi-step runner (fused kernel
//   for a fixed threshold), Spikingformer's LIF by default (tau 2, θ 1, hard reset to 0,
//   reset detached, sigmoid α 4; methods-language.md 0.3);
// - `ilif`: SpikeYOLO's integer LIF, counts 0..D per step (0.3);
// - `asn`: the adaptive spiking neuron (arXiv 2604.12365) in the [P] design of 2(b):
//   per-channel leak λ = sigmoid(a) and step θ = softplus(b) + 1e-3, counts 0..D;
// - `nasn`: normalised ASN (2(b)), the RMS-style variant [P]: each step's input current is
//   normalised per token over the channels, `x̂ = γ ⊙ x / sqrt(mean_c x² + ε)` (γ `[C]`
//   learned, init 1, ε 1e-5 per 2(d)), then ASN. Per token, so causal models see no
//   future statistics; the BatchNorm-style variant of 2(b) (running statistics folded into
//   the previous layer) is not offered for the students. At inference the rsqrt is one
//   non-AC operation per token and step.
// A site returns `{ s, scale }`: `s` `[T, B, ..., C]` spikes or counts, and for ASN the step
// θ `[C]` that the consuming weight layer folds in (`n · (W diag θ)ᵀ = (θ n) Wᵀ`, 2(f)
// check 4), so weight layers only ever see spikes or integer counts. Each forward starts
// from a fresh state (every token's T steps are independent of the other tokens).
// Stepwise execution (the per-step gradient rules of student-grads.ts): while a
// `NeuronContext` with `stepwise` is active (`withNeuronContext`), every site takes ONE
// time step `[1, B, ..., C]`, starting from the state it left in the context at the
// previous step (a constant there: the temporal edges are cut), and with `traces` it also
// returns the OTTT presynaptic trace `â[t] = λ â[t−1] + s[t]` (kept without a graph; λ the
// site's leak: 1 − 1/τ for LIF, 1 for IF, `decay` for I-LIF, sigmoid(a) for ASN). A context
// with `rates` sums the sites' outputs for a firing rate. No context: the default path.
// NOTE: with T = 1 the integer neurons run their single-step functions: the neuron core's
// multi-step runners `unstack` T, and tfjs cannot differentiate `unstack` of a length-1
// axis (its Unpack gradient throws "Argument tensors passed to stack must be a Tensor[]").
import { tf } from '../src/tf.js';
import type { Tensor, Variable } from '../src/tf.js';
import { checkPositiveInt, ConfigError, ShapeError } from '../src/errors.js';
import {
  ASN_THETA_FLOOR,
  chargeCoefficients,
  detach,
  asnMultiStep,
  asnStep,
  asnTheta,
  ilifMultiStep,
  ilifStep,
  initialASNState,
  initialILIFState,
  initialLIFState,
  lifMultiStep,
  nasnRMSNorm,
  makeILIFParams,
  parseNeuronConfig,
  validateASNOptions,
} from '../src/neurons/index.js';
import type {
  ASNParams,
  ASNState,
  ILIFParams,
  ILIFState,
  LIFParams,
  LIFState,
} from '../src/neurons/index.js';
import { Module } from '../src/layers/index.js';
import { activeRecorder } from '../src/energy/index.js';

export const STUDENT_NEURONS = ['lif', 'if', 'ilif', 'asn', 'nasn'] as const;
/** Neuron families a student can use. */
export type StudentNeuronKind = (typeof STUDENT_NEURONS)[number];

/** The config.json keys each family reads (besides `neuron` and `time_steps`). */
export const NEURON_FIELDS: Readonly<Record<StudentNeuronKind, readonly string[]>> = {
  lif: ['tau', 'v_threshold', 'v_reset', 'surrogate', 'surrogate_alpha', 'detach_reset'],
  if: ['v_threshold', 'v_reset', 'surrogate', 'surrogate_alpha', 'detach_reset'],
  ilif: ['max_count', 'decay', 'spike_encoding'],
  asn: ['max_count', 'decay', 'v_threshold', 'spike_encoding'],
  nasn: ['max_count', 'decay', 'v_threshold', 'spike_encoding'],
};

/** ε of the NASN input normalisation [P] (methods-language.md 2(d)). */
export const NASN_EPS = 1e-5;

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
      kind: 'asn' | 'nasn';
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
    case 'nasn':
      validateASNOptions({ lambdaInit: c.decay, thetaInit: c.v_threshold, maxCount: c.max_count });
      return {
        ...{ kind: c.neuron, lambdaInit: c.decay, thetaInit: c.v_threshold },
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
  /** Stepwise with traces: the presynaptic trace of `s` (same shape), for the weight gradient. */
  trace?: Tensor;
}

type SiteState = LIFState | ILIFState | ASNState;

/** Options of a `NeuronContext`. */
export interface NeuronContextOptions {
  /** Every site runs one time step from the state it left here. Default false. */
  stepwise?: boolean;
  /** Stepwise: keep OTTT presynaptic traces and return them with the spikes. Default false. */
  traces?: boolean;
  /** Sum every site's output / levels and element count (for `firingRate`). Default false. */
  rates?: boolean;
}

/**
 * Per-run state of the neuron sites outside the default full-T path: membranes carried
 * between time steps, OTTT traces, firing-rate sums. Tensors it holds are its own; call
 * `endStep()` after each step's graph is done with the previous states, `dispose()` at the end.
 */
export class NeuronContext {
  readonly stepwise: boolean;
  readonly traces: boolean;
  readonly rates: boolean;
  readonly #states = new Map<StudentNeuron, SiteState>();
  readonly #traces = new Map<StudentNeuron, Tensor>();
  /** Replaced tensors, still read by the running step's graph. */
  #stale: Tensor[] = [];
  #spikeSum: Tensor | null = null;
  #units = 0;

  constructor(o: NeuronContextOptions = {}) {
    this.stepwise = o.stepwise ?? false;
    this.traces = o.traces ?? false;
    this.rates = o.rates ?? false;
    if (this.traces && !this.stepwise) {
      throw new ConfigError('NeuronContext: traces need stepwise execution');
    }
  }

  /** The state `site` left at the previous step, or null before the first step. */
  state(site: StudentNeuron): SiteState | null {
    return this.#states.get(site) ?? null;
  }

  /** The trace of `site` after the previous step, or null. */
  trace(site: StudentNeuron): Tensor | null {
    return this.#traces.get(site) ?? null;
  }

  /** Store `site`'s new state (kept; the old one is freed at `endStep`). */
  setState(site: StudentNeuron, st: SiteState): void {
    const old = this.#states.get(site);
    if (old) this.#stale.push(...Object.values(old));
    const kept = Object.fromEntries(
      Object.entries(st).map(([k, t]) => [k, tf.keep(t as Tensor)]),
    ) as unknown as SiteState;
    this.#states.set(site, kept);
  }

  /** Store `site`'s new trace (kept; the old one is freed at `endStep`). */
  setTrace(site: StudentNeuron, t: Tensor): void {
    const old = this.#traces.get(site);
    if (old) this.#stale.push(old);
    this.#traces.set(site, tf.keep(t));
  }

  /** Add a site's output `s` (values 0..levels) to the firing-rate sums. */
  observe(s: Tensor, levels: number): void {
    const prev = this.#spikeSum;
    this.#spikeSum = tf.keep(
      tf.tidy(() => {
        const part = tf.div(tf.sum(detach(s)), levels);
        return prev ? tf.add(prev, part) : part;
      }),
    );
    prev?.dispose();
    this.#units += s.size;
  }

  /** Mean output per unit and step over everything observed (null if nothing was). */
  firingRate(): number | null {
    if (!this.#spikeSum || this.#units === 0) return null;
    return this.#spikeSum.dataSync()[0] / this.#units;
  }

  /** Free the states and traces that the last step replaced. */
  endStep(): void {
    tf.dispose(this.#stale);
    this.#stale = [];
  }

  /** Free everything held. */
  dispose(): void {
    this.endStep();
    for (const st of this.#states.values()) tf.dispose(Object.values(st) as Tensor[]);
    tf.dispose([...this.#traces.values()]);
    this.#states.clear();
    this.#traces.clear();
    this.#spikeSum?.dispose();
    this.#spikeSum = null;
  }
}

let activeContext: NeuronContext | null = null;

/** The neuron context of the running call, if any. */
export function activeNeuronContext(): NeuronContext | null {
  return activeContext;
}

/** Run `fn` with `ctx` as the active neuron context (the previous one restored after). */
export function withNeuronContext<R>(ctx: NeuronContext, fn: () => R): R {
  const prev = activeContext;
  activeContext = ctx;
  try {
    return fn();
  } finally {
    activeContext = prev;
  }
}

/** One neuron site over `[T, B, ..., C]` currents. */
export class StudentNeuron extends Module {
  readonly setup: StudentNeuronSetup;
  readonly channels: number;
  /** ASN leak logit `a` `[C]`; only when T > 1 (with one step the leak never acts). */
  readonly a: Variable | null = null;
  /** ASN step logit `b` `[C]`. */
  readonly b: Variable | null = null;
  /** NASN gain γ `[C]` of the input normalisation (init 1). */
  readonly gamma: Variable | null = null;
  private readonly a0: number = 0;

  constructor(setup: StudentNeuronSetup, channels: number, timeSteps: number) {
    super();
    checkPositiveInt(channels, 'channels');
    this.setup = setup;
    this.channels = channels;
    if (setup.kind === 'asn' || setup.kind === 'nasn') {
      this.a0 = Math.log(setup.lambdaInit / (1 - setup.lambdaInit)); // sigmoid⁻¹(λ)
      const b0 = Math.log(Math.expm1(setup.thetaInit - ASN_THETA_FLOOR)); // softplus⁻¹
      if (timeSteps > 1) this.a = this.addParameter('a', tf.fill([channels], this.a0));
      this.b = this.addParameter('b', tf.fill([channels], b0));
    }
    if (setup.kind === 'nasn') this.gamma = this.addParameter('gamma', tf.ones([channels]));
  }

  getConfig(): { kind: StudentNeuronKind; channels: number } {
    return { kind: this.setup.kind, channels: this.channels };
  }

  /** x: `[T, B, ..., C]` currents -> spikes/counts `[T, B, ..., C]`. Run under a tidy. */
  forward(x: Tensor): SpikeOut {
    const ctx = activeContext;
    const cur = this.gamma ? this.normalise(x, this.gamma) : x; // [T, B, ..., C]
    const out = ctx?.stepwise ? this.step(cur, ctx) : this.multiStep(cur);
    if (ctx?.rates) ctx.observe(out.s, this.setup.levels);
    return out;
  }

  /** NASN's input normalisation, listed as a non-AC op (one rsqrt per token and step, 2(b)). */
  private normalise(x: Tensor, gamma: Variable): Tensor {
    const rec = activeRecorder();
    if (rec) {
      const T = x.shape[0];
      const common = { layer: `${this.path}.norm`, kind: 'other' as const, op: 'norm', input: x };
      rec.record({ ...common, timeSteps: T, flopsPerStep: x.size / T, encoding: 'real' });
    }
    return nasnRMSNorm(x, { kind: 'rms', gamma, eps: NASN_EPS }); // [T, B, ..., C]
  }

  /** ASN parameters of this site. */
  private asnParams(): ASNParams {
    return {
      a: this.a ?? tf.scalar(this.a0),
      b: this.b as Variable,
      ...{ maxCount: this.setup.levels, gamma: 0, gradScale: 'lsq' as const },
    };
  }

  /** The default path: all T steps from a fresh state. */
  private multiStep(x: Tensor): SpikeOut {
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
      case 'asn':
      case 'nasn': {
        const p = this.asnParams();
        const theta = asnTheta(p); // [C]
        if (x.shape[0] > 1) return { s: asnMultiStep(x, p).counts, scale: theta }; // [T, B, ..., C] 0..D
        const x1 = tf.squeeze(x, [0]); // [B, ..., C]
        const r = asnStep(x1, initialASNState(x1.shape), p);
        return { s: tf.expandDims(r.counts, 0), scale: theta }; // [1, B, ..., C] 0..D
      }
    }
  }

  /** Stepwise: one step `[1, B, ..., C]` from the state kept in `ctx` (see the header). */
  private step(x: Tensor, ctx: NeuronContext): SpikeOut {
    if (x.shape[0] !== 1) {
      throw new ShapeError(
        `${this.path}: stepwise execution takes one time step [1, B, ..., C], got [${x.shape.join(', ')}]`,
      );
    }
    const st = this.setup;
    const shape = x.shape.slice(1);
    let out: SpikeOut;
    let leak: number | Tensor;
    switch (st.kind) {
      case 'lif':
      case 'if': {
        const prev = (ctx.state(this) as LIFState | null) ?? initialLIFState(shape, st.lif);
        const r = lifMultiStep(x, st.lif, { state: prev }); // one step, same kernel as the T loop
        ctx.setState(this, r.state);
        out = { s: r.spikes, scale: null }; // [1, B, ..., C] 0/1
        leak = chargeCoefficients(st.lif.charge, st.lif.vReset).lambda;
        break;
      }
      case 'ilif': {
        const x1 = tf.reshape(x, shape); // [B, ..., C]
        const prev = (ctx.state(this) as ILIFState | null) ?? initialILIFState(shape);
        const r = ilifStep(x1, prev, st.ilif);
        ctx.setState(this, r.state);
        out = { s: tf.expandDims(r.counts, 0), scale: null }; // [1, B, ..., C] 0..D
        leak = st.ilif.decay;
        break;
      }
      case 'asn':
      case 'nasn': {
        const p = this.asnParams();
        const x1 = tf.reshape(x, shape); // [B, ..., C]
        const prev = (ctx.state(this) as ASNState | null) ?? initialASNState(shape);
        const r = asnStep(x1, prev, p);
        ctx.setState(this, r.state);
        out = { s: tf.expandDims(r.counts, 0), scale: asnTheta(p) }; // [1, B, ..., C] 0..D
        leak = this.a ? detach(tf.sigmoid(this.a)) : 1 / (1 + Math.exp(-this.a0)); // [C] or scalar
        break;
      }
    }
    if (ctx.traces) {
      const prev = ctx.trace(this);
      const s = detach(out.s); // [1, B, ..., C]
      const trace = prev ? tf.add(tf.mul(prev, leak), s) : s; // â[t] = λ â[t−1] + s[t]
      ctx.setTrace(this, trace);
      out.trace = trace;
    }
    return out;
  }
}
