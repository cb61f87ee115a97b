// The LLaMA config.json (Hugging Face `LlamaConfig` keys and defaults) and the one
// name table between a `LlamaForCausalLM` checkpoint and our parameter names.
import type { JsonObject } from '../src/io/index.js';
import type { CheckpointTable, TensorRule } from './checkpoint.js';
import { ConfigReader } from './config.js';

/** The fields of a LLaMA config.json this implementation reads (HF names). */
export interface LlamaConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Default `num_attention_heads` (MHA). */
  num_key_value_heads: number;
  /** Default `hidden_size / num_attention_heads`. */
  head_dim: number;
  /** The context. Default 2048 (HF). */
  max_position_embeddings: number;
  /** Default 1e-6 (HF). */
  rms_norm_eps: number;
  /** Default 10000. */
  rope_theta: number;
  /** Default false (HF). */
  tie_word_embeddings: boolean;
  /** Biases on q, k, v, o. Default false. */
  attention_bias: boolean;
  /** Biases on gate, up, down. Default false. */
  mlp_bias: boolean;
  /** Only `silu` (SwiGLU) is LLaMA; others are accepted for variants. */
  hidden_act: 'silu' | 'gelu' | 'gelu_new' | 'relu';
  /** Normal init std of fresh weights. Default 0.02. */
  initializer_range: number;
}

const KNOWN = [
  'model_type',
  'architectures',
  'vocab_size',
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
  'num_key_value_heads',
  'head_dim',
  'max_position_embeddings',
  'rms_norm_eps',
  'rope_theta',
  'tie_word_embeddings',
  'attention_bias',
  'mlp_bias',
  'hidden_act',
  'initializer_range',
];

/**
 * Validate a LLaMA config.json. Required: `vocab_size`, `hidden_size`,
 * `intermediate_size`, `num_hidden_layers`, `num_attention_heads`; the rest take
 * HF defaults. Errors name `source` and the field. Returns the typed config and
 * the fields it does not read (kept for saving).
 */
export function parseLlamaConfig(
  raw: JsonObject,
  source = 'config.json',
): { config: LlamaConfig; extras: JsonObject } {
  const r = new ConfigReader(raw, source, 'llama');
  const H = r.int('num_attention_heads', { positive: true });
  const D = r.int('hidden_size', { positive: true });
  const Hkv = r.int('num_key_value_heads', { positive: true, default: H });
  r.require(H % Hkv === 0, 'num_key_value_heads', `must divide num_attention_heads (${H})`);
  if (r.raw('head_dim') === undefined) {
    r.require(D % H === 0, 'hidden_size', `must be divisible by num_attention_heads (${H})`);
  }
  const headDim = r.int('head_dim', { positive: true, default: D / H });
  r.require(headDim % 2 === 0, 'head_dim', 'must be even (RoPE rotates pairs)');
  r.unsupported('rope_scaling', 'only plain RoPE is implemented; remove it or set it to null');
  const tp = r.int('pretraining_tp', { default: 1, min: 1 });
  void tp; // a training-time detail of the original weights; the forward is the same
  const config: LlamaConfig = {
    vocab_size: r.int('vocab_size', { positive: true }),
    hidden_size: D,
    intermediate_size: r.int('intermediate_size', { positive: true }),
    num_hidden_layers: r.int('num_hidden_layers', { positive: true }),
    num_attention_heads: H,
    num_key_value_heads: Hkv,
    head_dim: headDim,
    max_position_embeddings: r.int('max_position_embeddings', { positive: true, default: 2048 }),
    rms_norm_eps: r.num('rms_norm_eps', { positive: true, default: 1e-6 }),
    rope_theta: r.num('rope_theta', { default: 10000, min: 1 }),
    tie_word_embeddings: r.bool('tie_word_embeddings', false),
    attention_bias: r.bool('attention_bias', false),
    mlp_bias: r.bool('mlp_bias', false),
    hidden_act: r.oneOf('hidden_act', ['silu', 'gelu', 'gelu_new', 'relu'], 'silu'),
    initializer_range: r.num('initializer_range', { positive: true, default: 0.02 }),
  };
  return { config, extras: r.extras(KNOWN) };
}

const layer = (ours: string, hf: string): TensorRule => ({
  ours: `layers.{i}.${ours}`,
  hf: `model.layers.{i}.${hf}`,
});

/**
 * The `LlamaForCausalLM` name table. `lm_head.weight` is read only when the
 * embeddings are not tied; a tied checkpoint that still stores it is accepted and
 * the copy skipped (as transformers does).
 */
export function llamaCheckpoint(raw: JsonObject): CheckpointTable {
  const tied = raw.tie_word_embeddings === true;
  const rules: TensorRule[] = [
    { ours: 'embed.weight', hf: 'model.embed_tokens.weight' },
    layer('attn_norm.weight', 'input_layernorm.weight'),
    ...['q', 'k', 'v', 'o'].flatMap((p) => [
      layer(`attn.${p}.weight`, `self_attn.${p}_proj.weight`),
      layer(`attn.${p}.bias`, `self_attn.${p}_proj.bias`),
    ]),
    layer('mlp_norm.weight', 'post_attention_layernorm.weight'),
    ...['gate', 'up', 'down'].flatMap((p) => [
      layer(`mlp.${p}.weight`, `mlp.${p}_proj.weight`),
      layer(`mlp.${p}.bias`, `mlp.${p}_proj.bias`),
    ]),
    { ours: 'norm.weight', hf: 'model.norm.weight' },
  ];
  if (!tied) rules.push({ ours: 'lm_head.weight', hf: 'lm_head.weight' });
  return {
    rules,
    ignore: ['model.layers.{i}.self_attn.rotary_emb.inv_freq', ...(tied ? ['lm_head.weight'] : [])],
  };
}
