// The GPT-2 config.json (Hugging Face `GPT2Config` keys and defaults) and the one
// name table between a `GPT2LMHeadModel` checkpoint and our parameter names.
// GPT-2 stores its projections as `Conv1D` weights `[in, out]`, the transpose of
// ours (`[out, in]`), so those rules carry `transpose`.
import type { JsonObject } from '../src/io/index.js';
import type { Activation } from './blocks.js';
import type { CheckpointTable, TensorRule } from './checkpoint.js';
import { ConfigReader } from './config.js';

/** The fields of a GPT-2 config.json this implementation reads (HF names). */
export interface GPT2Config {
  vocab_size: number;
  /** The context. Default 1024. (`n_ctx` is accepted as an old alias.) */
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  /** MLP width; `null` in the file means `4 * n_embd`. */
  n_inner: number;
  /** `gelu_new` (default), `gelu`, `relu` or `silu` (`gelu_pytorch_tanh` = `gelu_new`). */
  activation_function: Activation;
  /** Default 1e-5. */
  layer_norm_epsilon: number;
  /** Default true. */
  tie_word_embeddings: boolean;
  /** Divide scores by sqrt(d). Default true. */
  scale_attn_weights: boolean;
  /** Also divide layer i's scores by i + 1. Default false. */
  scale_attn_by_inverse_layer_idx: boolean;
  /** Normal init std of fresh weights. Default 0.02. */
  initializer_range: number;
}

const KNOWN = [
  'model_type',
  'architectures',
  'vocab_size',
  'n_positions',
  'n_ctx',
  'n_embd',
  'n_layer',
  'n_head',
  'n_inner',
  'activation_function',
  'layer_norm_epsilon',
  'tie_word_embeddings',
  'scale_attn_weights',
  'scale_attn_by_inverse_layer_idx',
  'initializer_range',
];

const ACTS = ['gelu_new', 'gelu_pytorch_tanh', 'gelu', 'relu', 'silu'] as const;

/**
 * Validate a GPT-2 config.json. Required: `vocab_size`, `n_embd`, `n_layer`,
 * `n_head`; the rest take HF defaults. Errors name `source` and the field.
 */
export function parseGPT2Config(
  raw: JsonObject,
  source = 'config.json',
): { config: GPT2Config; extras: JsonObject } {
  const r = new ConfigReader(raw, source, 'gpt2');
  const D = r.int('n_embd', { positive: true });
  const H = r.int('n_head', { positive: true });
  r.require(D % H === 0, 'n_embd', `must be divisible by n_head (${H})`);
  const ctx = r.int('n_ctx', { positive: true, default: 1024 });
  const act = r.oneOf('activation_function', ACTS, 'gelu_new');
  const config: GPT2Config = {
    vocab_size: r.int('vocab_size', { positive: true }),
    n_positions: r.int('n_positions', { positive: true, default: ctx }),
    n_embd: D,
    n_layer: r.int('n_layer', { positive: true }),
    n_head: H,
    n_inner: r.int('n_inner', { positive: true, default: 4 * D }),
    activation_function: act === 'gelu_pytorch_tanh' ? 'gelu_new' : act,
    layer_norm_epsilon: r.num('layer_norm_epsilon', { positive: true, default: 1e-5 }),
    tie_word_embeddings: r.bool('tie_word_embeddings', true),
    scale_attn_weights: r.bool('scale_attn_weights', true),
    scale_attn_by_inverse_layer_idx: r.bool('scale_attn_by_inverse_layer_idx', false),
    initializer_range: r.num('initializer_range', { positive: true, default: 0.02 }),
  };
  return { config, extras: r.extras(KNOWN) };
}

/** Rules for one name in both spellings: `transformer.` + name (saved), and bare (openai-community/gpt2). */
function both(ours: string, hf: string, transpose = false): TensorRule[] {
  return [
    { ours, hf: `transformer.${hf}`, transpose },
    { ours, hf, transpose },
  ];
}

/**
 * The `GPT2LMHeadModel` name table. Checkpoints with or without the
 * `transformer.` prefix load; saves use the prefix. The causal-mask buffers
 * (`attn.bias`, `attn.masked_bias`) of older files are skipped.
 */
export function gpt2Checkpoint(raw: JsonObject): CheckpointTable {
  const tied = raw.tie_word_embeddings !== false;
  const layer = (ours: string, hf: string, t = false) =>
    both(`layers.{i}.${ours}`, `h.{i}.${hf}`, t);
  const rules: TensorRule[] = [
    ...both('embed.weight', 'wte.weight'),
    ...both('pos_embed.weight', 'wpe.weight'),
    ...['weight', 'bias'].flatMap((p) => [
      ...layer(`attn_norm.${p}`, `ln_1.${p}`),
      ...layer(`attn.qkv.${p}`, `attn.c_attn.${p}`, p === 'weight'),
      ...layer(`attn.o.${p}`, `attn.c_proj.${p}`, p === 'weight'),
      ...layer(`mlp_norm.${p}`, `ln_2.${p}`),
      ...layer(`mlp.up.${p}`, `mlp.c_fc.${p}`, p === 'weight'),
      ...layer(`mlp.down.${p}`, `mlp.c_proj.${p}`, p === 'weight'),
      ...both(`norm.${p}`, `ln_f.${p}`),
    ]),
  ];
  if (!tied) rules.push({ ours: 'lm_head.weight', hf: 'lm_head.weight' });
  const buffers = ['h.{i}.attn.bias', 'h.{i}.attn.masked_bias'];
  return {
    rules,
    ignore: [
      ...buffers,
      ...buffers.map((b) => `transformer.${b}`),
      ...(tied ? ['lm_head.weight'] : []),
    ],
  };
}
