// Opens a safetensors file for on-demand reads: the header is read and validated
// first, then each tensor's bytes come from one positioned read of the open file
// handle, so a checkpoint bigger than memory can still be loaded tensor by tensor.
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { ConfigError, FormatError } from '../errors.js';
import { parseSafetensorsHeader, readHeaderLength } from './parse-safetensors-header.js';
import { resolveLimits } from './limits.js';
import type { SafetensorsLimits } from './limits.js';
import type { SafetensorsHeader, SafetensorsTensor, TensorInfo, TensorSource } from './types.js';

/** A safetensors file opened for on-demand reads. */
export interface SafetensorsReader extends TensorSource {
  /** The validated header (available without reading any tensor). */
  readonly header: SafetensorsHeader;
  /** `__metadata__`, or null when the file has none. */
  readonly metadata: Readonly<Record<string, string>> | null;
}

/** Options of `openSafetensors`. */
export interface OpenSafetensorsOptions {
  /** Parsing caps. @default DEFAULT_LIMITS */
  limits?: Partial<SafetensorsLimits>;
}

/** Read exactly `length` bytes at `position`, or fail naming the file. */
export async function readExactly(
  handle: FileHandle,
  length: number,
  position: number,
  file: string,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) {
      throw new FormatError(
        file,
        `file ended early: wanted ${length} bytes at offset ${position}, got ${done}`,
        'the file was truncated or changed while it was being read',
      );
    }
    done += bytesRead;
  }
  return out;
}

/**
 * Open a safetensors file, validate its header against the file size, and return
 * a reader that loads tensors on demand. Close it when done.
 */
export async function openSafetensors(
  path: string,
  options: OpenSafetensorsOptions = {},
): Promise<SafetensorsReader> {
  const limits = resolveLimits(options.limits);
  const handle = await open(path, 'r');
  let header: SafetensorsHeader;
  try {
    const { size } = await handle.stat();
    const prefix = await readExactly(handle, Math.min(8, size), 0, path);
    const n = readHeaderLength(prefix, size, path, limits);
    const headerBytes = await readExactly(handle, n, 8, path);
    header = parseSafetensorsHeader(headerBytes, size - 8 - n, path, limits);
  } catch (e) {
    await handle.close();
    throw e;
  }
  let closed = false;
  const lookup = (name: string): TensorInfo => {
    if (closed) throw new ConfigError(`${path}: reader is closed`);
    const info = header.tensors.get(name);
    if (!info) throw new ConfigError(`${path}: no tensor named "${name}"`);
    return info;
  };
  return {
    file: path,
    header,
    metadata: header.metadata,
    names: () => [...header.tensors.keys()],
    has: (name) => header.tensors.has(name),
    info: (name) => Promise.resolve().then(() => lookup(name)),
    async read(name: string): Promise<SafetensorsTensor> {
      const info = lookup(name);
      const data = await readExactly(
        handle,
        info.end - info.begin,
        header.dataStart + info.begin,
        path,
      );
      return { name, file: path, dtype: info.dtype, shape: info.shape, data };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}
