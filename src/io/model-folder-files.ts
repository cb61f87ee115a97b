// File names of a Hugging Face model folder (conventions.md 3.2) and the small
// helpers saving and loading one share: checking a relative file name and
// reading a capped JSON object with errors that name the file.
import { readFile, stat } from 'node:fs/promises';
import { ConfigError, FormatError } from '../errors.js';
import { MAX_CONFIG_BYTES } from './limits.js';

/** `config.json`: the model's hyper-parameters, with `model_type`. */
export const CONFIG_FILE = 'config.json';
/** `model.safetensors`: the weights of an unsharded model. */
export const WEIGHTS_FILE = 'model.safetensors';
/** `model.safetensors.index.json`: the weight map of a sharded model. */
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';
/** `generation_config.json`: the default generation settings. */
export const GENERATION_CONFIG_FILE = 'generation_config.json';

/** A parsed JSON object (`config.json` and the like). */
export type JsonObject = Record<string, unknown>;

/**
 * Check a file name relative to a model folder (`tokenizer.json`,
 * `onnx/model.onnx`): '/'-separated, no empty, `.` or `..` segment, not absolute.
 */
export function checkRelativeFileName(name: string): void {
  const segments = name.split('/');
  const bad = segments.some(
    (s) => s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0'),
  );
  if (bad) {
    throw new ConfigError(
      `extra file name ${JSON.stringify(name)} is not a relative path inside the folder`,
      "use names like 'tokenizer.json' or 'onnx/model.onnx'",
    );
  }
}

/**
 * Read a JSON object from `path`. Missing file, file over MAX_CONFIG_BYTES,
 * invalid JSON or a non-object are FormatErrors naming `path`; `hint` is given
 * with the missing-file error.
 */
export async function readJsonObject(path: string, hint: string): Promise<JsonObject> {
  const info = await stat(path).catch(() => null);
  if (!info || !info.isFile()) throw new FormatError(path, 'file is missing', hint);
  if (info.size > MAX_CONFIG_BYTES) {
    throw new FormatError(path, `file is too big: ${info.size} bytes (limit ${MAX_CONFIG_BYTES})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new FormatError(path, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new FormatError(path, 'must hold a JSON object');
  }
  return parsed as JsonObject;
}
