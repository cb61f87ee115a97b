// BERT as Hugging Face computes it (transformers `models/bert/modeling_bert.py`):
// embeddings `LN(word + position + token_type)`; post-LN layers
// `h = LN(x + o(attn(x)))`, `y = LN(h + down(gelu(up(h))))` with bidirectional
// attention and a padding mask; then the head `architectures[0]` asks for:
// `BertModel` (pooler `tanh(W h[CLS] + b)`), `BertForMaskedLM` (transform
// `LN(gelu(W h + b))`, decoder tied to the word embeddings, own bias) or
// `BertForSequenceClassification` (pooler, then `classifier`). Dropout is an
// inference no-op and left out. Parameter names are ours (`layers.3.attn.q.weight`);
// bert-config.ts maps them to the checkpoint's.
import { tf } from '../src/tf.js';
import type { Tensor, Variable } from '../src/tf.js';
import { buildAttentionBias, SoftmaxAttention } from '../src/attention/index.js';
import { TransposeCache, matMulWeightT } from '../src/ops/index.js';
import { Embedding, LayerNorm, Linear, Module, deriveSeed } from '../src/layers/index.js';
import type { JsonObject } from '../src/io/index.js';
import type { ForwardOptions } from '../src/generate/types.js';
import { activate, DenseMLP } from './blocks.js';
import { bertCheckpoint, bertHead, parseBertConfig } from './bert-config.js';
import type { BertConfig, BertHead } from './bert-config.js';
import { checkIds } from './causal-lm.js';
import type { ModelSpec } from './types.js';

/** Forward options of BERT. */
export interface BertForwardOptions extends ForwardOptions {
  /** `[B, N]` 1 = token, 0 = padding. */
  attentionMask?: Tensor | null;
  /** `[B, N]` int32 segment ids (sentence A = 0, B = 1); default all 0. */
  tokenTypeIds?: Tensor | null;
}

/** Output of `BertModel.forward`. */
export interface BertOutput {
  /** `[B, N, D]`. */
  lastHiddenState: Tensor;
  /** `[B, D]` pooled `[CLS]` (heads `none` and `classification`). */
  pooled?: Tensor;
  /** MLM `[B, N, V]` or classification `[B, num_labels]`. */
  logits?: Tensor;
  /** `L + 1` tensors `[B, N, D]` (embeddings first), when asked for. */
  hiddenStates?: Tensor[];
  /** `L` tensors `[B, H, N, N]`, when asked for. */
  attentions?: Tensor[];
}

const linear = (c: BertConfig, inF: number, outF: number, seed: number) =>
  new Linear({ in_features: inF, out_features: outF, init_std: c.initializer_range, seed });

/** One post-LN encoder layer: `attn`, `attn_norm`, `mlp`, `mlp_norm`. */
export class BertLayer extends Module {
  readonly attn: SoftmaxAttention;
  readonly attnNorm: LayerNorm;
  readonly mlp: DenseMLP;
  readonly mlpNorm: LayerNorm;
  private readonly cfg: BertConfig;

  constructor(c: BertConfig, seed: number) {
    super();
    this.cfg = c;
    const [D, eps] = [c.hidden_size, c.layer_norm_eps];
    this.attn = this.addModule(
      'attn',
      new SoftmaxAttention({
        ...{ hidden_size: D, num_heads: c.num_attention_heads, qkv_bias: true, out_bias: true },
        ...{ causal: false, init_std: c.initializer_range, seed: deriveSeed(seed, 'attn') },
      }),
    );
    this.attnNorm = this.addModule('attn_norm', new LayerNorm({ normalized_shape: D, eps }));
    this.mlp = this.addModule(
      'mlp',
      new DenseMLP({
        ...{ hidden_size: D, intermediate_size: c.intermediate_size, bias: true },
        ...{ act: c.hidden_act, init_std: c.initializer_range, seed: deriveSeed(seed, 'mlp') },
      }),
    );
    this.mlpNorm = this.addModule('mlp_norm', new LayerNorm({ normalized_shape: D, eps }));
  }

  getConfig(): BertConfig {
    return { ...this.cfg };
  }

  /** x: `[B, N, D]` -> `[B, N, D]` (+ attention map `[B, H, N, N]`). */
  forward(
    x: Tensor,
    bias: Tensor | null,
    outputAttentions: boolean,
  ): { x: Tensor; weights?: Tensor } {
    const a = this.attn.forward(x, { bias, outputAttentions }); // output [B, N, D]
    const h = this.attnNorm.forward(tf.add(x, a.output)); // [B, N, D]
    const y = this.mlpNorm.forward(tf.add(h, this.mlp.forward(h))); // [B, N, D]
    return a.weights ? { x: y, weights: a.weights } : { x: y };
  }
}

/** The MLM head: `dense`, `norm`, and the output `bias` `[V]`; the decoder is the word embedding. */
export class BertMLMHead extends Module {
  readonly dense: Linear;
  readonly norm: LayerNorm;
  readonly bias: Variable;
  private readonly cfg: BertConfig;

  constructor(c: BertConfig, seed: number) {
    super();
    this.cfg = c;
    this.dense = this.addModule('dense', linear(c, c.hidden_size, c.hidden_size, seed));
    this.norm = this.addModule(
      'norm',
      new LayerNorm({ normalized_shape: c.hidden_size, eps: c.layer_norm_eps }),
    );
    this.bias = this.addParameter('bias', tf.zeros([c.vocab_size]));
  }

  getConfig(): BertConfig {
    return { ...this.cfg };
  }

  /** h: `[M, D]` -> logits `[M, V]` against the word embeddings `[V, D]`. */
  forward(h: Tensor, words: Tensor, cache: TransposeCache | null): Tensor {
    const t = this.norm.forward(activate(this.dense.forward(h), this.cfg.hidden_act)); // [M, D]
    return tf.add(matMulWeightT(t, words, cache), this.bias); // [M, V]
  }
}

/** A BERT encoder with the head of its config (`none`, `mlm` or `classification`). */
export class BertModel extends Module {
  readonly modelType = 'bert';
  readonly config: BertConfig;
  readonly head: BertHead;
  readonly embed: Embedding;
  readonly posEmbed: Embedding;
  readonly typeEmbed: Embedding;
  readonly embedNorm: LayerNorm;
  readonly layers: BertLayer[];
  readonly pooler: Linear | null;
  readonly mlm: BertMLMHead | null;
  readonly classifier: Linear | null;
  private readonly headT = new TransposeCache();
  private readonly extras: JsonObject;

  /** Build from a config.json object (validated; errors name `source` and the field). */
  constructor(raw: JsonObject, options: { seed?: number; source?: string } = {}) {
    super();
    const { config: c, extras } = parseBertConfig(raw, options.source);
    const seed = options.seed ?? 0;
    [this.config, this.extras] = [c, extras];
    this.head = bertHead(raw, options.source);
    const emb = (name: string, n: number) =>
      this.addModule(
        name,
        new Embedding({
          ...{ num_embeddings: n, embedding_dim: c.hidden_size },
          ...{ init_std: c.initializer_range, seed: deriveSeed(seed, name) },
        }),
      );
    this.embed = emb('embed', c.vocab_size);
    this.posEmbed = emb('pos_embed', c.max_position_embeddings);
    this.typeEmbed = emb('type_embed', c.type_vocab_size);
    this.embedNorm = this.addModule(
      'embed_norm',
      new LayerNorm({ normalized_shape: c.hidden_size, eps: c.layer_norm_eps }),
    );
    this.layers = Array.from({ length: c.num_hidden_layers }, (_, i) =>
      this.addModule(`layers.${i}`, new BertLayer(c, deriveSeed(seed, `layers.${i}`))),
    );
    const D = c.hidden_size;
    this.pooler =
      this.head === 'mlm'
        ? null
        : this.addModule('pooler', linear(c, D, D, deriveSeed(seed, 'pooler')));
    this.mlm =
      this.head === 'mlm'
        ? this.addModule('mlm', new BertMLMHead(c, deriveSeed(seed, 'mlm')))
        : null;
    this.classifier =
      this.head === 'classification'
        ? this.addModule('classifier', linear(c, D, c.num_labels, deriveSeed(seed, 'classifier')))
        : null;
  }

  /** The config.json that rebuilds this model (unread fields of the source kept). */
  getConfig(): JsonObject & { model_type: string } {
    const arch = {
      none: 'BertModel',
      mlm: 'BertForMaskedLM',
      classification: 'BertForSequenceClassification',
    };
    return { ...this.extras, model_type: 'bert', architectures: [arch[this.head]], ...this.config };
  }

  /** Encode `ids` `[B, N]` int32 and apply the head. */
  forward(ids: Tensor, o: BertForwardOptions = {}): BertOutput {
    const [B, N] = checkIds(ids, this.config.max_position_embeddings, 'bert forward');
    const D = this.config.hidden_size;
    const out = tf.tidy(() => {
      const types = o.tokenTypeIds
        ? this.typeEmbed.forward(o.tokenTypeIds) // [B, N, D]
        : tf.slice(this.typeEmbed.weight, [0, 0], [1, D]); // [1, D]
      const pos = tf.slice(this.posEmbed.weight, [0, 0], [N, D]); // [N, D]
      let x = this.embedNorm.forward(tf.add(tf.add(this.embed.forward(ids), pos), types)); // [B, N, D]
      const bias = buildAttentionBias({
        ...{ queries: N, keys: N, causal: false, padKeys: true },
        attentionMask: o.attentionMask ?? null,
      }); // [B, 1, 1, Np] | [1, Np] | null
      const res: BertOutput = { lastHiddenState: x, hiddenStates: [x], attentions: [] };
      for (const layer of this.layers) {
        const r = layer.forward(x, bias, o.outputAttentions ?? false);
        x = r.x; // [B, N, D]
        res.hiddenStates?.push(x);
        if (r.weights) res.attentions?.push(r.weights);
      }
      res.lastHiddenState = x;
      if (this.pooler) {
        const cls = tf.reshape(tf.slice(x, [0, 0, 0], [B, 1, D]), [B, D]); // [B, D]
        res.pooled = tf.tanh(this.pooler.forward(cls)); // [B, D]
      }
      if (this.classifier) res.logits = this.classifier.forward(res.pooled as Tensor); // [B, C]
      if (this.mlm) {
        const cache = this.training ? null : this.headT;
        const logits = this.mlm.forward(tf.reshape(x, [B * N, D]), this.embed.weight, cache); // [B*N, V]
        res.logits = tf.reshape(logits, [B, N, this.config.vocab_size]); // [B, N, V]
      }
      if (!o.outputHiddenStates) delete res.hiddenStates;
      if (!o.outputAttentions) delete res.attentions;
      return res as unknown as tf.TensorContainer;
    });
    return out as unknown as BertOutput;
  }

  /** Free the weights and the stored decoder transpose. */
  override dispose(): void {
    this.headT.dispose();
    super.dispose();
  }
}

/** Registry entry of `model_type: "bert"`. */
export const BERT_SPEC: ModelSpec = {
  description: 'BERT encoder (HF BertModel / BertForMaskedLM / BertForSequenceClassification)',
  fromConfig: (config, source, o) => new BertModel(config, { source, seed: o?.seed }),
  checkpoint: bertCheckpoint,
  // A body saved with another head (an MLM folder has no pooler and no classifier, as
  // transformers' BertForMaskedLM saves it): the pooler and the classifier start fresh.
  freshHeads: (config) => {
    const head = bertHead(config);
    const pair = (n: string) => [`${n}.weight`, `${n}.bias`];
    if (head === 'classification') return [pair('pooler'), pair('classifier')];
    return head === 'none' ? [pair('pooler')] : [];
  },
};
