// Saves a model folder in the Hugging Face layout (`config.json`,
// `model.safetensors`, extra files such as `generation_config.json` or
// `tokenizer.json`).
//
// Crash safety: everything is written into a hidden temporary folder beside the
// target (`.<name>.tmp-*`), fsynced, and the folder is renamed into place. A
// single rename is the only way to make several files appear together; writing
// model.safetensors before config.json in place would still leave new weights
// next to an old config (or the reverse) when replacing a folder. Replacing an
// existing folder moves it aside (`.<name>.old-*`), renames the new one in and
// deletes the old one: a crash in between leaves two complete folders, never a
// mixed one. A crash may leave a stale hidden folder beside the target.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Tensor } from '../tf.js';
import { fromTfTensor } from './from-tf-tensor.js';
import {
  CONFIG_FILE,
  WEIGHTS_FILE,
  WEIGHTS_INDEX_FILE,
  checkRelativeFileName,
} from './model-folder-files.js';
import type { JsonObject } from './model-folder-files.js';
import type { TensorData } from './types.js';
import { safetensorsChunks } from './write-safetensors.js';
import { syncDirectory, writeFileAtomic } from './write-file-atomic.js';

/** Options of `saveModelFolder`. */
export interface SaveModelFolderOptions {
  /** Written as `config.json`; must contain a non-empty string `model_type`. */
  config: JsonObject;
  /** Weights by name (e.g. `layers.3.attn.q.weight`): tfjs tensors or typed data. */
  tensors: Readonly<Record<string, Tensor | TensorData>>;
  /**
   * Other files by relative name: text, bytes, or a JSON value (written with
   * 2-space indentation), e.g. `{ 'generation_config.json': {...} }`.
   */
  extraFiles?: Readonly<Record<string, string | Uint8Array | JsonObject | unknown[]>>;
  /** Dtype for float32 tfjs tensors: F32, F16 or BF16. @default 'F32' */
  floatDtype?: 'F32' | 'F16' | 'BF16';
  /**
   * safetensors `__metadata__`. @default { format: 'pt' } (transformers refuses a
   * safetensors file whose metadata lacks a known `format`)
   */
  metadata?: Readonly<Record<string, string>>;
  /** Replace a non-empty existing folder. @default false */
  overwrite?: boolean;
}

function isTfTensor(value: unknown): value is Tensor {
  const t = value as Partial<Tensor> | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.data === 'function' &&
    typeof t.rank === 'number'
  );
}

function fileContent(value: unknown): string | Uint8Array {
  if (typeof value === 'string' || value instanceof Uint8Array) return value;
  return `${JSON.stringify(value, null, 2)}\n`;
}

async function prepareWeights(options: SaveModelFolderOptions): Promise<Uint8Array[]> {
  const data: Record<string, TensorData> = Object.create(null) as Record<string, TensorData>;
  for (const [name, t] of Object.entries(options.tensors)) {
    data[name] = isTfTensor(t)
      ? await fromTfTensor(t, t.dtype === 'float32' ? { dtype: options.floatDtype ?? 'F32' } : {})
      : t;
  }
  return safetensorsChunks(data, { metadata: options.metadata ?? { format: 'pt' } });
}

function checkOptions(options: SaveModelFolderOptions): void {
  const config = options.config as unknown;
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ConfigError('config must be an object (it is written as config.json)');
  }
  const type = options.config.model_type;
  if (typeof type !== 'string' || type.length === 0) {
    throw new ConfigError(
      `config.model_type must be a non-empty string, got ${JSON.stringify(type)}`,
      "e.g. 'wd-spikingformer'; loaders pick the architecture by it",
    );
  }
  for (const name of Object.keys(options.extraFiles ?? {})) {
    checkRelativeFileName(name);
    if ([CONFIG_FILE, WEIGHTS_FILE, WEIGHTS_INDEX_FILE].includes(name)) {
      throw new ConfigError(`extra file ${name} would replace a file saveModelFolder writes`);
    }
  }
}

/**
 * Save `config.json`, `model.safetensors` and the extra files as the folder
 * `dir`, all at once (see the file header). Parent folders are created. A
 * non-empty existing `dir` is a ConfigError unless `overwrite` is set.
 */
export async function saveModelFolder(dir: string, options: SaveModelFolderOptions): Promise<void> {
  checkOptions(options);
  const weights = await prepareWeights(options); // validates every tensor before touching disk
  const target = resolve(dir);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const existing = await stat(target).catch(() => null);
  if (existing && !existing.isDirectory()) {
    throw new ConfigError(`${dir} exists and is not a folder`);
  }
  const nonEmpty = existing ? (await readdir(target)).length > 0 : false;
  if (nonEmpty && !options.overwrite) {
    throw new ConfigError(`${dir} exists and is not empty`, 'pass overwrite: true to replace it');
  }
  const tag = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const tmp = join(parent, `.${basename(target)}.tmp-${tag}`);
  await mkdir(tmp);
  try {
    await writeFileAtomic(join(tmp, WEIGHTS_FILE), weights);
    for (const [name, value] of Object.entries(options.extraFiles ?? {})) {
      const path = join(tmp, ...name.split('/'));
      await mkdir(dirname(path), { recursive: true });
      await writeFileAtomic(path, fileContent(value));
    }
    await writeFileAtomic(join(tmp, CONFIG_FILE), fileContent(options.config));
    await syncDirectory(tmp);
    if (!existing) {
      await rename(tmp, target);
    } else if (!nonEmpty) {
      await rm(target, { recursive: true });
      await rename(tmp, target);
    } else {
      const aside = join(parent, `.${basename(target)}.old-${tag}`);
      await rename(target, aside);
      try {
        await rename(tmp, target);
      } catch (e) {
        await rename(aside, target); // put the old folder back
        throw e;
      }
      await syncDirectory(parent);
      await rm(aside, { recursive: true, force: true });
    }
    await syncDirectory(parent);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}
