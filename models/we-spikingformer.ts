// WE-Spikingformer (arXiv 2604.11321; paper text and code unavailable, so this is the [P]
// design of methods-language.md 1(b)-(d)): an encoder-only spiking LM whose token mixer
// is WSSA — bidirectional winner-take-all spiking self-attention with padding masks, no
// softmax — in Spikingformer blocks with time-batch norm (foldable in eval), LIF neurons,
// T 4 (`small`). Heads by `architectures[0]`, as for the BERT teacher:
// - `WESpikingformerModel`: the trunk only;
// - `WESpikingformerForMaskedLM`: MLM read-out on the time mean, tied to the token
//   embedding (float weights) or untied, with a bias `[V]`;
// - `WESpikingformerForSequenceClassification`: `classifier` on the pooled time mean,
//   `classifier_pooling` `cls` (first token, BERT's [CLS]) or `mean` (mean over the
//   unpadded tokens; pooled as a spike-count sum, divided after the product).
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import type { JsonObject } from '../src/io/index.js';
import type { ForwardOptions } from '../src/generate/types.js';
import { deriveSeed } from '../src/layers/index.js';
import { checkIds } from './causal-lm.js';
import { SpikingStudent } from './student-base.js';
import type { StudentOptions } from './student-base.js';
import type { StudentHead } from './student-config.js';
import { RateHead } from './student-linear.js';
import { studentCheckpoint, studentHeadOf } from './student-presets.js';
import type { ModelSpec } from './types.js';

/** Forward options of WE-Spikingformer. */
export interface WEForwardOptions extends ForwardOptions {
  /** `[B, N]` 1 = token, 0 = padding (padded keys never win; mean pooling skips them). */
  attentionMask?: Tensor | null;
  /** Also return every layer's per-step map `[T, B, H, N, N]`. */
  outputSpikeMaps?: boolean;
}

/** Output of `WESpikingformer.forward`. */
export interface WEOutput {
  /** `[B, N, D]` firing rates of the final neuron (what the heads read). */
  lastHiddenState: Tensor;
  /** `[B, D]` pooled rates (classification head). */
  pooled?: Tensor;
  /** MLM `[B, N, V]` or classification `[B, num_labels]`. */
  logits?: Tensor;
  /** `L + 1` time means `[B, N, D]` of the residual stream, embedding first. */
  hiddenStates?: Tensor[];
  /** `L` binary WTA maps averaged over T, `[B, H, N, N]`. */
  attentions?: Tensor[];
  /** `L` per-step maps `[T, B, H, N, N]`. */
  spikeMaps?: Tensor[];
}

/** The WSSA spiking encoder with the head of its config. */
export class WESpikingformer extends SpikingStudent {
  readonly head: Exclude<StudentHead, 'causal_lm'>;
  /** MLM read-out (`lm_head`), or null. */
  readonly lmHead: RateHead | null;
  /** Sequence classifier (`classifier`), or null. */
  readonly classifier: RateHead | null;

  /** Build from a config.json object (validated; errors name `source` and the field). */
  constructor(raw: JsonObject, options: StudentOptions = {}) {
    super(raw, 'we-spikingformer', options);
    const c = this.config;
    this.head = this.parsed.head as Exclude<StudentHead, 'causal_lm'>;
    const head = (name: string, out: number, own: boolean) =>
      this.addModule(
        name,
        new RateHead({
          ...{ in_features: c.hidden_size, out_features: out, own_weight: own, bias: true },
          ...{ weight_precision: c.weight_precision, seed: deriveSeed(this.seed, name) },
        }),
      );
    this.lmHead =
      this.head === 'mlm' ? head('lm_head', c.vocab_size, !c.tie_word_embeddings) : null;
    this.classifier =
      this.head === 'classification' ? head('classifier', c.num_labels, true) : null;
  }

  /** Encode `ids` `[B, N]` int32 and apply the head. */
  forward(ids: Tensor, o: WEForwardOptions = {}): WEOutput {
    const [B, N] = checkIds(ids, this.config.max_position_embeddings, 'we-spikingformer forward');
    const { hidden_size: D, time_steps: T } = this.config;
    const out = tf.tidy(() => {
      const mask = o.attentionMask ?? null;
      const t = this.trunk(ids, {
        ...{ offset: 0, attentionMask: mask, hidden: o.outputHiddenStates ?? false },
        ...{ maps: o.outputAttentions ?? false, spikeMaps: o.outputSpikeMaps ?? false },
      });
      const res: WEOutput = { lastHiddenState: tf.div(t.counts, T) }; // [B, N, D]
      if (this.lmHead) {
        const logits = this.lmHead.forward(tf.reshape(t.counts, [B * N, D]), {
          ...{ scale: t.scale, divisor: T, maxCount: this.headMaxCount, cache: this.quantCache },
          ...(this.config.tie_word_embeddings ? { tied: this.embed.weight } : {}),
        }); // [B*N, V]
        res.logits = tf.reshape(logits, [B, N, this.config.vocab_size]); // [B, N, V]
      }
      if (this.classifier) {
        let pooled: Tensor; // [B, D] integer counts
        let divisor: Tensor | number = T;
        if (this.config.classifier_pooling === 'cls') {
          pooled = tf.reshape(tf.slice(t.counts, [0, 0, 0], [B, 1, D]), [B, D]);
        } else {
          const m = mask ? tf.cast(tf.notEqual(mask, 0), 'float32') : tf.ones([B, N]); // [B, N]
          pooled = tf.sum(tf.mul(t.counts, tf.expandDims(m, 2)), 1); // [B, D]
          divisor = tf.mul(tf.maximum(tf.sum(m, 1, true), 1), T); // [B, 1]
        }
        const maxCount = this.headMaxCount * (this.config.classifier_pooling === 'cls' ? 1 : N);
        const cache = this.quantCache;
        res.logits = this.classifier.forward(pooled, { scale: t.scale, divisor, maxCount, cache }); // [B, C]
        res.pooled = tf.div(pooled, divisor); // [B, D]
      }
      if (o.outputHiddenStates) res.hiddenStates = t.hidden;
      if (o.outputAttentions) res.attentions = t.maps;
      if (o.outputSpikeMaps) res.spikeMaps = t.spikeMaps;
      return res as unknown as tf.TensorContainer;
    });
    return out as unknown as WEOutput;
  }
}

/** Registry entry of `model_type: "we-spikingformer"`. */
export const WE_SPIKINGFORMER_SPEC: ModelSpec = {
  description:
    'WE-Spikingformer spiking encoder (WSSA winner-take-all attention; MLM / classification)',
  fromConfig: (config, source, o) => new WESpikingformer(config, { source, seed: o?.seed }),
  checkpoint: studentCheckpoint,
  // An MLM body under a new classification head: the classifier starts fresh.
  freshHeads: (config) =>
    studentHeadOf(config) === 'classification' ? [['classifier.weight', 'classifier.bias']] : [],
};
