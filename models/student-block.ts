// One Spikingformer-style block of the spiking students (methods-language.md 0.5 with the
// token mixer of 1(b)/3(b)); the residual stream X `[T, B, N, D]` stays real-valued (the
// "membrane shortcut") and every weight layer reads spikes or counts:
//   Z = SN(X);  Q, K, V = SN(Norm(Z Wq)), SN(Norm(Z Wk)), SN(Norm(Z Wv))   (per head d = D/H)
//   X <- X + Norm(mixer(Q, K, V) Wo)
//   X <- X + Norm(SN(Norm(SN(X) W1)) W2)                                   (hidden 4D)
// Norm [P, 1(b)]: `batch` = TimeBatchNorm (statistics over T, B, N; encoder only, foldable
// in eval), `rms` = per-token RMSNorm, `layer` = per-token LayerNorm (decoders: no
// statistics across positions, so no future leakage).
// Per-token norms read each projection in units of its weight scale, so their ε counts in
// input spikes (`normedProjection`, [P]). Projections have no bias [P]: the
// norm after each one carries the affine part (a bias before a batch norm would get no
// gradient). Names: `attn.{in_sn,q,k,v,q_norm,...,o,o_norm}`, `mlp.{in_sn,up,up_norm,
// hidden_sn,down,down_norm}`.
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { activeRecorder } from '../src/energy/index.js';
import {
  deriveSeed,
  LayerNorm,
  Linear,
  Module,
  RMSNorm,
  TimeBatchNorm,
} from '../src/layers/index.js';
import type { StudentConfig, StudentNorm } from './student-config.js';
import { project } from './student-linear.js';
import type { Coding, QuantCache } from './student-linear.js';
import { runMixer } from './student-mixers.js';
import type { MixerCache, MixerSettings } from './student-mixers.js';
import { StudentNeuron } from './student-neuron.js';
import type { SpikeOut, StudentNeuronSetup } from './student-neuron.js';
import { detach } from '../src/neurons/index.js';

/** What a block needs besides its input. */
export interface BlockContext {
  coding: Coding;
  /** Quantised weights kept between inference calls (null in training). */
  quant: QuantCache | null;
  mixer: MixerSettings;
  attentionMask: Tensor | null;
  cache: MixerCache | null;
  inference: boolean;
  wantMap: boolean;
  wantSpikeMap: boolean;
}

type Norm = TimeBatchNorm | RMSNorm | LayerNorm;

/** Shared construction pieces of a block. */
interface Parts {
  c: StudentConfig;
  neuron: StudentNeuronSetup;
  seed: number;
}

function makeNorm(kind: StudentNorm, D: number, eps: number): Norm {
  if (kind === 'batch') return new TimeBatchNorm({ num_features: D, eps });
  return kind === 'rms'
    ? new RMSNorm({ normalized_shape: D, eps })
    : new LayerNorm({ normalized_shape: D, eps });
}

/**
 * Initial gain of the norms in front of the Q, K, V neurons [P]: τ for LIF neurons under the
 * winner-take-all mixers and SFSA, 1 otherwise. Reason: the norm gives unit-RMS currents and
 * the LIF charges `x/τ` per step (decay-input form, 0.3), so with gain 1, τ 2, θ 1 and T 2 only
 * about 5 % of the Q/K/V units fire at initialisation; the coincidence counts Q·Kᵀ are then
 * 0 for whole rows, 80-95 % of the WTA rows are silent (no winner), and a silent row passes
 * no gradient to Q, K or V (`O = 0`, and the normalised output's gradient is 0 when m = 0),
 * so heads start — and in our associative-recall runs (bench/assoc-recall.ts) stay — dead.
 * Gain τ makes the first step charge the normalised current itself (as an IF neuron would):
 * about 20 % of the units fire and almost every row has a winner. Learned afterwards.
 * SFSA has the same failure: with gain 1 only 2-5 % of its LIF Q/K/V units fire, 70-90 % of
 * the rows have `Z = 0` (silent output, no gradient to Q or K); with gain τ, 10-18 % fire
 * and 15-40 % of the rows are silent (5-layer BiSpikCLM, D 32).
 */
export function qkvNormGain(c: StudentConfig, neuron: StudentNeuronSetup): number {
  const sparse = ['wssa', 'cwssa', 'sfsa'].includes(c.attention_type);
  return sparse && neuron.kind === 'lif' ? c.tau : 1;
}

/**
 * A norm on a bias-free projection of a neuron site's output (the `Norm(s W)` of every
 * block). Per-token norms (`rms`, `layer`) read the product in units of the projection's
 * weight scale `σ = rms(W')` (W' the effective weight with any ASN step folded in; a
 * constant of the backward), so their ε counts in "one input spike's current": the norm
 * computes `y / sqrt(ms(y) + ε σ²)`. Reason [P]: a token whose input site is silent (or
 * nearly) gives a zero row, whose per-token norm has the Jacobian `g / sqrt(ε)` — 316 for an
 * absolute ε of 1e-5. At initialisation 30-90 % of the rows after the mixer (`o_norm`) and
 * the MLP's hidden neuron (`down_norm`) are silent, so every block multiplied the gradient
 * reaching its input by 20-40: 1e8 at the embedding of a 5-layer model, and under the global
 * norm clip (3(c)) every block's update vanished (the model stayed at a uniform guess).
 * With ε in spike units the gain of a silent row is 1/σ, the same order as a row with one
 * spike. A batch norm (statistics over T, B, N) has no silent rows and is left as it is.
 * For rows with many spikes (`ms(y) ≫ ε σ²`) the output is the plain norm's.
 */
export function normedProjection(
  norm: Norm,
  linear: Linear,
  inp: SpikeOut,
  coding: Coding,
  quant: QuantCache | null,
): Tensor {
  const y = project(linear, inp, coding, quant); // [T, B, N, out]
  if (norm instanceof TimeBatchNorm) return normed(norm, y);
  const sigma = () => {
    const w = detach(linear.effectiveWeight()); // [out, in]
    const wf = inp.scale ? tf.mul(w, detach(inp.scale)) : w; // [out, in] = W diag(θ)
    return tf.sqrt(tf.add(tf.mean(tf.square(wf)), 1e-30)); // [] σ
  };
  // Inference without an ASN step: σ kept with the quantised weights (keyed by the norm).
  const unit = quant && !inp.scale ? quant.get(norm, linear.weight, sigma) : tf.tidy(sigma);
  return normed(norm, tf.div(y, unit)); // [T, B, N, out]
}

/** Run a norm, listing it as a non-AC op (one rsqrt per token, 6.1) when counting. */
function normed(norm: Norm, x: Tensor): Tensor {
  const rec = activeRecorder();
  if (rec) {
    const T = x.shape[0];
    const common = { layer: norm.path, kind: 'other' as const, op: 'norm', input: x };
    rec.record({ ...common, timeSteps: T, flopsPerStep: x.size / T, encoding: 'real' });
  }
  return norm.forward(x);
}

/** Base of the sub-blocks: makers of their neurons, bias-free projections and norms. */
abstract class SpikingSubBlock extends Module {
  protected readonly parts: Parts;

  constructor(parts: Parts) {
    super();
    this.parts = parts;
  }

  protected neuron(name: string, channels: number): StudentNeuron {
    const { neuron, c } = this.parts;
    return this.addModule(name, new StudentNeuron(neuron, channels, c.time_steps));
  }

  protected linear(name: string, inF: number, outF: number): Linear {
    const { c, seed } = this.parts;
    const args = { in_features: inF, out_features: outF, bias: false };
    const more = { weight_precision: c.weight_precision, input_encoding: 'spike' as const };
    return this.addModule(name, new Linear({ ...args, ...more, seed: deriveSeed(seed, name) }));
  }

  protected norm(name: string, channels: number): Norm {
    const c = this.parts.c;
    return this.addModule(name, makeNorm(c.norm_type, channels, c.norm_eps));
  }

  getConfig(): { hidden_size: number } {
    return { hidden_size: this.parts.c.hidden_size };
  }
}

/** Attention sub-block: `[T, B, N, D]` -> `[T, B, N, D]` (+ maps). */
export class StudentAttentionBlock extends SpikingSubBlock {
  readonly inSn: StudentNeuron;
  /** Q, K, V projections `[D, D]`, their norms and neurons, in that order. */
  readonly qkv: { proj: Linear; norm: Norm; sn: StudentNeuron }[];
  readonly o: Linear;
  readonly oNorm: Norm;

  constructor(parts: Parts) {
    super(parts);
    const D = parts.c.hidden_size;
    this.inSn = this.neuron('in_sn', D);
    const proj = ['q', 'k', 'v'].map((p) => this.linear(p, D, D));
    const norm = ['q', 'k', 'v'].map((p) => this.norm(`${p}_norm`, D));
    const gain = qkvNormGain(parts.c, parts.neuron);
    if (gain !== 1) tf.tidy(() => norm.forEach((n) => n.weight?.assign(tf.fill([D], gain))));
    const sn = ['q', 'k', 'v'].map((p) => this.neuron(`${p}_sn`, D));
    this.qkv = [0, 1, 2].map((i) => ({ proj: proj[i], norm: norm[i], sn: sn[i] }));
    this.o = this.linear('o', D, D);
    this.oNorm = this.norm('o_norm', D);
  }

  /** `[T, B, N, D]` -> `[T, B, H, N, d]` (a reshape only when N = 1). */
  private heads(x: Tensor): Tensor {
    const [T, B, N, D] = x.shape as number[];
    const H = this.parts.c.num_attention_heads;
    const x5 = tf.reshape(x, [T, B, N, H, D / H]); // [T, B, N, H, d]
    return N === 1 ? tf.reshape(x5, [T, B, H, 1, D / H]) : tf.transpose(x5, [0, 1, 3, 2, 4]);
  }

  forward(x: Tensor, ctx: BlockContext): { x: Tensor; map?: Tensor; spikeMap?: Tensor } {
    const z = this.inSn.forward(x); // [T, B, N, D] spikes/counts
    const [q, k, v] = this.qkv.map(({ proj, norm, sn }) => {
      const current = normedProjection(norm, proj, z, ctx.coding, ctx.quant); // [T, B, N, D]
      return this.heads(sn.forward(current).s); // [T, B, H, N, d] spikes/counts
    });
    const r = runMixer(ctx.mixer, q, k, v, {
      ...{ attentionMask: ctx.attentionMask, cache: ctx.cache, inference: ctx.inference },
      ...{ wantMap: ctx.wantMap, wantSpikeMap: ctx.wantSpikeMap, name: `${this.path}.mixer` },
    }); // y [T, B, H, N, d] 0/1
    const [T, B, H, N, d] = r.y.shape as number[];
    const y = N === 1 ? r.y : tf.transpose(r.y, [0, 1, 3, 2, 4]); // [T, B, N, H, d]
    const merged = { s: tf.reshape(y, [T, B, N, H * d]), scale: null }; // [T, B, N, D] 0/1
    const a = normedProjection(this.oNorm, this.o, merged, ctx.coding, ctx.quant); // [T, B, N, D]
    const out: { x: Tensor; map?: Tensor; spikeMap?: Tensor } = { x: tf.add(x, a) };
    if (r.map) out.map = r.map; // [B, H, N, N]
    if (r.spikeMap) out.spikeMap = r.spikeMap; // [T, B, H, N, N]
    return out;
  }
}

/** Spiking MLP sub-block: `[T, B, N, D]` -> `[T, B, N, D]`. */
export class StudentMLP extends SpikingSubBlock {
  readonly inSn: StudentNeuron;
  readonly up: Linear;
  readonly upNorm: Norm;
  readonly hiddenSn: StudentNeuron;
  readonly down: Linear;
  readonly downNorm: Norm;

  constructor(parts: Parts) {
    super(parts);
    const [D, I] = [parts.c.hidden_size, parts.c.intermediate_size];
    this.inSn = this.neuron('in_sn', D);
    this.up = this.linear('up', D, I);
    this.upNorm = this.norm('up_norm', I);
    this.hiddenSn = this.neuron('hidden_sn', I);
    this.down = this.linear('down', I, D);
    this.downNorm = this.norm('down_norm', D);
  }

  forward(x: Tensor, coding: Coding, quant: QuantCache | null): Tensor {
    const s1 = this.inSn.forward(x); // [T, B, N, D] spikes/counts
    const h = normedProjection(this.upNorm, this.up, s1, coding, quant); // [T, B, N, 4D]
    const s2 = this.hiddenSn.forward(h); // [T, B, N, 4D] spikes/counts
    const y = normedProjection(this.downNorm, this.down, s2, coding, quant); // [T, B, N, D]
    return tf.add(x, y); // [T, B, N, D], membrane shortcut
  }
}

/** One block: `attn` then `mlp`. */
export class StudentBlock extends Module {
  readonly attn: StudentAttentionBlock;
  readonly mlp: StudentMLP;
  private readonly c: StudentConfig;

  constructor(c: StudentConfig, neuron: StudentNeuronSetup, seed: number) {
    super();
    this.c = c;
    const parts = (name: string) => ({ c, neuron, seed: deriveSeed(seed, name) });
    this.attn = this.addModule('attn', new StudentAttentionBlock(parts('attn')));
    this.mlp = this.addModule('mlp', new StudentMLP(parts('mlp')));
  }

  getConfig(): { hidden_size: number } {
    return { hidden_size: this.c.hidden_size };
  }

  /** x `[T, B, N, D]` -> `[T, B, N, D]` (+ the mixer's maps). */
  forward(x: Tensor, ctx: BlockContext): { x: Tensor; map?: Tensor; spikeMap?: Tensor } {
    const a = this.attn.forward(x, ctx);
    return { ...a, x: this.mlp.forward(a.x, ctx.coding, ctx.quant) };
  }
}
