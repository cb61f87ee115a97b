// The BERT config.json (Hugging Face `BertConfig` keys and defaults), the head
// chosen by `architectures`, and the one name table between BERT checkpoints
// (`BertModel`, `BertForMaskedLM`, `BertForPreTraining`,
// `BertForSequenceClassification`) and our parameter names.
import { ConfigError } from '../src/errors.js';
import type { JsonObject } from '../src/io/index.js';
import type { Activation } from './blocks.js';
import type { CheckpointTable, TensorRule } from './checkpoint.js';
import { ConfigReader } from './config.js';

/** Heads on the encoder, by `architectures[0]`. */
export const BERT_HEADS = {
  BertModel: 'none',
  BertForMaskedLM: 'mlm',
  BertForPreTraining: 'mlm',
  BertForSequenceClassification: 'classification',
} as const;
/** `none` (encoder + pooler), `mlm` or `classification`. */
export type BertHead = (typeof BERT_HEADS)[keyof typeof BERT_HEADS];

/** The fields of a BERT config.json this implementation reads (HF names). */
export interface BertConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  /** Default `gelu` (exact erf form). */
  hidden_act: Activation;
  /** Default 512. */
  max_position_embeddings: number;
  /** Default 2. */
  type_vocab_size: number;
  /** Default 1e-12. */
  layer_norm_eps: number;
  /** Classification labels: `num_labels`, else the size of `id2label`, else 2. */
  num_labels: number;
  /** Normal init std of fresh weights. Default 0.02. */
  initializer_range: number;
}

const KNOWN = [
  'model_type',
  'vocab_size',
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'hidden_act',
  'max_position_embeddings',
  'type_vocab_size',
  'layer_norm_eps',
  'num_labels',
  'initializer_range',
];

/** The head a BERT config asks for (`architectures[0]`; none given = `BertModel`). */
export function bertHead(raw: JsonObject, source = 'config.json'): BertHead {
  const arch = Array.isArray(raw.architectures) ? raw.architectures[0] : undefined;
  if (arch === undefined) return 'none';
  const head = Object.hasOwn(BERT_HEADS, String(arch))
    ? BERT_HEADS[String(arch) as keyof typeof BERT_HEADS]
    : undefined;
  if (!head) {
    throw new ConfigError(
      `${source}: "architectures" ${JSON.stringify(arch)} is not supported for bert; use one of ${Object.keys(BERT_HEADS).join(', ')}`,
    );
  }
  return head;
}

/**
 * Validate a BERT config.json. Required: `vocab_size`, `hidden_size`,
 * `num_hidden_layers`, `num_attention_heads`, `intermediate_size`.
 */
export function parseBertConfig(
  raw: JsonObject,
  source = 'config.json',
): { config: BertConfig; extras: JsonObject } {
  const r = new ConfigReader(raw, source, 'bert');
  const D = r.int('hidden_size', { positive: true });
  const H = r.int('num_attention_heads', { positive: true });
  r.require(D % H === 0, 'hidden_size', `must be divisible by num_attention_heads (${H})`);
  const pet = r.oneOf('position_embedding_type', ['absolute'], 'absolute');
  void pet; // relative position types are not implemented
  r.require(r.raw('is_decoder') !== true, 'is_decoder', 'must be false (encoder only)');
  const id2label = r.raw('id2label');
  const labels = typeof id2label === 'object' && id2label ? Object.keys(id2label).length : 2;
  const config: BertConfig = {
    vocab_size: r.int('vocab_size', { positive: true }),
    hidden_size: D,
    num_hidden_layers: r.int('num_hidden_layers', { positive: true }),
    num_attention_heads: H,
    intermediate_size: r.int('intermediate_size', { positive: true }),
    hidden_act: r.oneOf('hidden_act', ['gelu', 'gelu_new', 'relu', 'silu'], 'gelu'),
    max_position_embeddings: r.int('max_position_embeddings', { positive: true, default: 512 }),
    type_vocab_size: r.int('type_vocab_size', { positive: true, default: 2 }),
    layer_norm_eps: r.num('layer_norm_eps', { positive: true, default: 1e-12 }),
    num_labels: r.int('num_labels', { positive: true, default: labels }),
    initializer_range: r.num('initializer_range', { positive: true, default: 0.02 }),
  };
  return { config, extras: r.extras(KNOWN) };
}

/** Rules for an encoder name with and without the `bert.` prefix (saves use the prefix). */
function both(ours: string, hf: string): TensorRule[] {
  return [
    { ours, hf: `bert.${hf}` },
    { ours, hf },
  ];
}

/** A LayerNorm under both the current (`weight`/`bias`) and TF-era (`gamma`/`beta`) names. */
function norm(ours: string, hf: string): TensorRule[] {
  return [
    ...both(`${ours}.weight`, `${hf}.weight`),
    ...both(`${ours}.bias`, `${hf}.bias`),
    ...both(`${ours}.weight`, `${hf}.gamma`),
    ...both(`${ours}.bias`, `${hf}.beta`),
  ];
}

/** Weight and bias of an encoder linear layer (both spellings). */
const lin = (ours: string, hf: string) =>
  ['weight', 'bias'].flatMap((p) => both(`${ours}.${p}`, `${hf}.${p}`));

/** Weight and bias of a head layer (head names never carry the `bert.` prefix). */
const head = (ours: string, hf: string): TensorRule[] =>
  ['weight', 'bias'].map((p) => ({ ours: `${ours}.${p}`, hf: `${hf}.${p}` }));

/** Head tensors a config does not use, skipped on load. */
const MLM_NAMES = [
  'cls.predictions.bias',
  'cls.predictions.decoder.weight',
  'cls.predictions.decoder.bias',
  'cls.predictions.transform.dense.weight',
  'cls.predictions.transform.dense.bias',
  'cls.predictions.transform.LayerNorm.weight',
  'cls.predictions.transform.LayerNorm.bias',
];
const POOLER_NAMES = ['weight', 'bias'].flatMap((p) => [
  `bert.pooler.dense.${p}`,
  `pooler.dense.${p}`,
]);

/**
 * The BERT name table for the head `raw` asks for. The MLM decoder weight is the
 * tied word embedding and its bias a copy of `cls.predictions.bias`, so both are
 * skipped when present; so are the buffers and the heads this config does not use.
 */
export function bertCheckpoint(raw: JsonObject): CheckpointTable {
  const kind = bertHead(raw);
  const L = 'encoder.layer.{i}';
  const rules: TensorRule[] = [
    ...both('embed.weight', 'embeddings.word_embeddings.weight'),
    ...both('pos_embed.weight', 'embeddings.position_embeddings.weight'),
    ...both('type_embed.weight', 'embeddings.token_type_embeddings.weight'),
    ...norm('embed_norm', 'embeddings.LayerNorm'),
    ...lin('layers.{i}.attn.q', `${L}.attention.self.query`),
    ...lin('layers.{i}.attn.k', `${L}.attention.self.key`),
    ...lin('layers.{i}.attn.v', `${L}.attention.self.value`),
    ...lin('layers.{i}.attn.o', `${L}.attention.output.dense`),
    ...norm('layers.{i}.attn_norm', `${L}.attention.output.LayerNorm`),
    ...lin('layers.{i}.mlp.up', `${L}.intermediate.dense`),
    ...lin('layers.{i}.mlp.down', `${L}.output.dense`),
    ...norm('layers.{i}.mlp_norm', `${L}.output.LayerNorm`),
  ];
  const ignore = [
    'embeddings.position_ids',
    'bert.embeddings.position_ids',
    'cls.seq_relationship.weight',
    'cls.seq_relationship.bias',
  ];
  if (kind === 'mlm') {
    rules.push(
      ...head('mlm.dense', 'cls.predictions.transform.dense'),
      ...head('mlm.norm', 'cls.predictions.transform.LayerNorm'),
      { ours: 'mlm.norm.weight', hf: 'cls.predictions.transform.LayerNorm.gamma' },
      { ours: 'mlm.norm.bias', hf: 'cls.predictions.transform.LayerNorm.beta' },
      { ours: 'mlm.bias', hf: 'cls.predictions.bias' },
    );
    ignore.push('cls.predictions.decoder.weight', 'cls.predictions.decoder.bias', ...POOLER_NAMES);
  } else {
    rules.push(...lin('pooler', 'pooler.dense'));
    ignore.push(...MLM_NAMES);
  }
  if (kind === 'classification') rules.push(...head('classifier', 'classifier'));
  return { rules, ignore };
}
