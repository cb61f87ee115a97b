// Presets of the spiking students and their checkpoint name table.
// Sizes are OURS [P]: `small` is the toolkit size of methods-language.md 1(d) (D 256,
// L 4, H 4, MLP 4D) with a 4096-token vocabulary and the 1(d) context (128 for MLM, 512
// causal); `tiny` is for tests (D 32, L 2, H 2, T 2 for spiking neurons, V 64, N 32).
// A student's tensors keep our names in its own folder (`layers.0.attn.q.weight`), so
// its table maps every name to itself.
import { ConfigError } from '../src/errors.js';
import type { JsonObject } from '../src/io/index.js';
import type { CheckpointTable, TensorRule } from './checkpoint.js';
import {
  parseStudentConfig,
  STUDENT_TYPES,
  studentConfigJson,
  TYPE_RULES,
} from './student-config.js';
import type { StudentHead, StudentType } from './student-config.js';

/** Preset sizes. */
export const STUDENT_SIZES = ['tiny', 'small'] as const;
export type StudentSize = (typeof STUDENT_SIZES)[number];

const ARCH: Record<StudentType, string> = {
  'we-spikingformer': 'WESpikingformerForMaskedLM',
  'wd-spikingformer': 'WDSpikingformerForCausalLM',
  bispikclm: 'BiSpikCLMForCausalLM',
};

const SIZES: Record<StudentSize, JsonObject> = {
  tiny: { vocab_size: 64, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2 },
  small: { vocab_size: 4096, hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4 },
};

/**
 * The full config.json of a preset (every field explicit, as `getConfig()` writes it),
 * with `overrides` applied first; e.g. `studentPreset('bispikclm', 'tiny', { neuron: 'asn' })`.
 * Validated: errors name the field.
 */
export function studentPreset(
  type: StudentType,
  size: StudentSize,
  overrides: JsonObject = {},
): JsonObject & { model_type: string } {
  if (!STUDENT_TYPES.includes(type)) {
    throw new ConfigError(
      `unknown student type ${JSON.stringify(type)}; known: ${STUDENT_TYPES.join(', ')}`,
    );
  }
  if (!Object.hasOwn(SIZES, size)) {
    throw new ConfigError(
      `unknown preset size ${JSON.stringify(size)}; known: ${Object.keys(SIZES).join(', ')}`,
    );
  }
  const raw: JsonObject = {
    model_type: type,
    architectures: [ARCH[type]],
    ...SIZES[size],
    max_position_embeddings: size === 'tiny' ? 32 : type === 'we-spikingformer' ? 128 : 512,
    ...overrides,
  };
  const neuron = raw.neuron ?? 'lif';
  if (size === 'tiny' && raw.time_steps === undefined && (neuron === 'lif' || neuron === 'if')) {
    raw.time_steps = 2;
  }
  return studentConfigJson(parseStudentConfig(raw, type, `${type} preset "${size}"`));
}

/** Parameter names below `layers.{i}.` (every switch's union; unused rules are harmless). */
function layerNames(): string[] {
  const sn = (p: string) => [`${p}.a`, `${p}.b`, `${p}.gamma`];
  const norm = (p: string) =>
    ['weight', 'bias', 'running_mean', 'running_var'].map((s) => `${p}.${s}`);
  const attn = ['q', 'k', 'v', 'o'].flatMap((p) => [`attn.${p}.weight`, ...norm(`attn.${p}_norm`)]);
  const mlp = ['up', 'down'].flatMap((p) => [`mlp.${p}.weight`, ...norm(`mlp.${p}_norm`)]);
  const sns = ['attn.in_sn', 'attn.q_sn', 'attn.k_sn', 'attn.v_sn', 'mlp.in_sn', 'mlp.hidden_sn'];
  return [...attn, ...mlp, ...sns.flatMap(sn)];
}

/** The head a student config.json asks for (`architectures[0]`; validated elsewhere). */
export function studentHeadOf(config: JsonObject): StudentHead | null {
  const type = String(config.model_type);
  if (!(STUDENT_TYPES as readonly string[]).includes(type)) return null;
  const heads = TYPE_RULES[type as StudentType].heads;
  const arch = Array.isArray(config.architectures) ? String(config.architectures[0]) : undefined;
  if (arch === undefined) return type === 'we-spikingformer' ? 'none' : 'causal_lm';
  return Object.hasOwn(heads, arch) ? heads[arch] : null;
}

/**
 * The identity name table of a student checkpoint (our names in the file). The tensors
 * of a head the config does not have (`lm_head` of an MLM folder loaded for
 * classification, say) are skipped on load, as BERT's table does.
 */
export function studentCheckpoint(config: JsonObject): CheckpointTable {
  const top = ['embed.weight', 'pos_embed.weight', 'final_sn.a', 'final_sn.b', 'final_sn.gamma'];
  const own = studentHeadOf(config) === 'classification' ? 'classifier' : 'lm_head';
  const pair = (h: string) => [`${h}.weight`, `${h}.bias`];
  const same = (n: string): TensorRule => ({ ours: n, hf: n });
  return {
    rules: [...top, ...pair(own), ...layerNames().map((n) => `layers.{i}.${n}`)].map(same),
    ignore: pair(own === 'lm_head' ? 'classifier' : 'lm_head'),
  };
}
