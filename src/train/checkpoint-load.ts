// Finding and loading checkpoints for resume. `findLatestCheckpoint` walks the
// `checkpoint-<step>` folders from the newest and returns the first that
// verifies, warning about every folder it skips (no manifest, wrong size or
// hash) and about interrupted writes (`.checkpoint-*.tmp-*`). `loadCheckpoint`
// verifies every byte against the manifest and refuses a corrupt checkpoint
// with a CheckpointError naming the file.
import { readFile, readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CONFIG_FILE, WEIGHTS_FILE, readSafetensors, toTfTensor } from '../io/index.js';
import type { JsonObject, SafetensorsContents } from '../io/index.js';
import { log } from '../log.js';
import type { Tensor } from '../tf.js';
import { listCheckpoints } from './checkpoint.js';
import type { CheckpointEntry } from './checkpoint.js';
import {
  OPTIMIZER_FILE,
  TRAINER_STATE_FILE,
  readManifest,
  verifyBytes,
  verifyCheckpoint,
} from './checkpoint-manifest.js';
import type { CheckpointManifest, VerifyMode } from './checkpoint-manifest.js';
import { CheckpointError } from './errors.js';
import { parseTrainerState } from './trainer-state.js';
import type { LoadedTrainerState } from './trainer-state.js';

/** A verified checkpoint, read into memory. */
export interface LoadedCheckpoint {
  readonly dir: string;
  readonly step: number;
  readonly manifest: CheckpointManifest;
  /** config.json. */
  readonly config: JsonObject;
  /** model.safetensors (use `checkpointTensors` for tfjs tensors). */
  readonly model: SafetensorsContents;
  /** optimizer.safetensors (pass to `optimizer.loadState`). */
  readonly optimizer: SafetensorsContents;
  readonly trainerState: LoadedTrainerState;
}

/**
 * The newest checkpoint of `runDir` that verifies (`'hash'`: every byte,
 * `'size'`: file sizes only), or null when there is none. Skipped folders and
 * interrupted writes are reported with `log.warn`, each naming the reason.
 */
export async function findLatestCheckpoint(
  runDir: string,
  options: { verify?: VerifyMode } = {},
): Promise<CheckpointEntry | null> {
  const root = resolve(runDir);
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names.filter((n) => /^\.checkpoint-\d+\.tmp-/.test(n))) {
    log.warn(`ignoring ${join(root, name)}: an interrupted checkpoint write (safe to delete)`);
  }
  const all = await listCheckpoints(root);
  for (let i = all.length - 1; i >= 0; i--) {
    const c = all[i];
    try {
      await verifyCheckpoint(c.dir, c.step, options.verify ?? 'hash');
      return c;
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      log.warn(`skipping checkpoint ${c.dir}: ${e.message}`);
    }
  }
  return null;
}

function stepOf(dir: string): number {
  const m = /^checkpoint-(\d+)$/.exec(basename(dir));
  if (!m) {
    throw new CheckpointError(
      dir,
      'is not a checkpoint folder',
      'expected a folder named checkpoint-<step>',
    );
  }
  return Number(m[1]);
}

async function readChecked(
  dir: string,
  name: string,
  manifest: CheckpointManifest,
): Promise<Uint8Array> {
  const path = join(dir, name);
  const bytes = await readFile(path).catch(() => {
    throw new CheckpointError(path, 'is missing from the checkpoint');
  });
  verifyBytes(path, bytes, manifest.files[name]);
  return bytes;
}

/**
 * Read and verify `dir` (a `checkpoint-<step>` folder). Any problem — missing
 * manifest, missing, truncated or altered file, unreadable content — is a
 * CheckpointError naming the file; nothing partial is returned.
 */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const root = resolve(dir);
  const step = stepOf(root);
  const manifest = await readManifest(root, step);
  const bytes = new Map<string, Uint8Array>();
  for (const name of Object.keys(manifest.files))
    bytes.set(name, await readChecked(root, name, manifest));
  const text = (name: string) => new TextDecoder().decode(bytes.get(name));
  let config: JsonObject;
  try {
    config = JSON.parse(text(CONFIG_FILE)) as JsonObject;
  } catch (e) {
    throw new CheckpointError(join(root, CONFIG_FILE), `not valid JSON: ${(e as Error).message}`);
  }
  const trainerState = parseTrainerState(text(TRAINER_STATE_FILE), join(root, TRAINER_STATE_FILE));
  if (trainerState.step !== step) {
    throw new CheckpointError(
      join(root, TRAINER_STATE_FILE),
      `global_step is ${trainerState.step}, folder is for step ${step}`,
    );
  }
  const model = readSafetensors(bytes.get(WEIGHTS_FILE) as Uint8Array, {
    file: join(root, WEIGHTS_FILE),
  });
  const optimizer = readSafetensors(bytes.get(OPTIMIZER_FILE) as Uint8Array, {
    file: join(root, OPTIMIZER_FILE),
  });
  return { dir: root, step, manifest, config, model, optimizer, trainerState };
}

/** The model weights of a loaded checkpoint as float32 tfjs tensors (the caller disposes them). */
export function checkpointTensors(ckpt: LoadedCheckpoint): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  try {
    for (const [name, t] of ckpt.model.tensors) out.set(name, toTfTensor(t));
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}
