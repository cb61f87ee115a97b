// LLaMA as Hugging Face `LlamaForCausalLM` computes it (transformers
// `models/llama/modeling_llama.py`; the same network as llama2.c `run.c` once the
// q/k rows are reordered for rotate-half RoPE): token embedding; per layer
// `x += o(attn(rope(q), rope(k), v))` on `RMSNorm(x)` and `x += down(silu(gate) * up)`
// on `RMSNorm(x)`; final RMSNorm; `lm_head` or the tied embedding. Grouped-query
// attention, KV-cache decoding, hidden states and attention maps on request.
// Parameter names are ours (`layers.3.attn.q.weight`); llama-config.ts maps them
// to the checkpoint's.
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { buildAttentionBias, RotaryEmbedding, SoftmaxAttention } from '../src/attention/index.js';
import { TransposeCache, matMulWeightT } from '../src/ops/index.js';
import type { KVCacheLayer, RopeAngles, KVCache } from '../src/attention/index.js';
import { Embedding, Linear, Module, RMSNorm, deriveSeed } from '../src/layers/index.js';
import type { JsonObject } from '../src/io/index.js';
import type { LMOutput } from '../src/generate/types.js';
import { GatedMLP } from './blocks.js';
import { KVCacheCausalLM } from './causal-lm.js';
import type { CausalForwardOptions } from './causal-lm.js';
import { llamaCheckpoint, parseLlamaConfig } from './llama-config.js';
import type { LlamaConfig } from './llama-config.js';
import type { ModelSpec } from './types.js';

/** Forward options of LLaMA beyond the `CausalLM` ones. */
/** Forward options of LLaMA (positions are RoPE positions). */
export type LlamaForwardOptions = CausalForwardOptions;

interface LayerContext {
  rotary: RopeAngles;
  bias: Tensor | null;
  cache: KVCacheLayer | null;
  outputAttentions: boolean;
}

/** One pre-norm decoder layer: `attn_norm`, `attn`, `mlp_norm`, `mlp`. */
export class LlamaDecoderLayer extends Module {
  readonly attnNorm: RMSNorm;
  readonly attn: SoftmaxAttention;
  readonly mlpNorm: RMSNorm;
  readonly mlp: GatedMLP;
  private readonly cfg: LlamaConfig;

  constructor(c: LlamaConfig, seed: number) {
    super();
    this.cfg = c;
    const D = c.hidden_size;
    const eps = c.rms_norm_eps;
    this.attnNorm = this.addModule('attn_norm', new RMSNorm({ normalized_shape: D, eps }));
    this.attn = this.addModule(
      'attn',
      new SoftmaxAttention({
        hidden_size: D,
        num_heads: c.num_attention_heads,
        num_kv_heads: c.num_key_value_heads,
        head_dim: c.head_dim,
        qkv_bias: c.attention_bias,
        out_bias: c.attention_bias,
        causal: true,
        init_std: c.initializer_range,
        seed: deriveSeed(seed, 'attn'),
      }),
    );
    this.mlpNorm = this.addModule('mlp_norm', new RMSNorm({ normalized_shape: D, eps }));
    this.mlp = this.addModule(
      'mlp',
      new GatedMLP({
        hidden_size: D,
        intermediate_size: c.intermediate_size,
        bias: c.mlp_bias,
        act: c.hidden_act,
        init_std: c.initializer_range,
        seed: deriveSeed(seed, 'mlp'),
      }),
    );
  }

  getConfig(): LlamaConfig {
    return { ...this.cfg };
  }

  /** x: `[B, N, D]` -> `[B, N, D]` (+ attention map `[B, H, N, Nk]`). */
  forward(x: Tensor, ctx: LayerContext): { x: Tensor; weights?: Tensor } {
    const a = this.attn.forward(this.attnNorm.forward(x), {
      rotary: ctx.rotary,
      bias: ctx.bias,
      cache: ctx.cache,
      outputAttentions: ctx.outputAttentions,
    }); // output [B, N, D]
    const h = tf.add(x, a.output); // [B, N, D]
    const y = tf.add(h, this.mlp.forward(this.mlpNorm.forward(h))); // [B, N, D]
    return a.weights ? { x: y, weights: a.weights } : { x: y };
  }
}

/** `LlamaForCausalLM`: a `CausalLM` with a KV-cache decoding state. */
export class LlamaForCausalLM extends KVCacheCausalLM {
  readonly modelType = 'llama';
  readonly config: LlamaConfig;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly embed: Embedding;
  readonly layers: LlamaDecoderLayer[];

  readonly norm: RMSNorm;
  /** Null when the embeddings are tied. */
  readonly lmHead: Linear | null;
  private readonly rotary: RotaryEmbedding;
  /** The tied head's `[D, V]` transpose, kept while in eval mode (see src/ops/transpose-cache.ts). */
  private readonly headT = new TransposeCache();
  private readonly extras: JsonObject;

  /** Build from a config.json object (validated; errors name `source` and the field). */
  constructor(raw: JsonObject, options: { seed?: number; source?: string } = {}) {
    super();
    const { config: c, extras } = parseLlamaConfig(raw, options.source);
    const seed = options.seed ?? 0;
    this.config = c;
    this.extras = extras;
    this.vocabSize = c.vocab_size;
    this.maxPositions = c.max_position_embeddings;
    this.embed = this.addModule(
      'embed',
      new Embedding({
        num_embeddings: c.vocab_size,
        embedding_dim: c.hidden_size,
        init_std: c.initializer_range,
        seed: deriveSeed(seed, 'embed'),
      }),
    );
    this.layers = Array.from({ length: c.num_hidden_layers }, (_, i) =>
      this.addModule(`layers.${i}`, new LlamaDecoderLayer(c, deriveSeed(seed, `layers.${i}`))),
    );
    this.norm = this.addModule(
      'norm',
      new RMSNorm({ normalized_shape: c.hidden_size, eps: c.rms_norm_eps }),
    );
    this.lmHead = c.tie_word_embeddings
      ? null
      : this.addModule(
          'lm_head',
          new Linear({
            in_features: c.hidden_size,
            out_features: c.vocab_size,
            bias: false,
            init_std: c.initializer_range,
            seed: deriveSeed(seed, 'lm_head'),
          }),
        );
    this.rotary = new RotaryEmbedding({
      head_dim: c.head_dim,
      max_positions: c.max_position_embeddings,
      theta: c.rope_theta,
      style: 'rotate_half',
    });
  }

  /** Number of decoder layers (one KV-cache slot each). */
  protected get numLayers(): number {
    return this.layers.length;
  }

  /** The config.json that rebuilds this model (unread fields of the source kept). */
  getConfig(): JsonObject & { model_type: string } {
    return {
      ...this.extras,
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      ...this.config,
    };
  }

  protected run(
    ids: Tensor,
    offset: number,
    cache: KVCache | null,
    o: CausalForwardOptions,
  ): LMOutput {
    const N = ids.shape[1] as number;
    let x = this.embed.forward(ids); // [B, N, D]
    const rotary = o.positionIds
      ? this.rotary.anglesAt(o.positionIds)
      : this.rotary.angles(offset, N); // [N, d] | [B, 1, N, d]
    const bias = buildAttentionBias({
      queries: N,
      keys: offset + N,
      offset,
      causal: true,
      attentionMask: o.attentionMask ?? null,
      padKeys: true,
    }); // [N, Np] | [B, 1, N, Np] | [1, Np] | null, Np = keys padded (mask.ts)
    const hidden: Tensor[] = [x];
    const attentions: Tensor[] = [];
    this.layers.forEach((layer, i) => {
      const r = layer.forward(x, {
        rotary,
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
    const logits = this.lmHead
      ? this.lmHead.forward(x) // [B, N, V]
      : tf.reshape(
          matMulWeightT(
            tf.reshape(x, [-1, this.config.hidden_size]),
            this.embed.weight,
            this.training ? null : this.headT,
          ),
          [...(ids.shape as number[]), this.vocabSize],
        ); // [B, N, V]
    const out: LMOutput = { logits };
    if (o.outputHiddenStates) out.hiddenStates = hidden;
    if (o.outputAttentions) out.attentions = attentions;
    return out;
  }

  /** Free the weights and the RoPE tables. */
  override dispose(): void {
    this.rotary.dispose();
    this.headT.dispose();
    super.dispose();
  }
}

/** Registry entry of `model_type: "llama"`. */
export const LLAMA_SPEC: ModelSpec = {
  description: 'LLaMA decoder (HF LlamaForCausalLM): RMSNorm, RoPE, GQA, SwiGLU',
  fromConfig: (config, source, o) => new LlamaForCausalLM(config, { source, seed: o?.seed }),
  checkpoint: llamaCheckpoint,
};
