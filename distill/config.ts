// The run config of `snnlm distill` and `snnlm train` (conventions.md 4): defaults, then
// a JSON config file, then dotted overrides (`--train.lr=3e-4 --model.time_steps=4`).
// Unknown keys are errors naming the nearest valid key; a value of the wrong type is an
// error naming the key and the expected type. One typed object, validated once.
// Defaults marked [P] are ours (methods-language.md 3(d) where it has a number).
import { readFile } from 'node:fs/promises';
import { ConfigError, FormatError } from '../src/errors.js';
import type { JsonObject } from '../src/io/index.js';
import { GRADIENT_RULES } from '../models/index.js';
import type { GradientRule } from '../models/index.js';

/** The whole run config (snake_case keys, as in the file). */
export interface RunConfig {
  /** Seed of initialisation, data order and every random choice. */
  seed: number;
  data: {
    /** Tokens per training row N. [P] */
    seq_len: number;
    /** Held-out share (0..1) or count of validation sequences. */
    validation: number;
    /** Rows per micro-batch. */
    batch_size: number;
    split_by: 'auto' | 'document' | 'sequence';
    /** Token cache folder. */
    cache_dir: string;
    /** JSONL text field. */
    field: string;
  };
  train: {
    /** Optimizer updates. */
    steps: number;
    /** Peak learning rate. [P] 1.5e-3 (3(d), small models) */
    lr: number;
    min_lr: number;
    /** Linear warm-up steps; null = 1 % of `steps` (3(d)), at least 1. */
    warmup_steps: number | null;
    schedule: 'cosine' | 'linear' | 'constant';
    /** Decoupled weight decay (norms, biases, embeddings, thresholds excluded). [P] 0.1 */
    weight_decay: number;
    beta1: number;
    /** [P] 0.95 */
    beta2: number;
    eps: number;
    /** Global gradient-norm clip; 0 = off. 1.0 (3(c)). */
    grad_clip: number;
    /** Micro-batches per update. */
    grad_accum: number;
    /** Gradient rule of spiking students; ANN models always use plain backprop. */
    rule: GradientRule;
    /** K of `sltt-k`: time steps that keep the gradient. */
    sltt_k: number;
    /** Stop (and finish normally) once the process used this much CPU time; 0 = no limit. */
    max_cpu_seconds: number;
    /**
     * Worker threads computing each micro-batch's gradients data-parallel (rows split
     * across them, gradients averaged by tokens); 1 = in this thread. `--workers N`.
     */
    workers: number;
  };
  loss: {
    ce: number;
    embedding: number;
    attention: number;
    hidden: number;
    logits: number;
    /** τ of the logit term. [P] 1 (expose 2) */
    temperature: number;
    /** Teacher layer (1-based) per student layer; null = one-to-one or uniform. */
    layer_map: number[] | null;
  };
  eval: {
    /** Validation every this many steps (and at the end); 0 = only at the end. */
    every: number;
    /** Most validation batches per evaluation; 0 = the whole split. */
    max_batches: number;
    batch_size: number;
  };
  checkpoint: {
    /** Save every this many steps (and at the end); 0 = only at the end. */
    every: number;
    /** Complete checkpoints kept (plus the best). */
    keep_last: number;
  };
  log: {
    /** A JSONL event every this many steps. */
    every: number;
  };
  teacher: {
    /** Which adapter runs the teacher folder. */
    engine: 'auto' | 'native' | 'transformersjs';
  };
  /** Overrides of the model's (student's) config.json, e.g. `time_steps`. */
  model: JsonObject;
}

/** The defaults. */
export function defaultRunConfig(): RunConfig {
  return {
    seed: 0,
    data: {
      seq_len: 64,
      validation: 0.1,
      batch_size: 8,
      split_by: 'auto',
      cache_dir: '.snnlm-cache',
      field: 'text',
    },
    train: {
      steps: 1000,
      lr: 1.5e-3,
      min_lr: 0,
      warmup_steps: null,
      schedule: 'cosine',
      weight_decay: 0.1,
      beta1: 0.9,
      beta2: 0.95,
      eps: 1e-8,
      grad_clip: 1,
      grad_accum: 1,
      rule: 'bptt',
      sltt_k: 1,
      max_cpu_seconds: 0,
      workers: 1,
    },
    loss: {
      ce: 1,
      embedding: 1,
      attention: 1,
      hidden: 1,
      logits: 1,
      temperature: 1,
      layer_map: null,
    },
    eval: { every: 100, max_batches: 20, batch_size: 8 },
    checkpoint: { every: 100, keep_last: 2 },
    log: { every: 10 },
    teacher: { engine: 'auto' },
    model: {},
  };
}

type FieldType =
  | { kind: 'int'; min: number; nullable?: boolean }
  | { kind: 'number'; min: number; max?: number; positive?: boolean }
  | { kind: 'string' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'int_list_or_null' };

const int = (min: number, nullable = false): FieldType => ({ kind: 'int', min, nullable });
const num = (min: number, extra: { max?: number; positive?: boolean } = {}): FieldType => ({
  kind: 'number',
  min,
  ...extra,
});

/** Every key but `model.*`, with its type. */
export const FIELDS: Readonly<Record<string, FieldType>> = {
  seed: int(0),
  'data.seq_len': int(1),
  'data.validation': num(0),
  'data.batch_size': int(1),
  'data.split_by': { kind: 'enum', values: ['auto', 'document', 'sequence'] },
  'data.cache_dir': { kind: 'string' },
  'data.field': { kind: 'string' },
  'train.steps': int(1),
  'train.lr': num(0),
  'train.min_lr': num(0),
  'train.warmup_steps': int(0, true),
  'train.schedule': { kind: 'enum', values: ['cosine', 'linear', 'constant'] },
  'train.weight_decay': num(0),
  'train.beta1': num(0, { max: 0.999999 }),
  'train.beta2': num(0, { max: 0.999999 }),
  'train.eps': num(0),
  'train.grad_clip': num(0),
  'train.grad_accum': int(1),
  'train.rule': { kind: 'enum', values: GRADIENT_RULES },
  'train.sltt_k': int(1),
  'train.max_cpu_seconds': num(0),
  'train.workers': int(1),
  'loss.ce': num(0),
  'loss.embedding': num(0),
  'loss.attention': num(0),
  'loss.hidden': num(0),
  'loss.logits': num(0),
  'loss.temperature': num(0, { positive: true }),
  'loss.layer_map': { kind: 'int_list_or_null' },
  'eval.every': int(0),
  'eval.max_batches': int(0),
  'eval.batch_size': int(1),
  'checkpoint.every': int(0),
  'checkpoint.keep_last': int(1),
  'log.every': int(1),
  'teacher.engine': { kind: 'enum', values: ['auto', 'native', 'transformersjs'] },
};

/** Edit distance (for "did you mean"). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

/** The known key closest to `key` (a key whose last segment equals it wins). */
export function nearestKey(key: string, known: readonly string[]): string {
  const leaf = known.find((k) => k.split('.').pop() === key);
  if (leaf) return leaf;
  let best = known[0];
  let bestD = Infinity;
  for (const k of known) {
    const dist = Math.min(distance(key, k), distance(key, k.split('.').pop() ?? k) + 1);
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return best;
}

function describeType(t: FieldType): string {
  switch (t.kind) {
    case 'int':
      return `an integer >= ${t.min}${t.nullable ? ' or null' : ''}`;
    case 'number':
      return `a number ${t.positive ? '> 0' : `>= ${t.min}`}${t.max !== undefined ? ` and < 1` : ''}`;
    case 'string':
      return 'a string';
    case 'enum':
      return `one of ${t.values.join(', ')}`;
    case 'int_list_or_null':
      return 'a list of integers or null';
  }
}

/** Check a JSON value against a field type; `from` says where it came from. */
function checkValue(key: string, t: FieldType, value: unknown, from: string): unknown {
  const bad = (): never => {
    throw new ConfigError(
      `${from}: "${key}" must be ${describeType(t)}, got ${JSON.stringify(value)}`,
    );
  };
  switch (t.kind) {
    case 'int':
      if (value === null && t.nullable) return null;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < t.min) bad();
      return value;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < t.min) bad();
      if (t.positive && !((value as number) > 0)) bad();
      if (t.max !== undefined && (value as number) > t.max) bad();
      return value;
    case 'string':
      if (typeof value !== 'string' || value.length === 0) bad();
      return value;
    case 'enum':
      if (typeof value !== 'string' || !t.values.includes(value)) bad();
      return value;
    case 'int_list_or_null':
      if (value === null) return null;
      if (!Array.isArray(value) || !value.every((v) => Number.isSafeInteger(v))) bad();
      return value;
  }
}

/** Parse a command-line string for a field of type `t` (numbers, booleans, JSON lists, null). */
function parseFlagValue(t: FieldType | null, text: string): unknown {
  if (t?.kind === 'string' || t?.kind === 'enum') return text;
  if (text === 'null') return null;
  if (t?.kind === 'int_list_or_null' && /^\d+(,\d+)*$/.test(text))
    return text.split(',').map(Number);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // not JSON: a string (checkValue names the expected type; model.* keys are checked
    // by the model's own config parser)
    return text;
  }
}

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) o = o[p] as Record<string, unknown>;
  o[parts[parts.length - 1]] = value;
}

/** Flatten a nested config object to dotted keys (the `model` section stays whole keys). */
function flatten(value: unknown, prefix: string, out: [string, unknown][]): void {
  if (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(prefix === 'model' || prefix.startsWith('model.'))
  ) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    return;
  }
  if (prefix === 'model') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ConfigError(`"model" must be an object of config.json fields`);
    }
    for (const [k, v] of Object.entries(value)) out.push([`model.${k}`, v]);
    return;
  }
  out.push([prefix, value]);
}

function unknownKey(key: string, from: string): never {
  const known = [...Object.keys(FIELDS), 'model.<config.json field>'];
  throw new ConfigError(
    `${from}: unknown config key "${key}"; did you mean "${nearestKey(key, known)}"?`,
  );
}

/** Apply one dotted key (from a file or a flag) to `config`. */
function applyKey(config: RunConfig, key: string, value: unknown, from: string): void {
  if (key.startsWith('model.') && key.length > 'model.'.length) {
    config.model[key.slice('model.'.length)] = value as JsonObject[string];
    return;
  }
  const t = FIELDS[key];
  if (!t) unknownKey(key, from);
  setPath(config as unknown as Record<string, unknown>, key, checkValue(key, t, value, from));
}

/** Read a JSON config file (nested objects, dotted keys allowed too). */
export async function readConfigFile(path: string): Promise<JsonObject> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new ConfigError(`cannot read config file ${path} (${e.code ?? e.message})`);
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FormatError(path, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FormatError(path, 'must hold a JSON object');
  }
  return value as JsonObject;
}

/** One `--key=value` or `--key value` override, as parsed from the command line. */
export interface Override {
  key: string;
  text: string;
}

/**
 * The effective config: defaults, then `file` (already parsed; `fileName` for
 * messages), then the overrides in order. Every key and value is checked.
 */
export function resolveRunConfig(
  file: JsonObject | null,
  overrides: readonly Override[] = [],
  fileName = 'config file',
  base: RunConfig = defaultRunConfig(),
): RunConfig {
  const config = structuredClone(base);
  if (file) {
    const flat: [string, unknown][] = [];
    flatten(file, '', flat);
    for (const [k, v] of flat) applyKey(config, k, v, fileName);
  }
  for (const o of overrides) {
    const key = o.key.startsWith('model.') ? o.key : canonicalKey(o.key);
    const t = key.startsWith('model.') ? null : FIELDS[key];
    applyKey(config, key, parseFlagValue(t, o.text), `--${o.key}`);
  }
  return config;
}

/**
 * The full key of a flag: itself when known, else the one key whose last segment it is
 * (`lr` -> `train.lr`, `seq_len` -> `data.seq_len`); unknown or ambiguous is an error.
 */
export function canonicalKey(key: string): string {
  if (Object.hasOwn(FIELDS, key)) return key;
  if (!key.includes('.')) {
    const hits = Object.keys(FIELDS).filter((k) => k.split('.').pop() === key);
    if (hits.length === 1) return hits[0];
    if (hits.length > 1) {
      throw new ConfigError(
        `--${key} is ambiguous: write one of ${hits.map((h) => `--${h}`).join(', ')}`,
      );
    }
  }
  return unknownKey(key, `--${key}`);
}

/** The warm-up steps the schedule uses. */
export function warmupSteps(c: RunConfig): number {
  const w = c.train.warmup_steps ?? Math.max(1, Math.round(0.01 * c.train.steps));
  return Math.min(w, Math.max(0, c.train.steps - 1));
}

/**
 * Split command-line arguments into the command's own flags (`ownFlags`, returned for
 * the command's parser with their values) and config overrides: every other `--key=v`
 * or `--key v` (checked later by `resolveRunConfig`).
 */
export function splitOverrides(
  args: readonly string[],
  ownFlags: readonly string[],
): { rest: string[]; overrides: Override[] } {
  const rest: string[] = [];
  const overrides: Override[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const m = /^--([A-Za-z0-9_.-]+)(?:=(.*))?$/s.exec(a);
    const name = m?.[1] ?? '';
    if (!m || ownFlags.includes(name)) {
      rest.push(a);
      continue;
    }
    if (m[2] !== undefined) {
      overrides.push({ key: name, text: m[2] });
    } else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new ConfigError(`--${name} needs a value (--${name}=VALUE)`);
      }
      overrides.push({ key: name, text: next });
      i++;
    }
  }
  return { rest, overrides };
}
