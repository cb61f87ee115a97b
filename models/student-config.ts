// The config.json of the spiking students — WE-/WD-Spikingformer (arXiv 2604.11321) and
// BiSpikCLM (arXiv 2605.13859): Hugging Face names for the trunk, SpikingJelly names for
// the neurons (conventions.md 3.2), every switch validated with errors naming the field.
// Neither paper's text or code was available: every default here is OURS [P], taken from
// methods-language.md 1(d) (T 4, LIF tau 2 / θ 1, k 1, θo 0.5), 2(d) (integer neurons:
// T 1, D 4, λ 0.25) and 3(d) (BiSpikCLM: T 2, binary weights, RMSNorm).
import type { JsonObject } from '../src/io/index.js';
import { ConfigError } from '../src/errors.js';
import { SURROGATE_DEFAULT_ALPHA, SURROGATE_NAMES } from '../src/neurons/index.js';
import type { SurrogateName } from '../src/neurons/index.js';
import { WEIGHT_PRECISIONS } from '../src/layers/index.js';
import type { WeightPrecision } from '../src/layers/index.js';
import { ConfigReader } from './config.js';
import { checkMixerRange } from './student-mixers.js';
import { studentNeuronSetup, NEURON_FIELDS, STUDENT_NEURONS } from './student-neuron.js';
import type { StudentNeuronKind, StudentNeuronSetup } from './student-neuron.js';

export const STUDENT_TYPES = ['we-spikingformer', 'wd-spikingformer', 'bispikclm'] as const;
/** `model_type` of a spiking student. */
export type StudentType = (typeof STUDENT_TYPES)[number];
/** Token mixers: the papers' (wssa, cwssa, sfsa) and the ablation baselines (ssa, softmax_spiking). */
export const STUDENT_ATTENTIONS = ['wssa', 'cwssa', 'sfsa', 'ssa', 'softmax_spiking'] as const;
export type StudentAttention = (typeof STUDENT_ATTENTIONS)[number];
/** `batch` = TimeBatchNorm (encoder only: statistics over tokens), `rms`/`layer` per token. */
export const STUDENT_NORMS = ['batch', 'rms', 'layer'] as const;
export type StudentNorm = (typeof STUDENT_NORMS)[number];
/** Sequence-classification pooling of WE: the first token (`cls`) or the mean over tokens. */
export const CLASSIFIER_POOLINGS = ['cls', 'mean'] as const;
/** The head on the trunk, chosen by `architectures[0]`. */
export type StudentHead = 'none' | 'mlm' | 'classification' | 'causal_lm';

/** Per-type defaults and allowed values [P]. */
interface TypeRules {
  causal: boolean;
  attention: StudentAttention;
  attentions: readonly StudentAttention[];
  norm: StudentNorm;
  norms: readonly StudentNorm[];
  precision: WeightPrecision;
  /** T of spiking (IF/LIF) neurons when the config does not say. */
  timeSteps: number;
  heads: Readonly<Record<string, StudentHead>>;
}

const CAUSAL_MIXERS = ['cwssa', 'sfsa', 'ssa', 'softmax_spiking'] as const;
export const TYPE_RULES: Readonly<Record<StudentType, TypeRules>> = {
  'we-spikingformer': {
    ...{ causal: false, attention: 'wssa', attentions: ['wssa', 'ssa', 'softmax_spiking'] },
    ...{ norm: 'batch', norms: STUDENT_NORMS, precision: 'float', timeSteps: 4 },
    heads: {
      WESpikingformerModel: 'none',
      WESpikingformerForMaskedLM: 'mlm',
      WESpikingformerForSequenceClassification: 'classification',
    },
  },
  'wd-spikingformer': {
    ...{ causal: true, attention: 'cwssa', attentions: CAUSAL_MIXERS, norm: 'rms' },
    ...{ norms: ['rms', 'layer'], precision: 'float', timeSteps: 4 },
    heads: { WDSpikingformerForCausalLM: 'causal_lm' },
  },
  bispikclm: {
    ...{ causal: true, attention: 'sfsa', attentions: CAUSAL_MIXERS, norm: 'rms' },
    ...{ norms: ['rms', 'layer'], precision: 'binary', timeSteps: 2 },
    heads: { BiSpikCLMForCausalLM: 'causal_lm' },
  },
};

/** The validated config of a student (config.json keys; family-specific keys as noted). */
export interface StudentConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** MLP hidden width. Default `4 * hidden_size`. */
  intermediate_size: number;
  /** Learned positions = the context. Default 512 (decoders), 128 (WE) [P]. */
  max_position_embeddings: number;
  /** T: spike steps (IF/LIF), or integer steps (ILIF/ASN/NASN, default 1). */
  time_steps: number;
  neuron: StudentNeuronKind;
  /** LIF only. Default 2. */
  tau: number;
  /** IF/LIF firing threshold (default 1); ASN/NASN initial step θ (default 1). */
  v_threshold: number;
  /** IF/LIF: hard reset to this value (default 0); `null` = soft reset. */
  v_reset: number | null;
  /** IF/LIF surrogate. Default sigmoid; α defaults to the surrogate's own (sigmoid 4). */
  surrogate: SurrogateName;
  surrogate_alpha: number;
  /** IF/LIF: the reset takes no gradient. Default true (Spikingformer). */
  detach_reset: boolean;
  /** ILIF/ASN/NASN: largest count D per step. Default 4. */
  max_count: number;
  /** ILIF decay / ASN, NASN initial leak λ. Default 0.25. */
  decay: number;
  /** ILIF/ASN/NASN: `integer` counts (training) or `binary` sub-steps (spike inference). */
  spike_encoding: 'integer' | 'binary';
  attention_type: StudentAttention;
  /** WSSA/CWSSA winners per row. Default 1. */
  wta_k: number;
  /** Threshold of the attention output neuron (θo / θa). Default 0.5. */
  attention_threshold: number;
  /** WSSA/CWSSA backward temperature; null = `sqrt(d) / 2`. */
  wta_tau_s: number | null;
  /** SFSA state decay shift m (recurrent form); null = none. */
  sfsa_decay_shift: number | null;
  /** Precision of every projection, MLP layer and untied head. */
  weight_precision: WeightPrecision;
  norm_type: StudentNorm;
  /**
   * ε of the norms. Batch norm: absolute, default 1e-5. Per-token norms (`rms`, `layer`):
   * in units of the squared weight scale of the projection they follow (one input spike's
   * current), default 1 [P] (student-block.ts `normedProjection`).
   */
  norm_eps: number;
  /** Head = the token embedding (float weights only). Default false (true for WE). */
  tie_word_embeddings: boolean;
  /** WE classification: labels (default 2) and pooling (default `cls`). */
  num_labels: number;
  classifier_pooling: 'cls' | 'mean';
}

const TRUNK_KEYS = [
  'vocab_size',
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'max_position_embeddings',
  'time_steps',
  'neuron',
] as const;
const ATTENTION_FIELDS: Readonly<Record<StudentAttention, readonly (keyof StudentConfig)[]>> = {
  wssa: ['wta_k', 'attention_threshold', 'wta_tau_s'],
  cwssa: ['wta_k', 'attention_threshold', 'wta_tau_s'],
  sfsa: ['attention_threshold', 'sfsa_decay_shift'],
  ssa: ['attention_threshold'],
  softmax_spiking: ['attention_threshold'],
};
const TAIL_KEYS = ['weight_precision', 'norm_type', 'norm_eps', 'tie_word_embeddings'] as const;
const ALL_NEURON = [...new Set(Object.values(NEURON_FIELDS).flat())];
const ALL_ATTENTION = [...new Set(Object.values(ATTENTION_FIELDS).flat())];
const KNOWN = [
  'model_type',
  'architectures',
  ...TRUNK_KEYS,
  ...ALL_NEURON,
  'attention_type',
  ...ALL_ATTENTION,
  ...TAIL_KEYS,
  'num_labels',
  'classifier_pooling',
];

/** A parsed student config with what the builders derive from it. */
export interface ParsedStudent {
  type: StudentType;
  head: StudentHead;
  config: StudentConfig;
  neuron: StudentNeuronSetup;
  /** Fields of the source this implementation does not read (kept when saving). */
  extras: JsonObject;
}

function headOf(r: ConfigReader, type: StudentType): StudentHead {
  const heads = TYPE_RULES[type].heads;
  const arch = Array.isArray(r.config.architectures) ? r.config.architectures[0] : undefined;
  if (arch === undefined) return type === 'we-spikingformer' ? 'none' : 'causal_lm';
  const head = Object.hasOwn(heads, String(arch)) ? heads[String(arch)] : undefined;
  r.require(
    head !== undefined,
    'architectures',
    `must start with one of ${Object.keys(heads).join(', ')}`,
  );
  return head as StudentHead;
}

/** Reject a non-null `key` that the chosen neuron/mixer does not use. */
function rejectIrrelevant(
  r: ConfigReader,
  keys: readonly string[],
  used: readonly string[],
  who: string,
) {
  for (const k of keys) {
    if (!used.includes(k)) r.require(r.raw(k) === undefined, k, `does not apply to ${who}`);
  }
}

/**
 * Validate a student config.json of `type` (its `model_type`). Required: `vocab_size`,
 * `hidden_size`, `num_hidden_layers`, `num_attention_heads`; the rest take the [P]
 * defaults above. Errors are ConfigErrors naming `source` and the field.
 */
export function parseStudentConfig(
  raw: JsonObject,
  type: StudentType,
  source = 'config.json',
): ParsedStudent {
  const r = new ConfigReader(raw, source, type);
  const rules = TYPE_RULES[type];
  const head = headOf(r, type);
  const D = r.int('hidden_size', { positive: true });
  const H = r.int('num_attention_heads', { positive: true });
  r.require(D % H === 0, 'hidden_size', `must be divisible by num_attention_heads (${H})`);
  const neuronKind = r.oneOf('neuron', STUDENT_NEURONS, 'lif');
  const integer = neuronKind !== 'lif' && neuronKind !== 'if'; // ilif, asn, nasn
  rejectIrrelevant(r, ALL_NEURON, NEURON_FIELDS[neuronKind], `neuron "${neuronKind}"`);
  const attention = r.oneOf('attention_type', rules.attentions, rules.attention);
  rejectIrrelevant(r, ALL_ATTENTION, ATTENTION_FIELDS[attention], `attention_type "${attention}"`);
  const precision = r.oneOf('weight_precision', WEIGHT_PRECISIONS, rules.precision);
  const normType = r.oneOf('norm_type', rules.norms, rules.norm);
  const tie = r.bool('tie_word_embeddings', type === 'we-spikingformer' && precision === 'float');
  r.require(
    !tie || precision === 'float',
    'tie_word_embeddings',
    `needs weight_precision "float" (a ${precision} head cannot share the real-valued embedding)`,
  );
  const surrogate = r.oneOf('surrogate', SURROGATE_NAMES, 'sigmoid');
  const vReset =
    Object.hasOwn(raw, 'v_reset') && raw.v_reset === null ? null : r.num('v_reset', { default: 0 });
  const config: StudentConfig = {
    vocab_size: r.int('vocab_size', { positive: true }),
    hidden_size: D,
    num_hidden_layers: r.int('num_hidden_layers', { positive: true }),
    num_attention_heads: H,
    intermediate_size: r.int('intermediate_size', { positive: true, default: 4 * D }),
    max_position_embeddings: r.int('max_position_embeddings', {
      positive: true,
      default: rules.causal ? 512 : 128,
    }),
    time_steps: r.int('time_steps', { positive: true, default: integer ? 1 : rules.timeSteps }),
    neuron: neuronKind,
    tau: r.num('tau', { default: 2 }),
    v_threshold: r.num('v_threshold', { default: 1 }),
    v_reset: vReset,
    surrogate,
    surrogate_alpha: r.num('surrogate_alpha', {
      positive: true,
      default: SURROGATE_DEFAULT_ALPHA[surrogate],
    }),
    detach_reset: r.bool('detach_reset', true),
    max_count: r.int('max_count', { positive: true, default: 4 }),
    decay: r.num('decay', { default: 0.25 }),
    spike_encoding: r.oneOf('spike_encoding', ['integer', 'binary'] as const, 'integer'),
    attention_type: attention,
    wta_k: r.int('wta_k', { min: 1, default: 1 }),
    attention_threshold: r.num('attention_threshold', { positive: true, default: 0.5 }),
    wta_tau_s: r.raw('wta_tau_s') === undefined ? null : r.num('wta_tau_s', { positive: true }),
    sfsa_decay_shift:
      r.raw('sfsa_decay_shift') === undefined
        ? null
        : r.int('sfsa_decay_shift', { positive: true }),
    weight_precision: precision,
    norm_type: normType,
    // [P] per-token norms: ε = 1 in units of one input spike's current (see
    // `normedProjection` in student-block.ts); 1e-5 made silent rows explode the gradient.
    norm_eps: r.num('norm_eps', { positive: true, default: normType === 'batch' ? 1e-5 : 1 }),
    tie_word_embeddings: tie,
    num_labels: r.int('num_labels', { positive: true, default: 2 }),
    classifier_pooling: r.oneOf('classifier_pooling', CLASSIFIER_POOLINGS, 'cls'),
  };
  if (type !== 'we-spikingformer') {
    rejectIrrelevant(r, ['num_labels', 'classifier_pooling'], [], `model_type "${type}"`);
  }
  let neuron: StudentNeuronSetup;
  try {
    neuron = studentNeuronSetup(config);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${source}: ${e.message}`);
    throw e;
  }
  checkMixerRange(r, config, neuron.levels);
  return { type, head, config, neuron, extras: r.extras(KNOWN) };
}

/** The config.json of a parsed student: every field that applies, explicit, plus the extras. */
export function studentConfigJson(p: ParsedStudent): JsonObject & { model_type: string } {
  const c = p.config;
  const arch = Object.entries(TYPE_RULES[p.type].heads).find(([, h]) => h === p.head)?.[0];
  const pick = (keys: readonly string[]) =>
    Object.fromEntries(keys.map((k) => [k, c[k as keyof StudentConfig]]));
  return {
    ...p.extras,
    model_type: p.type,
    ...(arch ? { architectures: [arch] } : {}),
    ...pick(TRUNK_KEYS),
    ...pick(NEURON_FIELDS[c.neuron]),
    attention_type: c.attention_type,
    ...pick(ATTENTION_FIELDS[c.attention_type]),
    ...pick(TAIL_KEYS),
    ...(p.type === 'we-spikingformer' ? pick(['num_labels', 'classifier_pooling']) : {}),
  } as JsonObject & { model_type: string };
}
