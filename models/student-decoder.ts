// The spiking causal LM shared by WD-Spikingformer (CWSSA, arXiv 2604.11321) and
// BiSpikCLM (SFSA + binary weights, arXiv 2605.13859): the student trunk with causal
// mixers and per-token norms, a head on the time mean, and the `CausalLM` contract.
// Decoding keeps, per layer, the cached K/V spikes (CWSSA and the causal baselines) or
// SFSA's integer recurrent state S, z (constant memory per token). Neurons need no state
// across positions (each token's T steps run from a fresh membrane), so `decode` over any
// split of a sequence equals `forward` on the whole of it. A left-padded batch passes
// `attentionMask` to `decode` (the CausalLM contract): padded keys never win / never enter
// the SFSA state, and positions count real tokens only, so each row decodes as it would
// alone.
// `timeStep` runs ONE of the T time steps (the stepwise gradient rules, student-grads.ts)
// and `logitsFromCounts` is `forward`'s head on spike counts summed over the steps.
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { ConfigError, ShapeError, checkPositiveInt } from '../src/errors.js';
import type { JsonObject } from '../src/io/index.js';
import type {
  CausalLM,
  DecodeCallOptions,
  DecodeState,
  ForwardOptions,
  LMOutput,
} from '../src/generate/types.js';
import { deriveSeed } from '../src/layers/index.js';
import { checkIds, DecodePadding } from './causal-lm.js';
import { SpikingStudent } from './student-base.js';
import type { StudentOptions, TrunkCall } from './student-base.js';
import type { StudentType } from './student-config.js';
import { RateHead } from './student-linear.js';
import { disposeMixerCache, newMixerCache } from './student-mixers.js';
import type { MixerCache } from './student-mixers.js';
import { activeNeuronContext } from './student-neuron.js';

/** Forward options of the spiking decoders. */
export interface StudentForwardOptions extends ForwardOptions {
  /** Also return every layer's per-step map `[T, B, H, N, N]` (binary for WTA). */
  outputSpikeMaps?: boolean;
}

/** `LMOutput` plus the per-step maps. */
export interface StudentLMOutput extends LMOutput {
  spikeMaps?: Tensor[];
}

/** One time step of a stepwise run (`SpikingCausalLM.timeStep`). */
export interface StudentStepOutput {
  /** The final neuron's output at this step `[B, N, D]` (spikes or counts). */
  counts: Tensor;
  /** The final ASN step θ `[D]`, or null. */
  scale: Tensor | null;
  /** On request: this step's logits `s[t] W'ᵀ + b` `[B, N, V]` (their time mean is `forward`'s). */
  logits?: Tensor;
  /** On request: `L + 1` residual streams `[B, N, D]` of this step, the embedding first. */
  hidden: Tensor[];
  /** On request: `L` raw maps `[B, H, N, N]` of this step (`mapFromMean` of their mean is `forward`'s). */
  rawMaps: Tensor[];
}

/** Decoding state of a spiking decoder: one mixer cache per layer. */
export class StudentDecodeState implements DecodeState {
  readonly owner: object;
  readonly batch: number;
  readonly caches: MixerCache[];
  /** Left padding seen so far (see `DecodeCallOptions.attentionMask`). */
  readonly padding = new DecodePadding();
  #length = 0;

  constructor(owner: object, batch: number, caches: MixerCache[]) {
    [this.owner, this.batch, this.caches] = [owner, batch, caches];
  }

  get length(): number {
    return this.#length;
  }

  /** Record `n` more consumed positions. */
  advance(n: number): void {
    this.#length += n;
  }

  dispose(): void {
    this.caches.forEach(disposeMixerCache);
    this.padding.dispose();
  }
}

/** A spiking decoder-only LM (`model_type` wd-spikingformer or bispikclm). */
export class SpikingCausalLM extends SpikingStudent implements CausalLM {
  readonly vocabSize: number;
  readonly maxPositions: number;
  /** `lm_head` (its own weight, or only the tied embedding's read-out). */
  readonly lmHead: RateHead;

  constructor(raw: JsonObject, type: StudentType, options: StudentOptions = {}) {
    super(raw, type, options);
    const c = this.config;
    this.vocabSize = c.vocab_size;
    this.maxPositions = c.max_position_embeddings;
    this.lmHead = this.addModule(
      'lm_head',
      new RateHead({
        ...{ in_features: c.hidden_size, out_features: c.vocab_size, bias: false },
        ...{ own_weight: !c.tie_word_embeddings, weight_precision: c.weight_precision },
        seed: deriveSeed(this.seed, 'lm_head'),
      }),
    );
  }

  /**
   * Full forward over `ids` `[B, N]` int32: logits `[B, N, V]`, and on request `L + 1`
   * hidden states `[B, N, D]` (time means, embedding first), `L` maps `[B, H, N, N]` and
   * `L` per-step maps `[T, B, H, N, N]`.
   */
  forward(ids: Tensor, options: StudentForwardOptions = {}): StudentLMOutput {
    checkIds(ids, this.maxPositions, `${this.modelType} forward`);
    const out = tf.tidy(() => {
      const r = this.run(ids, {
        ...{ offset: 0, hidden: options.outputHiddenStates ?? false },
        ...{ maps: options.outputAttentions ?? false, spikeMaps: options.outputSpikeMaps ?? false },
      });
      const res: StudentLMOutput = { logits: r.logits };
      if (options.outputHiddenStates) res.hiddenStates = r.hidden;
      if (options.outputAttentions) res.attentions = r.maps;
      if (options.outputSpikeMaps) res.spikeMaps = r.spikeMaps;
      return res as unknown as tf.TensorContainer;
    });
    return out as unknown as StudentLMOutput;
  }

  /** A fresh decoding state for `batch` sequences. */
  initState(batch: number): StudentDecodeState {
    checkPositiveInt(batch, 'batch');
    const caches = this.layers.map(() =>
      newMixerCache(this.config.attention_type, this.maxPositions),
    );
    return new StudentDecodeState(this, batch, caches);
  }

  /**
   * Feed `ids` `[B, n]` after the consumed positions; returns their logits `[B, n, V]`.
   * With `options.attentionMask` (left padding) padded positions are never attended to and
   * positions count real tokens only, so a padded row's logits equal the row decoded alone.
   */
  decode(ids: Tensor, state: DecodeState, options: DecodeCallOptions = {}): Tensor {
    if (!(state instanceof StudentDecodeState) || state.owner !== this) {
      throw new ConfigError('decode: the state was not made by this model’s initState()');
    }
    const who = `${this.modelType} decode`;
    const [B, n] = checkIds(ids, this.maxPositions, who, state.length);
    if (B !== state.batch) {
      throw new ShapeError(`decode: the state holds ${state.batch} sequences, ids have ${B}`);
    }
    state.padding.check(options.attentionMask, B, n, who);
    const logits = tf.tidy(() => {
      const pad = state.padding.feed(options.attentionMask, B, n, state.length);
      const call = { offset: state.length, caches: state.caches };
      return this.run(ids, { ...call, attentionMask: pad.mask, positionIds: pad.positions }).logits;
    });
    state.advance(n);
    return logits;
  }

  /**
   * One time step over `ids` `[B, N]` under an active stepwise `NeuronContext` (each
   * neuron site continues from the state it left there). Run under a tidy.
   */
  timeStep(
    ids: Tensor,
    o: { logits?: boolean; hidden?: boolean; maps?: boolean } = {},
  ): StudentStepOutput {
    if (!activeNeuronContext()?.stepwise) {
      throw new ConfigError('timeStep: run it under a stepwise NeuronContext (withNeuronContext)');
    }
    checkIds(ids, this.maxPositions, `${this.modelType} timeStep`);
    const [B, N] = ids.shape as [number, number];
    const t = this.trunk(ids, {
      ...{ offset: 0, step: true, hidden: o.hidden ?? false, spikeMaps: o.maps ?? false },
    });
    const out: StudentStepOutput = {
      ...{ counts: t.counts, scale: t.scale, hidden: t.hidden },
      rawMaps: t.spikeMaps.map((m) => tf.reshape(m, m.shape.slice(1))), // L x [B, H, N, N]
    };
    if (o.logits) {
      const trace = t.trace ? tf.reshape(t.trace, [B * N, -1]) : null; // [B*N, D]
      out.logits = this.head(t.counts, t.scale, 1, trace); // [B, N, V]
    }
    return out;
  }

  /** `forward`'s logits `[B, N, V]` from final counts summed over the T steps `[B, N, D]`. */
  logitsFromCounts(counts: Tensor, scale: Tensor | null): Tensor {
    return this.head(counts, scale, this.config.time_steps, null);
  }

  /** The head on counts `[B, N, D]` -> `[B, N, V]` (weight gradient from `trace` if given). */
  private head(
    counts: Tensor,
    scale: Tensor | null,
    divisor: number,
    trace: Tensor | null,
  ): Tensor {
    const [B, N, D] = counts.shape as [number, number, number];
    const logits = this.lmHead.forward(tf.reshape(counts, [B * N, D]), {
      ...{ scale, divisor, maxCount: this.headMaxCount, trace },
      cache: this.quantCache,
      ...(this.config.tie_word_embeddings ? { tied: this.embed.weight } : {}),
    }); // [B*N, V]
    return tf.reshape(logits, [B, N, this.vocabSize]);
  }

  private run(
    ids: Tensor,
    call: TrunkCall,
  ): { logits: Tensor; hidden: Tensor[]; maps: Tensor[]; spikeMaps: Tensor[] } {
    const t = this.trunk(ids, call);
    return { ...t, logits: this.head(t.counts, t.scale, this.config.time_steps, null) };
  }
}
