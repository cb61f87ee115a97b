// Saving checkpoints: `<runDir>/checkpoint-<step>/` with model.safetensors,
// config.json, optimizer.safetensors, trainer_state.json and, written last,
// manifest.json (sizes + SHA-256) — conventions.md 3.6 and 4. Everything is
// written into a hidden temporary folder (`.checkpoint-<step>.tmp-*`), fsynced,
// then renamed into place, so a crash leaves either no `checkpoint-<step>` or
// a complete one; the manifest also catches later truncation or corruption.
// Rotation keeps the last k complete checkpoints plus the best one.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError, checkPositiveInt } from '../errors.js';
import {
  syncDirectory,
  CONFIG_FILE,
  WEIGHTS_FILE,
  fromTfTensor,
  serializeSafetensors,
  writeFileAtomic,
} from '../io/index.js';
import type { JsonObject, TensorData } from '../io/index.js';
import type { Tensor } from '../tf.js';
import {
  MANIFEST_FILE,
  OPTIMIZER_FILE,
  TRAINER_STATE_FILE,
  manifestEntry,
  manifestJson,
} from './checkpoint-manifest.js';
import type { ManifestEntry } from './checkpoint-manifest.js';
import type { Optimizer } from './optimizer.js';
import { checkpointName, trainerStateJson } from './trainer-state.js';
import type { TrainerState } from './trainer-state.js';

/** Model weights and config, in the model-folder layout. */
export interface CheckpointModel {
  /** Written as config.json; must have a `model_type` string (so the folder loads as a model). */
  config: JsonObject;
  /** Weights by public name, e.g. `module.stateDict()`. */
  tensors: ReadonlyMap<string, Tensor | TensorData> | Readonly<Record<string, Tensor | TensorData>>;
}

/** What `saveCheckpoint` writes, and how. */
export interface SaveCheckpointOptions {
  model: CheckpointModel;
  /** The optimizer, or its state already serialised by `optimizer.saveState()`. */
  optimizer: Optimizer | Uint8Array;
  /** `step` may be left out (it is the checkpoint's step); if given it must match. */
  trainerState: Omit<TrainerState, 'step'> & { step?: number };
  /** After saving, keep only the last `keepLast` complete checkpoints (plus the best). */
  keepLast?: number;
  /** Called after each file lands in the temporary folder (tests pause or fail here). */
  afterWrite?: (file: string) => void | Promise<void>;
}

/** A checkpoint folder found in a run folder. */
export interface CheckpointEntry {
  readonly step: number;
  readonly dir: string;
  /** Whether the folder has its manifest (contents not verified). */
  readonly complete: boolean;
}

const CHECKPOINT_DIR = /^checkpoint-(\d+)$/;

function isTfTensor(t: Tensor | TensorData): t is Tensor {
  return typeof (t as Partial<Tensor>).dataSync === 'function';
}

async function modelBytes(model: CheckpointModel): Promise<Uint8Array> {
  const type = (model.config as { model_type?: unknown }).model_type;
  if (typeof type !== 'string' || type.length === 0) {
    throw new ConfigError(
      `model.config.model_type must be a non-empty string, got ${JSON.stringify(type)}`,
    );
  }
  const entries = model.tensors instanceof Map ? [...model.tensors] : Object.entries(model.tensors);
  const data = new Map<string, TensorData>();
  for (const [name, t] of entries) data.set(name, isTfTensor(t) ? await fromTfTensor(t) : t);
  return serializeSafetensors(data, { metadata: { format: 'pt' } });
}

/**
 * Write `<runDir>/checkpoint-<step>/` atomically and return its path. All
 * content is prepared (and validated) before the disk is touched. An existing
 * folder of the same step is replaced (moved aside, then deleted).
 */
export async function saveCheckpoint(
  runDir: string,
  step: number,
  options: SaveCheckpointOptions,
): Promise<string> {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new ConfigError(`checkpoint step must be an integer >= 0, got ${String(step)}`);
  }
  const given = options.trainerState.step;
  if (given !== undefined && given !== step) {
    throw new ConfigError(
      `trainerState.step (${given}) differs from the checkpoint step (${step})`,
    );
  }
  if (options.keepLast !== undefined) checkPositiveInt(options.keepLast, 'keepLast');
  const text = (s: string) => new TextEncoder().encode(s);
  const files: [string, Uint8Array][] = [
    [WEIGHTS_FILE, await modelBytes(options.model)],
    [
      OPTIMIZER_FILE,
      options.optimizer instanceof Uint8Array
        ? options.optimizer
        : await options.optimizer.saveState(),
    ],
    [CONFIG_FILE, text(`${JSON.stringify(options.model.config, null, 2)}\n`)],
    [TRAINER_STATE_FILE, text(trainerStateJson({ ...options.trainerState, step }))],
  ];
  const root = resolve(runDir);
  await mkdir(root, { recursive: true });
  const name = checkpointName(step);
  const target = join(root, name);
  const tag = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const tmp = join(root, `.${name}.tmp-${tag}`);
  await mkdir(tmp);
  try {
    const entries: Record<string, ManifestEntry> = {};
    for (const [file, bytes] of files) {
      await writeFileAtomic(join(tmp, file), bytes);
      entries[file] = manifestEntry(bytes);
      await options.afterWrite?.(file);
    }
    await writeFileAtomic(join(tmp, MANIFEST_FILE), manifestJson(step, entries));
    await options.afterWrite?.(MANIFEST_FILE);
    await syncDirectory(tmp);
    const existing = await stat(target).catch(() => null);
    if (existing) {
      const aside = join(root, `.${name}.old-${tag}`);
      await rename(target, aside);
      await rename(tmp, target);
      await rm(aside, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
    await syncDirectory(root);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
  if (options.keepLast !== undefined) {
    const best = options.trainerState.bestStep;
    await rotateCheckpoints(root, {
      keepLast: options.keepLast,
      keep: best === null || best === undefined ? [] : [best],
    });
  }
  return target;
}

/** Every `checkpoint-<step>` folder of `runDir`, by increasing step ([] if the folder is absent). */
export async function listCheckpoints(runDir: string): Promise<CheckpointEntry[]> {
  const entries = await readdir(runDir, { withFileTypes: true }).catch(() => []);
  const out: CheckpointEntry[] = [];
  for (const e of entries) {
    const m = CHECKPOINT_DIR.exec(e.name);
    if (!m || !e.isDirectory()) continue;
    const dir = join(runDir, e.name);
    const complete = (await stat(join(dir, MANIFEST_FILE)).catch(() => null))?.isFile() ?? false;
    out.push({ step: Number(m[1]), dir, complete });
  }
  return out.sort((a, b) => a.step - b.step);
}

/**
 * Delete complete checkpoints except the `keepLast` newest and the steps in
 * `keep` (the best one). Incomplete folders are left alone. Each folder is
 * first renamed to a hidden name, so a crash mid-delete never leaves a
 * half-deleted `checkpoint-<step>`. Returns the deleted steps.
 */
export async function rotateCheckpoints(
  runDir: string,
  options: { keepLast: number; keep?: readonly number[] },
): Promise<number[]> {
  checkPositiveInt(options.keepLast, 'keepLast');
  const complete = (await listCheckpoints(runDir)).filter((c) => c.complete);
  const keep = new Set([
    ...complete.slice(-options.keepLast).map((c) => c.step),
    ...(options.keep ?? []),
  ]);
  const deleted: number[] = [];
  for (const c of complete) {
    if (keep.has(c.step)) continue;
    const aside = join(runDir, `.${checkpointName(c.step)}.del-${randomBytes(6).toString('hex')}`);
    await rename(c.dir, aside);
    await rm(aside, { recursive: true, force: true });
    deleted.push(c.step);
  }
  return deleted;
}
