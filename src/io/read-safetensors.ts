// Reads a whole safetensors file held in memory (or read into memory at once).
// For checkpoints too big for that, `openSafetensors` reads tensors on demand.
import { readFile } from 'node:fs/promises';
import { parseSafetensorsHeader, readHeaderLength } from './parse-safetensors-header.js';
import { resolveLimits } from './limits.js';
import type { SafetensorsLimits } from './limits.js';
import type { SafetensorsHeader, SafetensorsTensor } from './types.js';

/** Options of `readSafetensors`. */
export interface ReadSafetensorsOptions {
  /** Name used in error messages. @default '<buffer>' */
  file?: string;
  /** Parsing caps. @default DEFAULT_LIMITS */
  limits?: Partial<SafetensorsLimits>;
}

/** A whole safetensors file: header, metadata and every tensor. */
export interface SafetensorsContents {
  readonly file: string;
  readonly header: SafetensorsHeader;
  /** `__metadata__`, or null when the file has none. */
  readonly metadata: Readonly<Record<string, string>> | null;
  /** Tensors in file order; `data` are views into the buffer that was read. */
  readonly tensors: ReadonlyMap<string, SafetensorsTensor>;
}

/**
 * Parse a complete safetensors file from memory. Tensor `data` are views into
 * `bytes` (no copy); use `bytesToElements` or `toTfTensor` to get values.
 * Throws FormatError naming `options.file` for any malformed input.
 */
export function readSafetensors(
  bytes: Uint8Array,
  options: ReadSafetensorsOptions = {},
): SafetensorsContents {
  const file = options.file ?? '<buffer>';
  const limits = resolveLimits(options.limits);
  const n = readHeaderLength(bytes.subarray(0, 8), bytes.byteLength, file, limits);
  const dataStart = 8 + n;
  const header = parseSafetensorsHeader(
    bytes.subarray(8, dataStart),
    bytes.byteLength - dataStart,
    file,
    limits,
  );
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, info] of header.tensors) {
    tensors.set(name, {
      name,
      file,
      dtype: info.dtype,
      shape: info.shape,
      data: bytes.subarray(dataStart + info.begin, dataStart + info.end),
    });
  }
  return { file, header, metadata: header.metadata, tensors };
}

/**
 * Read a safetensors file into memory in one go and parse it. Errors name `path`.
 * Prefer `openSafetensors` for files that should not be loaded whole.
 */
export async function readSafetensorsFile(
  path: string,
  options: Omit<ReadSafetensorsOptions, 'file'> = {},
): Promise<SafetensorsContents> {
  const bytes = await readFile(path);
  return readSafetensors(bytes, { ...options, file: path });
}
