// The one table per architecture between Hugging Face checkpoint names and our
// parameter names, and moving weights through it in both directions.
//
// Naming decision: every model, teacher or student, names its parameters in our
// scheme (`embed.weight`, `layers.3.attn.q.weight`, `layers.3.mlp.up.weight`,
// `norm.weight`), so that distillation, energy reports and student-from-teacher
// initialisation address the same layer by the same name in any architecture.
// A teacher's folder keeps the Hugging Face names (it must load in transformers
// and transformers.js); its `CheckpointTable` is the only place the two meet.
// Patterns use `{i}` for a layer index.
import { dirname, join } from 'node:path';
import { ConfigError, FormatError } from '../src/errors.js';
import { isFloatDtype, toTfTensor } from '../src/io/index.js';
import type { TensorSource } from '../src/io/index.js';
import type { Module } from '../src/layers/index.js';
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';

/** What loading and saving need of a model: its named parameters. */
export type Parameterised = Pick<Module, 'namedParameters' | 'loadState'>;

/** One row of a checkpoint table. */
export interface TensorRule {
  /** Our parameter name pattern, e.g. `layers.{i}.attn.q.weight`. */
  ours: string;
  /** The checkpoint (Hugging Face) name pattern, e.g. `model.layers.{i}.self_attn.q_proj.weight`. */
  hf: string;
  /** The checkpoint stores the transpose of ours (GPT-2 `Conv1D` weights are `[in, out]`). */
  transpose?: boolean;
}

/** The name table of one architecture. */
export interface CheckpointTable {
  rules: readonly TensorRule[];
  /** Checkpoint name patterns that are skipped on load (derived buffers, tied copies). */
  ignore?: readonly string[];
}

function compile(pattern: string): RegExp {
  const escaped = pattern.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{i\}/g, '(\\d+)');
  return new RegExp(`^${escaped}$`);
}

function translate(name: string, from: string, to: string): string | null {
  const m = compile(from).exec(name);
  if (!m) return null;
  let k = 1;
  return to.replace(/\{i\}/g, () => m[k++]);
}

/** Our name and rule for a checkpoint name; `'ignored'`; or null when no rule matches. */
export function hfToOurs(
  table: CheckpointTable,
  hfName: string,
): { name: string; rule: TensorRule } | 'ignored' | null {
  for (const rule of table.rules) {
    const name = translate(hfName, rule.hf, rule.ours);
    if (name !== null) return { name, rule };
  }
  if ((table.ignore ?? []).some((p) => compile(p).test(hfName))) return 'ignored';
  return null;
}

/** The checkpoint name and rule of one of our parameter names (null when unmapped). */
export function oursToHf(
  table: CheckpointTable,
  ourName: string,
): { name: string; rule: TensorRule } | null {
  for (const rule of table.rules) {
    const name = translate(ourName, rule.ours, rule.hf);
    if (name !== null) return { name, rule };
  }
  return null;
}

function fileOf(source: TensorSource, name: string): string {
  const sharded = source as TensorSource & { shardOf?: (n: string) => string };
  return sharded.shardOf ? join(dirname(source.file), sharded.shardOf(name)) : source.file;
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Options of `loadWeights`. */
export interface LoadWeightsOptions {
  /**
   * Groups of our parameter names that may be absent from the checkpoint as a whole (a
   * new task head): such a group keeps the model's own (seeded) initialisation. A group
   * the checkpoint holds only in part is still reported as missing tensors.
   */
  fresh?: readonly (readonly string[])[];
}

/**
 * Load every parameter of `model` from `source` through `table`. Every name and
 * shape is checked before anything is read: a missing, unexpected, mis-shaped or
 * non-float tensor is a FormatError naming the tensor (checkpoint and our name)
 * and its file, listing all problems at once. Returns the names of `options.fresh`
 * parameters left at their initialisation (none by default).
 */
export async function loadWeights(
  model: Parameterised,
  source: TensorSource,
  table: CheckpointTable,
  options: LoadWeightsOptions = {},
): Promise<{ fresh: string[] }> {
  const expected = new Map(model.namedParameters().map(([n, v]) => [n, v.shape]));
  const plan: { hf: string; ours: string; transpose: boolean }[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const hf of source.names()) {
    const hit = hfToOurs(table, hf);
    if (hit === 'ignored') continue;
    if (hit === null || !expected.has(hit.name)) {
      const why = hit === null ? 'no rule maps it' : `the model has no parameter ${hit.name}`;
      problems.push(`unexpected tensor "${hf}" in ${fileOf(source, hf)} (${why})`);
      continue;
    }
    if (seen.has(hit.name)) {
      problems.push(`tensors "${seen.get(hit.name)}" and "${hf}" both map to ${hit.name}`);
      continue;
    }
    seen.set(hit.name, hf);
    const info = await source.info(hf);
    const want = expected.get(hit.name) as number[];
    const wantHf = hit.rule.transpose ? [...want].reverse() : want;
    if (info.shape.length !== wantHf.length || info.shape.some((d, i) => d !== wantHf[i])) {
      problems.push(
        `tensor "${hf}" in ${fileOf(source, hf)} has shape ${fmt(info.shape)}, expected ${fmt(wantHf)} (for ${hit.name})`,
      );
    } else if (!isFloatDtype(info.dtype)) {
      problems.push(
        `tensor "${hf}" in ${fileOf(source, hf)} has dtype ${info.dtype}, expected a float dtype`,
      );
    }
    plan.push({ hf, ours: hit.name, transpose: hit.rule.transpose ?? false });
  }
  const fresh = new Set(
    (options.fresh ?? [])
      .filter((g) => g.length > 0 && g.every((n) => expected.has(n) && !seen.has(n)))
      .flat(),
  );
  for (const name of expected.keys()) {
    if (!seen.has(name) && !fresh.has(name)) {
      const hf = oursToHf(table, name)?.name ?? '(unmapped)';
      problems.push(`missing tensor "${hf}" (for ${name}) in ${source.file}`);
    }
  }
  if (problems.length) {
    throw new FormatError(
      source.file,
      `checkpoint does not fit the model: ${problems.join('; ')}`,
      'check config.json against the weights (layer count, widths, tie_word_embeddings)',
    );
  }
  const state = new Map<string, Tensor>();
  try {
    for (const p of plan) {
      const t = toTfTensor(await source.read(p.hf), { dtype: 'float32' });
      state.set(p.ours, p.transpose ? tf.tidy(() => tf.transpose(t)) : t);
      if (p.transpose) t.dispose();
    }
    // fresh parameters keep their initialisation (loadState wants every parameter)
    for (const [n, v] of model.namedParameters()) if (fresh.has(n)) state.set(n, tf.clone(v));
    model.loadState(state);
  } finally {
    tf.dispose([...state.values()]);
  }
  return { fresh: [...fresh] };
}

/**
 * The tensors of `model` under their checkpoint names (for saving). Transposed
 * entries are new tensors: call `dispose()` on the result when written.
 */
export function checkpointTensors(
  model: Parameterised,
  table: CheckpointTable,
): { tensors: Record<string, Tensor>; dispose(): void } {
  const tensors: Record<string, Tensor> = {};
  const made: Tensor[] = [];
  for (const [name, v] of model.namedParameters()) {
    const hit = oursToHf(table, name);
    if (!hit) {
      tf.dispose(made);
      throw new ConfigError(`parameter ${name} has no checkpoint name in the table`);
    }
    const t = hit.rule.transpose ? tf.transpose(v) : v;
    if (t !== v) made.push(t);
    tensors[hit.name] = t;
  }
  return { tensors, dispose: () => tf.dispose(made) };
}
