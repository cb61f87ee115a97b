// The trunk every spiking student shares (methods-language.md 1(b) "Model layout" and
// 3(b), all [P]): a real-valued token embedding plus learned positions — the only MAC
// layer — repeated over the T steps (direct encoding), L blocks (student-block.ts), and a
// final spiking neuron whose spike counts the heads read (student-linear.ts `RateHead`).
// Hidden states for distillation are time means `[B, N, D]` of the residual stream,
// the embedding first; attention maps are the mixers' time-averaged `[B, H, N, N]`.
// Integer models (ILIF/ASN) convert to spike inference with `toSpikeMode()`.
// `step: true` runs ONE time step (the embedding as `[1, B, N, D]`) for the stepwise
// gradient rules (student-grads.ts); the neuron sites then carry their state in the active
// `NeuronContext` (student-neuron.ts).
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { ConfigError } from '../src/errors.js';
import { activeRecorder } from '../src/energy/index.js';
import type { JsonObject } from '../src/io/index.js';
import { deriveSeed, Embedding, Module } from '../src/layers/index.js';
import { StudentBlock } from './student-block.js';
import { QuantCache } from './student-linear.js';
import type { Coding } from './student-linear.js';
import { mixerSettings } from './student-mixers.js';
import type { MixerCache, MixerSettings } from './student-mixers.js';
import { StudentNeuron } from './student-neuron.js';
import { parseStudentConfig, studentConfigJson, TYPE_RULES } from './student-config.js';
import type { ParsedStudent, StudentConfig, StudentType } from './student-config.js';

/** Options of a student constructor. */
export interface StudentOptions {
  /** Seed of the initialisation. Default 0. */
  seed?: number;
  /** Where the config came from, for error messages. Default `config.json`. */
  source?: string;
}

/** What the trunk returns. */
export interface TrunkOutput {
  /** Spike counts of the final neuron, Σ over steps `[B, N, D]` (integers 0..T·D). */
  counts: Tensor;
  /** The final ASN step θ `[D]` (heads fold it in), or null. */
  scale: Tensor | null;
  /** `L + 1` time means `[B, N, D]`, embedding first (on request). */
  hidden: Tensor[];
  /** `L` maps `[B, H, N, N]` (on request). */
  maps: Tensor[];
  /** `L` per-step maps `[T, B, H, N, N]` (on request). */
  spikeMaps: Tensor[];
  /** Stepwise with traces: the final neuron's presynaptic trace `[B, N, D]`, else null. */
  trace: Tensor | null;
}

/** Per-call options of the trunk. */
export interface TrunkCall {
  /** Position of the first id (cached positions). */
  offset: number;
  /** `[B, Nk]` 1 = token, 0 = padding over the keys (cached + new while decoding). */
  attentionMask?: Tensor | null;
  /** `[B, N]` int32 positions of the ids (left padding); default `offset..offset+N-1`. */
  positionIds?: Tensor | null;
  caches?: MixerCache[] | null;
  hidden?: boolean;
  maps?: boolean;
  spikeMaps?: boolean;
  /** One time step (`T` = 1 of the config's T) under a stepwise `NeuronContext`. */
  step?: boolean;
}

/** Embedding, blocks and final neuron of a student; subclasses add heads. */
export abstract class SpikingStudent extends Module {
  readonly modelType: StudentType;
  readonly config: StudentConfig;
  readonly parsed: ParsedStudent;
  readonly coding: Coding;
  readonly mixer: MixerSettings;
  readonly embed: Embedding;
  readonly posEmbed: Embedding;
  readonly layers: StudentBlock[];
  readonly finalSn: StudentNeuron;
  protected readonly seed: number;
  /** Quantised weights of the inference path (see `quantCache`). */
  readonly #quant = new QuantCache();

  constructor(raw: JsonObject, type: StudentType, options: StudentOptions = {}) {
    super();
    const p = parseStudentConfig(raw, type, options.source);
    const c = p.config;
    const seed = options.seed ?? 0;
    [this.modelType, this.parsed, this.config, this.seed] = [type, p, c, seed];
    this.coding = { kind: p.neuron.coding, levels: p.neuron.levels };
    this.mixer = mixerSettings(c, TYPE_RULES[type].causal);
    const emb = (name: string, n: number) =>
      this.addModule(
        name,
        new Embedding({
          num_embeddings: n,
          embedding_dim: c.hidden_size,
          seed: deriveSeed(seed, name),
        }),
      ); // N(0, 1) init [P]: unit-scale currents make the first neurons fire
    this.embed = emb('embed', c.vocab_size);
    this.posEmbed = emb('pos_embed', c.max_position_embeddings);
    this.layers = Array.from({ length: c.num_hidden_layers }, (_, i) =>
      this.addModule(`layers.${i}`, new StudentBlock(c, p.neuron, deriveSeed(seed, `layers.${i}`))),
    );
    this.finalSn = this.addModule(
      'final_sn',
      new StudentNeuron(p.neuron, c.hidden_size, c.time_steps),
    );
  }

  /** The config.json that rebuilds this model (unread fields of the source kept). */
  getConfig(): JsonObject & { model_type: string } {
    return studentConfigJson(this.parsed);
  }

  /** The quantised-weight cache in eval mode; null in training (the STE must see the quantiser). */
  protected get quantCache(): QuantCache | null {
    return this.training ? null : this.#quant;
  }

  /** Free the weights and the cached quantised weights. */
  override dispose(): void {
    this.#quant.dispose();
    super.dispose();
  }

  /** Largest spike count the heads read per unit: T steps × D counts per step. */
  protected get headMaxCount(): number {
    return this.config.time_steps * this.coding.levels;
  }

  /**
   * The same model in spike inference: an integer (ILIF/ASN) model whose counts enter
   * every weight layer as D binary sub-steps (`spike_encoding: "binary"`), weights copied.
   * Logits equal the integer model's up to float rounding of the summed sub-steps.
   */
  toSpikeMode(): this {
    if (this.coding.kind === 'spike') {
      throw new ConfigError(
        `toSpikeMode: neuron "${this.config.neuron}" already emits binary spikes`,
      );
    }
    const Ctor = this.constructor as new (raw: JsonObject, o: StudentOptions) => this;
    const twin = new Ctor({ ...this.getConfig(), spike_encoding: 'binary' }, { seed: this.seed });
    twin.loadState(this.stateDict());
    return twin.train(this.training);
  }

  /** ids `[B, N]` int32 at positions `offset..` -> final counts (+ hidden states, maps). Run under a tidy. */
  protected trunk(ids: Tensor, o: TrunkCall): TrunkOutput {
    const [B, N] = ids.shape as [number, number];
    const c = this.config;
    const [T, D] = [c.time_steps, c.hidden_size];
    const pos = o.positionIds
      ? this.posEmbed.forward(o.positionIds) // [B, N, D]
      : tf.slice(this.posEmbed.weight, [o.offset, 0], [N, D]); // [N, D]
    const x0 = tf.add(this.embed.forward(ids), pos); // [B, N, D]
    const rec = activeRecorder();
    if (rec) {
      // The lookup is a table read; the token + position add is the one real-valued layer.
      const work = { layer: 'embed', kind: 'linear' as const, input: x0, timeSteps: 1 };
      rec.record({ ...work, flopsPerStep: B * N * D, encoding: 'real', firstLayer: true });
    }
    // [T, B, N, D] direct encoding ([1, B, N, D] for one step)
    let x = o.step ? tf.expandDims(x0, 0) : tf.tile(tf.expandDims(x0, 0), [T, 1, 1, 1]);
    const hidden: Tensor[] = o.hidden ? [x0] : [];
    const maps: Tensor[] = [];
    const spikeMaps: Tensor[] = [];
    this.layers.forEach((layer, i) => {
      const r = layer.forward(x, {
        ...{ coding: this.coding, quant: this.quantCache, mixer: this.mixer },
        attentionMask: o.attentionMask ?? null,
        ...{ cache: o.caches ? o.caches[i] : null, inference: !this.training },
        ...{ wantMap: o.maps ?? false, wantSpikeMap: o.spikeMaps ?? false },
      });
      x = r.x; // [T, B, N, D]
      if (o.hidden) hidden.push(tf.mean(x, 0)); // [B, N, D]
      if (r.map) maps.push(r.map); // [B, H, N, N]
      if (r.spikeMap) spikeMaps.push(r.spikeMap); // [T, B, H, N, N]
    });
    const f = this.finalSn.forward(x); // [T, B, N, D] spikes/counts
    const counts = tf.sum(f.s, 0); // [B, N, D] integers 0..T·D
    const trace = f.trace ? tf.reshape(f.trace, counts.shape) : null; // [B, N, D]
    return { counts, scale: f.scale, hidden, maps, spikeMaps, trace };
  }
}
