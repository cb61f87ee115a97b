// GPT-2 as Hugging Face `GPT2LMHeadModel` computes it (transformers
// `models/gpt2/modeling_gpt2.py`; nanoGPT `model.py` is the same network):
// `x = wte[ids] + wpe[positions]`; per block `x += c_proj(attn(ln_1(x)))` with a
// fused `c_attn` and causal softmax, `x += c_proj(gelu_new(c_fc(ln_2(x))))`;
// `ln_f`; logits against the tied `wte`. Learned absolute positions live here,
// offset by the cached length when decoding. Parameter names are ours
// (`layers.3.attn.qkv.weight`, `[out, in]`); gpt2-config.ts maps them to the
// checkpoint's `Conv1D` `[in, out]` tensors.
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { buildAttentionBias, SoftmaxAttention } from '../src/attention/index.js';
import { TransposeCache, matMulWeightT } from '../src/ops/index.js';
import type { KVCacheLayer, KVCache } from '../src/attention/index.js';
import { Embedding, LayerNorm, Linear, Module, deriveSeed } from '../src/layers/index.js';
import type { JsonObject } from '../src/io/index.js';
import type { LMOutput } from '../src/generate/types.js';
import { DenseMLP } from './blocks.js';
import { KVCacheCausalLM } from './causal-lm.js';
import type { CausalForwardOptions } from './causal-lm.js';
import { gpt2Checkpoint, parseGPT2Config } from './gpt2-config.js';
import type { GPT2Config } from './gpt2-config.js';
import type { ModelSpec } from './types.js';

/** One pre-LN GPT-2 block: `attn_norm`, `attn` (fused qkv), `mlp_norm`, `mlp`. */
export class GPT2Block extends Module {
  readonly attnNorm: LayerNorm;
  readonly attn: SoftmaxAttention;
  readonly mlpNorm: LayerNorm;
  readonly mlp: DenseMLP;
  private readonly cfg: GPT2Config;

  constructor(c: GPT2Config, index: number, seed: number) {
    super();
    this.cfg = c;
    const D = c.n_embd;
    const eps = c.layer_norm_epsilon;
    const d = D / c.n_head;
    let scale = c.scale_attn_weights ? 1 / Math.sqrt(d) : 1;
    if (c.scale_attn_by_inverse_layer_idx) scale /= index + 1;
    this.attnNorm = this.addModule('attn_norm', new LayerNorm({ normalized_shape: D, eps }));
    this.attn = this.addModule(
      'attn',
      new SoftmaxAttention({
        ...{ hidden_size: D, num_heads: c.n_head, fused_qkv: true, qkv_bias: true },
        ...{ out_bias: true, causal: true, scale, init_std: c.initializer_range },
        seed: deriveSeed(seed, 'attn'),
      }),
    );
    this.mlpNorm = this.addModule('mlp_norm', new LayerNorm({ normalized_shape: D, eps }));
    this.mlp = this.addModule(
      'mlp',
      new DenseMLP({
        ...{ hidden_size: D, intermediate_size: c.n_inner, bias: true },
        ...{ act: c.activation_function, init_std: c.initializer_range },
        seed: deriveSeed(seed, 'mlp'),
      }),
    );
  }

  getConfig(): GPT2Config {
    return { ...this.cfg };
  }

  /** x: `[B, N, D]` -> `[B, N, D]` (+ attention map `[B, H, N, Nk]`). */
  forward(
    x: Tensor,
    ctx: { bias: Tensor | null; cache: KVCacheLayer | null; outputAttentions: boolean },
  ): { x: Tensor; weights?: Tensor } {
    const a = this.attn.forward(this.attnNorm.forward(x), ctx); // output [B, N, D]
    const h = tf.add(x, a.output); // [B, N, D]
    const y = tf.add(h, this.mlp.forward(this.mlpNorm.forward(h))); // [B, N, D]
    return a.weights ? { x: y, weights: a.weights } : { x: y };
  }
}

/** `GPT2LMHeadModel`: a `CausalLM` with a KV-cache decoding state. */
export class GPT2LMHeadModel extends KVCacheCausalLM {
  readonly modelType = 'gpt2';
  readonly config: GPT2Config;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly embed: Embedding;
  readonly posEmbed: Embedding;
  readonly layers: GPT2Block[];

  readonly norm: LayerNorm;
  /** Null when the embeddings are tied (the default). */
  readonly lmHead: Linear | null;
  private readonly headT = new TransposeCache();
  private readonly extras: JsonObject;

  /** Build from a config.json object (validated; errors name `source` and the field). */
  constructor(raw: JsonObject, options: { seed?: number; source?: string } = {}) {
    super();
    const { config: c, extras } = parseGPT2Config(raw, options.source);
    const seed = options.seed ?? 0;
    [this.config, this.extras] = [c, extras];
    this.vocabSize = c.vocab_size;
    this.maxPositions = c.n_positions;
    const emb = (name: string, n: number) =>
      this.addModule(
        name,
        new Embedding({
          ...{ num_embeddings: n, embedding_dim: c.n_embd },
          ...{ init_std: c.initializer_range, seed: deriveSeed(seed, name) },
        }),
      );
    this.embed = emb('embed', c.vocab_size);
    this.posEmbed = emb('pos_embed', c.n_positions);
    this.layers = Array.from({ length: c.n_layer }, (_, i) =>
      this.addModule(`layers.${i}`, new GPT2Block(c, i, deriveSeed(seed, `layers.${i}`))),
    );
    this.norm = this.addModule(
      'norm',
      new LayerNorm({ normalized_shape: c.n_embd, eps: c.layer_norm_epsilon }),
    );
    this.lmHead = c.tie_word_embeddings
      ? null
      : this.addModule(
          'lm_head',
          new Linear({
            ...{ in_features: c.n_embd, out_features: c.vocab_size, bias: false },
            ...{ init_std: c.initializer_range, seed: deriveSeed(seed, 'lm_head') },
          }),
        );
  }

  /** Number of decoder layers (one KV-cache slot each). */
  protected get numLayers(): number {
    return this.layers.length;
  }

  /** The config.json that rebuilds this model (unread fields of the source kept). */
  getConfig(): JsonObject & { model_type: string } {
    return {
      ...this.extras,
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      ...this.config,
    };
  }

  protected run(
    ids: Tensor,
    offset: number,
    cache: KVCache | null,
    o: CausalForwardOptions,
  ): LMOutput {
    const [B, N] = ids.shape as [number, number];
    const D = this.config.n_embd;
    const pos = o.positionIds
      ? this.posEmbed.forward(o.positionIds) // [B, N, D]
      : tf.slice(this.posEmbed.weight, [offset, 0], [N, D]); // [N, D]
    let x = tf.add(this.embed.forward(ids), pos); // [B, N, D]
    const bias = buildAttentionBias({
      ...{ queries: N, keys: offset + N, offset, causal: true, padKeys: true },
      attentionMask: o.attentionMask ?? null,
    }); // [N, Np] | [B, 1, N, Np] | [1, Np] | null
    const hidden: Tensor[] = [x];
    const attentions: Tensor[] = [];
    this.layers.forEach((layer, i) => {
      const r = layer.forward(x, {
        bias,
        cache: cache ? cache.layer(i) : null,
        outputAttentions: o.outputAttentions ?? false,
      });
      x = r.x; // [B, N, D]
      if (i < this.layers.length - 1) hidden.push(x);
      if (r.weights) attentions.push(r.weights);
    });
    x = this.norm.forward(x); // [B, N, D]
    hidden.push(x);
    const x2 = tf.reshape(x, [B * N, D]); // [B*N, D]
    const logits = tf.reshape(
      this.lmHead
        ? this.lmHead.forward(x2)
        : matMulWeightT(x2, this.embed.weight, this.training ? null : this.headT),
      [B, N, this.vocabSize],
    ); // [B, N, V]
    const out: LMOutput = { logits };
    if (o.outputHiddenStates) out.hiddenStates = hidden;
    if (o.outputAttentions) out.attentions = attentions;
    return out;
  }

  /** Free the weights and the stored head transpose. */
  override dispose(): void {
    this.headT.dispose();
    super.dispose();
  }
}

/** Registry entry of `model_type: "gpt2"`. */
export const GPT2_SPEC: ModelSpec = {
  description: 'GPT-2 decoder (HF GPT2LMHeadModel): learned positions, LayerNorm, gelu_new',
  fromConfig: (config, source, o) => new GPT2LMHeadModel(config, { source, seed: o?.seed }),
  checkpoint: gpt2Checkpoint,
};
