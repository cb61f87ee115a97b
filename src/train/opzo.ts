// OPZO, online pseudo-zeroth-order training (arXiv 2407.12516; methods-vision.md 5).
// One forward pass per step with node perturbation and no backward pass: every
// hidden layer's output is sent on as s̃ = s + α z (Gaussian z; with dual noise z and
// −z on consecutive steps), the loss gradient at the output is exact in closed form,
// and momentum feedback matrices estimate the expected output Jacobian:
//   e[t]   = ∂L[t]/∂o at õ[t]                                             [B, m]
//   g^l[t] = e[t] M^lᵀ,   δ^l[t] = g^l[t] ⊙ ψ(H^l[t] − V_th)                   [B, n_l]
//   ΔW^l  += δ^l[t]ᵀ â^{l−1}[t]   (presynaptic trace; raw input for l = 0)
//   ΔW^o  += e[t]ᵀ â^L[t]          (the readout's exact local gradient)
//   M^l    ← λ_M M^l + (1 − λ_M)/(α B) · z^l[t]ᵀ õ[t]                       [n_l, m]
// g uses M before this step's update. Steps are summed into one update per batch
// (OTTT_A style). Defaults are [P]: α 0.1, λ_M 0.99, dual noise on, M starting at 0.
import { tf } from '../tf.js';
import type { Tensor, Variable } from '../tf.js';
import { ConfigError, checkFinite } from '../errors.js';
import { createRng } from '../generate/rng.js';
import { matMul } from '../ops/index.js';
import type { Rng } from '../generate/rng.js';
import type { LayeredStepNet } from './dsr.js';
import { disposeState, stateTensors, stepLoss, stepLossGrad } from './online.js';
import type { StepLossOptions, StepState } from './online.js';
import type { Optimizer } from './optimizer.js';

/** A step net of fully connected synapses whose weights OPZO updates without a tape. */
export interface FcStepNet extends LayeredStepNet {
  synapseParams(layer: number): {
    weight: Variable;
    bias: Variable | null;
    weightName: string;
    biasName: string | null;
  };
  /** ψ(H − V_th) of layer l's surrogate at charge H. */
  surrogateGrad(layer: number, charge: Tensor): Tensor;
}

/** Options of OPZO. */
export interface OpzoOptions extends StepLossOptions {
  /** Noise scale α. @default 0.1 */
  noise?: number;
  /** Feedback momentum λ_M. @default 0.99 */
  momentum?: number;
  /** z and −z on consecutive steps. @default true */
  dualNoise?: boolean;
  /** Seed of the noise. @default 0 */
  seed?: number;
}

/** `M ← λ M + (1 − λ)/(α B) · zᵀ õ` (z `[B, n]`, õ `[B, m]`, M `[n, m]`): a new tensor. */
export function feedbackUpdate(
  m: Tensor,
  z: Tensor,
  out: Tensor,
  alpha: number,
  momentum: number,
): Tensor {
  return tf.tidy(() => {
    const b = z.shape[0] as number;
    const est = matMul(z, out, true, false); // [n, m]
    return tf.add(tf.mul(m, momentum), tf.mul(est, (1 - momentum) / (alpha * b)));
  });
}

/** OPZO's state: the feedback matrices and the noise generator. */
export class Opzo {
  readonly alpha: number;
  readonly momentum: number;
  readonly dualNoise: boolean;
  /** M^l `[n_l, m]` per spiking layer. */
  feedback: Tensor[] = [];
  readonly #rng: Rng;
  readonly #o: OpzoOptions;

  constructor(
    readonly net: FcStepNet,
    o: OpzoOptions = {},
  ) {
    this.alpha = o.noise ?? 0.1;
    this.momentum = o.momentum ?? 0.99;
    this.dualNoise = o.dualNoise ?? true;
    checkFinite(this.alpha, 'opzo noise');
    if (!(this.alpha > 0)) throw new ConfigError(`opzo noise must be > 0, got ${this.alpha}`);
    if (!(this.momentum >= 0 && this.momentum < 1)) {
      throw new ConfigError(`opzo momentum must be in [0, 1), got ${this.momentum}`);
    }
    if (net.neuronKind !== 'if' && net.neuronKind !== 'lif') {
      throw new ConfigError(`opzo needs IF or LIF neurons, got ${net.neuronKind}`);
    }
    for (let l = 0; l <= net.numSpikingLayers; l++) net.synapseParams(l); // fc only: throws otherwise
    this.#rng = createRng(o.seed ?? 0);
    this.#o = o;
  }

  /**
   * The OPZO update direction of one batch (summed over T steps), by public parameter
   * name; updates the feedback matrices. No gradient tape is used.
   */
  gradients(
    x: Tensor,
    labels: Tensor,
  ): { grads: Map<string, Tensor>; loss: number; logitsSum: Tensor; firingRates: number[] } {
    const net = this.net;
    const T = net.timeSteps;
    const L = net.numSpikingLayers;
    const B = x.shape[0] as number;
    const grads = new Map<string, Tensor>();
    const add = (name: string | null, g: Tensor) => {
      if (!name) return g.dispose();
      const prev = grads.get(name);
      grads.set(name, prev ? tf.tidy(() => tf.add(prev, g)) : g);
      if (prev) {
        prev.dispose();
        g.dispose();
      }
    };
    let state: StepState = net.initState(B);
    let noise: Tensor[] = [];
    let lossSum = 0;
    let logitsSum: Tensor | null = null;
    const fr = new Array<number>(L).fill(0);
    try {
      for (let t = 0; t < T; t++) {
        const flip = this.dualNoise && t % 2 === 1 && noise.length === L;
        const z: Tensor[] = [];
        let next: StepState | null = null;
        const kept = tf.tidy((): Tensor[] => {
          const r = net.step(x, state, {
            detachState: true,
            traces: true,
            readoutTrace: true,
            perturb: (l, s) => {
              const zl = flip
                ? tf.neg(noise[l])
                : tf.randomNormal(s.shape, 0, 1, 'float32', this.#rng.nextUint32());
              z.push(tf.keep(zl));
              return tf.add(s, tf.mul(zl, this.alpha));
            },
          });
          next = r.state;
          r.layers.forEach(
            (l, i) => (fr[i] += tf.mean(tf.notEqual(l.spikes, 0)).dataSync()[0] / T),
          );
          const e = tf.div(stepLossGrad(r.logits, labels, this.#o), T); // [B, m]
          const out: Tensor[] = [stepLoss(r.logits, labels, this.#o), r.logits];
          for (let l = 0; l < L; l++) {
            const rec = r.layers[l];
            if (!rec.charge) throw new ConfigError('opzo needs the soft reset (v_reset null)');
            const m =
              this.feedback[l] ?? tf.zeros([rec.spikes.shape[1] as number, e.shape[1] as number]);
            const delta = tf.mul(matMul(e, m, false, true), net.surrogateGrad(l, rec.charge)); // [B, n_l]
            out.push(matMul(delta, rec.trace ?? rec.input, true, false), tf.sum(delta, 0));
          }
          out.push(matMul(e, r.readoutTrace ?? r.readoutInput, true, false), tf.sum(e, 0));
          return [...out, ...stateTensors(r.state)];
        });
        lossSum += kept[0].dataSync()[0] / T;
        kept[0].dispose();
        const logits = kept[1];
        for (let l = 0; l <= L; l++) {
          const p = net.synapseParams(l);
          add(p.weightName, kept[2 + 2 * l]);
          add(p.biasName, kept[3 + 2 * l]);
        }
        // Feedback update with this step's noise and noisy output.
        for (let l = 0; l < L; l++) {
          const prev =
            this.feedback[l] ?? tf.zeros([z[l].shape[1] as number, logits.shape[1] as number]);
          this.feedback[l] = feedbackUpdate(prev, z[l], logits, this.alpha, this.momentum);
          prev.dispose();
        }
        const sum: Tensor = logitsSum ? tf.add(logitsSum, logits) : tf.clone(logits);
        logitsSum?.dispose();
        logits.dispose();
        logitsSum = sum;
        tf.dispose(noise);
        noise = z;
        disposeState(state);
        state = next as unknown as StepState;
      }
    } finally {
      disposeState(state);
      tf.dispose(noise);
    }
    return { grads, loss: lossSum, logitsSum: logitsSum as unknown as Tensor, firingRates: fr };
  }

  /** One batch: OPZO's direction to the optimizer. */
  trainStep(
    optimizer: Optimizer,
    x: Tensor,
    labels: Tensor,
  ): { loss: number; logitsSum: Tensor; firingRates: number[] } {
    const { grads, ...rest } = this.gradients(x, labels);
    try {
      optimizer.step(grads);
    } finally {
      tf.dispose([...grads.values()]);
    }
    return rest;
  }

  dispose(): void {
    tf.dispose(this.feedback);
    this.feedback = [];
  }
}
