// The manifest of a checkpoint folder (`manifest.json`, written last, like
// llm.c's DONE marker): every file with its size and SHA-256. A folder without
// one is incomplete; a file whose size or hash differs is truncated or corrupt.
// Checking sizes is instant; checking hashes reads every byte.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CONFIG_FILE, WEIGHTS_FILE } from '../io/index.js';
import { CheckpointError } from './errors.js';

/** `optimizer.safetensors`: the optimizer state (`<name>/m`, `<name>/v`, `step`). */
export const OPTIMIZER_FILE = 'optimizer.safetensors';
/** `trainer_state.json`: step, epoch, data cursor, RNG state, best metric, log tail. */
export const TRAINER_STATE_FILE = 'trainer_state.json';
/** `manifest.json`: sizes and hashes of the other files; its presence marks completion. */
export const MANIFEST_FILE = 'manifest.json';
/** Files every checkpoint holds besides the manifest. */
export const CHECKPOINT_FILES = [CONFIG_FILE, WEIGHTS_FILE, OPTIMIZER_FILE, TRAINER_STATE_FILE];

const FORMAT = 'snnlm-checkpoint';

/** Size and hash of one file. */
export interface ManifestEntry {
  readonly bytes: number;
  readonly sha256: string;
}

/** Content of `manifest.json`. */
export interface CheckpointManifest {
  readonly format: typeof FORMAT;
  readonly version: 1;
  readonly step: number;
  readonly files: Readonly<Record<string, ManifestEntry>>;
}

/** How much of a checkpoint to check: sizes only, or sizes and SHA-256. */
export type VerifyMode = 'size' | 'hash';

/** Size and SHA-256 of bytes about to be written. */
export function manifestEntry(bytes: Uint8Array): ManifestEntry {
  return { bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The manifest text for `files`. */
export function manifestJson(step: number, files: Record<string, ManifestEntry>): string {
  const manifest: CheckpointManifest = { format: FORMAT, version: 1, step, files };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

const INCOMPLETE_HINT =
  'the save was interrupted; resume from an earlier checkpoint and delete this folder';

/** Read and check the manifest of `dir` (which must be the checkpoint of `step`). */
export async function readManifest(dir: string, step: number): Promise<CheckpointManifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new CheckpointError(path, 'missing: the checkpoint is incomplete', INCOMPLETE_HINT);
  }
  let m: Partial<CheckpointManifest>;
  try {
    m = JSON.parse(text) as Partial<CheckpointManifest>;
  } catch (e) {
    throw new CheckpointError(path, `corrupt manifest (${(e as Error).message})`, INCOMPLETE_HINT);
  }
  if (m?.format !== FORMAT || m.version !== 1 || typeof m.files !== 'object' || m.files === null) {
    throw new CheckpointError(path, `not an ${FORMAT} v1 manifest`);
  }
  if (m.step !== step) {
    throw new CheckpointError(
      path,
      `manifest is for step ${String(m.step)}, folder is for step ${step}`,
    );
  }
  for (const name of CHECKPOINT_FILES) {
    if (!(name in m.files)) throw new CheckpointError(path, `does not list ${name}`);
  }
  for (const [name, e] of Object.entries(m.files)) {
    if (name.includes('/') || name.includes('\\') || name.startsWith('.')) {
      throw new CheckpointError(path, `lists a file outside the folder: ${JSON.stringify(name)}`);
    }
    if (!Number.isSafeInteger(e?.bytes) || typeof e?.sha256 !== 'string') {
      throw new CheckpointError(path, `bad entry for ${name}`);
    }
  }
  return m as CheckpointManifest;
}

function sizeError(path: string, actual: number, e: ManifestEntry): CheckpointError {
  const how = actual < e.bytes ? 'truncated' : 'longer than written';
  return new CheckpointError(path, `is ${actual} bytes, ${MANIFEST_FILE} says ${e.bytes} (${how})`);
}

function hashError(path: string): CheckpointError {
  return new CheckpointError(
    path,
    `content does not match its SHA-256 in ${MANIFEST_FILE} (corrupt)`,
  );
}

async function streamSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Check one file on disk against its manifest entry. */
export async function verifyFile(
  path: string,
  entry: ManifestEntry,
  mode: VerifyMode,
): Promise<void> {
  const info = await stat(path).catch(() => null);
  if (!info || !info.isFile()) throw new CheckpointError(path, 'is missing from the checkpoint');
  if (info.size !== entry.bytes) throw sizeError(path, info.size, entry);
  if (mode === 'hash' && (await streamSha256(path)) !== entry.sha256) throw hashError(path);
}

/** Check bytes already read from `path` against its manifest entry. */
export function verifyBytes(path: string, bytes: Uint8Array, entry: ManifestEntry): void {
  if (bytes.byteLength !== entry.bytes) throw sizeError(path, bytes.byteLength, entry);
  if (manifestEntry(bytes).sha256 !== entry.sha256) throw hashError(path);
}

/** Check a whole checkpoint folder; returns its manifest or throws CheckpointError naming the file. */
export async function verifyCheckpoint(
  dir: string,
  step: number,
  mode: VerifyMode = 'hash',
): Promise<CheckpointManifest> {
  const manifest = await readManifest(dir, step);
  for (const [name, entry] of Object.entries(manifest.files)) {
    await verifyFile(join(dir, name), entry, mode);
  }
  return manifest;
}
