// Loads a model folder in the Hugging Face layout: `config.json` (with
// `model_type`), weights from `model.safetensors` or a sharded
// `model.safetensors.index.json` (read lazily), the optional
// `generation_config.json`, and the names of every other file (tokenizer, ...).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FormatError } from '../errors.js';
import {
  CONFIG_FILE,
  GENERATION_CONFIG_FILE,
  WEIGHTS_FILE,
  WEIGHTS_INDEX_FILE,
  readJsonObject,
} from './model-folder-files.js';
import type { JsonObject } from './model-folder-files.js';
import { openShardedSafetensors } from './open-sharded-safetensors.js';
import { openSafetensors } from './open-safetensors.js';
import type { OpenShardedOptions, ShardedSafetensorsReader } from './open-sharded-safetensors.js';
import type { TensorSource } from './types.js';

/** `config.json` of a model folder: any fields, `model_type` guaranteed. */
export type ModelConfig = JsonObject & { model_type: string };

/** An opened model folder. Weights are read on demand; close it when done. */
export interface ModelFolder {
  readonly dir: string;
  readonly config: ModelConfig;
  /** `generation_config.json`, or null when the folder has none. */
  readonly generationConfig: JsonObject | null;
  /** The weights, read lazily (`readTfTensors` turns them into tfjs tensors). */
  readonly tensors: TensorSource;
  /**
   * Every other entry of the folder, sorted (`tokenizer.json`, ...); folders end
   * in `/` (`onnx/`). Hidden entries and weight shards are left out.
   */
  readonly files: readonly string[];
  /** Close the weight files. */
  close(): Promise<void>;
}

const CONFIG_HINT = 'a model folder needs config.json with "model_type" (Hugging Face layout)';

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function openWeights(dir: string, options: OpenShardedOptions): Promise<TensorSource> {
  const single = join(dir, WEIGHTS_FILE);
  if (await isFile(single)) return openSafetensors(single, options);
  const index = join(dir, WEIGHTS_INDEX_FILE);
  if (await isFile(index)) return openShardedSafetensors(index, options);
  const torch = await isFile(join(dir, 'pytorch_model.bin'));
  throw new FormatError(
    single,
    `missing ${WEIGHTS_FILE} (and no ${WEIGHTS_INDEX_FILE})`,
    torch
      ? 'the folder has only pytorch_model.bin; convert it to safetensors first'
      : 'save the model with saveModelFolder, or copy the weights of a Hugging Face folder',
  );
}

/**
 * Open the model folder `dir`. A missing folder, config or weights file is a
 * FormatError naming the path with a hint; so is a config without `model_type`.
 */
export async function loadModelFolder(
  dir: string,
  options: OpenShardedOptions = {},
): Promise<ModelFolder> {
  const info = await stat(dir).catch(() => null);
  if (!info || !info.isDirectory()) {
    throw new FormatError(dir, 'model folder does not exist', CONFIG_HINT);
  }
  const configPath = join(dir, CONFIG_FILE);
  const config = await readJsonObject(configPath, CONFIG_HINT);
  if (typeof config.model_type !== 'string' || config.model_type.length === 0) {
    throw new FormatError(configPath, 'config has no "model_type" string', CONFIG_HINT);
  }
  const generationPath = join(dir, GENERATION_CONFIG_FILE);
  const generationConfig = (await isFile(generationPath))
    ? await readJsonObject(generationPath, '')
    : null;
  const tensors = await openWeights(dir, options);
  const shards = 'shards' in tensors ? (tensors as ShardedSafetensorsReader).shards : [];
  const own = new Set([
    CONFIG_FILE,
    GENERATION_CONFIG_FILE,
    WEIGHTS_FILE,
    WEIGHTS_INDEX_FILE,
    ...shards,
  ]);
  const files = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => !e.name.startsWith('.') && !own.has(e.name))
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
    .sort();
  return {
    dir,
    config: config as ModelConfig,
    generationConfig,
    tensors,
    files,
    close: () => tensors.close(),
  };
}
