// The neuron of a vision net's spiking layer, one time step at a time, over the
// neuron core: IF/LIF through `lifStep` (trainable threshold as a parameter), DSR's
// spike form (fire at α·V_th, subtract V_th, spikes worth V_th or V_th/Δt;
// methods-vision.md 2(b)) through the core's charge and fire, and ASN through
// `asnStep` with its decay and threshold parameters owned by this module.
import { tf } from '../../src/tf.js';
import type { Tensor, Variable } from '../../src/tf.js';
import { Module } from '../../src/layers/index.js';
import {
  ASN_THETA_FLOOR,
  asnStep,
  chargeCoefficients,
  detach,
  fire,
  initialASNState,
  lifCharge,
  lifStep,
  resetSoft,
} from '../../src/neurons/index.js';
import type { ASNParams, LIFParams, NeuronSpec } from '../../src/neurons/index.js';
import { ConfigError } from '../../src/errors.js';
import type { DsrSpikes } from './config.js';

/** Output of one neuron step. */
export interface NeuronStep {
  out: Tensor;
  state: Record<string, Tensor>;
  /** Charge before firing (soft reset and ASN's membrane), else null. */
  charge: Tensor | null;
}

/** A step-by-step neuron over `[B, ..., C]` currents. */
export class StepNeuron extends Module {
  readonly spec: NeuronSpec;
  readonly features: number;
  readonly dsr: DsrSpikes | null;
  /** Trainable threshold (scalar or `[C]`), or null. */
  readonly threshold: Variable | null;
  private readonly lif: LIFParams | null;
  private readonly asn: ASNParams | null;

  constructor(spec: NeuronSpec, features: number, dsr: DsrSpikes | null) {
    super();
    this.spec = spec;
    this.features = features;
    this.dsr = dsr;
    this.threshold = null;
    this.lif = null;
    this.asn = null;
    if (spec.neuron === 'if' || spec.neuron === 'lif') {
      const init = spec.params.vThreshold as number;
      if (spec.trainableThreshold !== 'none') {
        this.threshold = this.addParameter(
          'v_threshold',
          spec.trainableThreshold === 'layer' ? tf.scalar(init) : tf.fill([features], init),
        );
      }
      this.lif = this.threshold ? { ...spec.params, vThreshold: this.threshold } : spec.params;
    } else if (spec.neuron === 'asn') {
      const p = spec.params;
      const a = this.addParameter(
        'a',
        tf.fill([features], Math.log(p.lambdaInit / (1 - p.lambdaInit))),
      );
      const b = this.addParameter(
        'b',
        tf.fill([features], Math.log(Math.expm1(p.thetaInit - ASN_THETA_FLOOR))),
      );
      this.asn = { a, b, maxCount: p.maxCount, gamma: p.gamma, gradScale: p.gradScale };
    } else {
      throw new ConfigError(
        `a vision net cannot run neuron ${JSON.stringify(spec.neuron)} step by step`,
      );
    }
  }

  getConfig(): object {
    return { features: this.features };
  }

  /** Leak λ of the membrane (1 for IF; ASN: its initial decay is learned, so 1 is returned). */
  decay(): number {
    return this.lif ? chargeCoefficients(this.lif.charge, this.lif.vReset).lambda : 1;
  }

  /** The firing threshold (a number, or the trainable tensor; ASN: its θ is per channel, 1 reported). */
  thresholdValue(): number | Tensor {
    return this.lif ? this.lif.vThreshold : 1;
  }

  /** A fresh state for currents of shape `shape`. */
  init(shape: readonly number[]): Record<string, Tensor> {
    if (this.asn) return { ...initialASNState(shape) };
    return { v: tf.fill([...shape], this.lif?.vReset ?? 0) };
  }

  /** One step on current `i`; `cut` detaches the incoming state (SLTT/OTTT). */
  step(i: Tensor, state: Record<string, Tensor>, cut: boolean): NeuronStep {
    if (this.asn) {
      const st = { u: state.u, n: state.n, reset: state.reset };
      const r = asnStep(
        i,
        cut ? { u: detach(st.u), n: st.n, reset: detach(st.reset) } : st,
        this.asn,
      );
      return { out: r.y, state: { ...r.state }, charge: r.state.u };
    }
    const p = this.lif as LIFParams;
    const v = cut ? detach(state.v) : state.v;
    if (this.dsr) {
      const thr = p.vThreshold;
      const h = lifCharge(i, v, p); // [B, ...]
      const s = fire(p.surrogate, tf.sub(h, tf.mul(thr, this.dsr.alpha)), false); // [B, ...]
      const vNext = resetSoft(h, p.detachReset ? detach(s) : s, thr);
      const value = this.dsr.dt === null ? thr : tf.div(thr, this.dsr.dt);
      return { out: tf.mul(s, value), state: { v: vNext }, charge: h };
    }
    const r = lifStep(i, { v }, p);
    const charge =
      p.vReset === null ? tf.add(r.state.v, tf.mul(r.spikes, p.resetAmount ?? p.vThreshold)) : null;
    return { out: r.spikes, state: { v: r.state.v }, charge };
  }
}
