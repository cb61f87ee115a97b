// Serializes tensors to safetensors the way the reference writer does: tensors
// sorted by decreasing dtype alignment then by name (UTF-8 byte order),
// `__metadata__` first, compact JSON padded with spaces so the data buffer starts
// 8-byte aligned. Writing to a path goes through `writeFileAtomic`.
import { Buffer } from 'node:buffer';
import { ConfigError } from '../errors.js';
import { DTYPE_BYTES, dtypeOrder, isSafetensorsDtype } from './dtypes.js';
import { DEFAULT_LIMITS } from './limits.js';
import { elementsToBytes } from './typed-data.js';
import type { TensorData } from './types.js';
import { writeFileAtomic } from './write-file-atomic.js';
import type { WriteFileAtomicOptions } from './write-file-atomic.js';

/** Tensors to write, by name. */
export type TensorMap = Readonly<Record<string, TensorData>> | ReadonlyMap<string, TensorData>;

/** Options of `serializeSafetensors` and `writeSafetensors`. */
export interface WriteSafetensorsOptions {
  /** String-to-string `__metadata__`; omitted from the file when not given. */
  metadata?: Readonly<Record<string, string>> | null;
}

function checkTensor(name: string, t: TensorData): Uint8Array {
  const what = `tensor "${name}"`;
  if (name === '__metadata__')
    throw new ConfigError(`"__metadata__" is reserved, not a tensor name`);
  if (Buffer.byteLength(name) > DEFAULT_LIMITS.maxNameBytes) {
    throw new ConfigError(`${what}: name is over ${DEFAULT_LIMITS.maxNameBytes} bytes`);
  }
  if (!isSafetensorsDtype(t.dtype))
    throw new ConfigError(`${what}: unknown dtype ${String(t.dtype)}`);
  if (!Array.isArray(t.shape) || t.shape.length > DEFAULT_LIMITS.maxRank) {
    throw new ConfigError(
      `${what}: shape must be an array of at most ${DEFAULT_LIMITS.maxRank} sizes`,
    );
  }
  let elements = 1;
  for (const dim of t.shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new ConfigError(`${what}: shape [${t.shape.join(', ')}] has a bad size ${String(dim)}`);
    }
    elements *= dim;
  }
  const bytes = elementsToBytes(t.dtype, t.data, what);
  const needed = elements * DTYPE_BYTES[t.dtype];
  if (bytes.byteLength !== needed) {
    throw new ConfigError(
      `${what}: shape [${t.shape.join(', ')}] of ${t.dtype} needs ${needed} bytes, data has ${bytes.byteLength}`,
    );
  }
  return bytes;
}

/**
 * The file as a list of chunks (length prefix, header, then each tensor's
 * bytes, views where possible) so that large files need not be concatenated.
 */
export function safetensorsChunks(
  tensors: TensorMap,
  options: WriteSafetensorsOptions = {},
): Uint8Array[] {
  const list: [string, TensorData][] =
    tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  if (list.length > DEFAULT_LIMITS.maxTensors) {
    throw new ConfigError(`too many tensors: ${list.length} (limit ${DEFAULT_LIMITS.maxTensors})`);
  }
  const prepared = list.map(([name, t]) => ({
    name,
    key: Buffer.from(name, 'utf8'),
    t,
    bytes: checkTensor(name, t),
  }));
  prepared.sort(
    (a, b) => dtypeOrder(b.t.dtype) - dtypeOrder(a.t.dtype) || Buffer.compare(a.key, b.key),
  );
  const parts: string[] = [];
  if (options.metadata) {
    for (const [k, v] of Object.entries(options.metadata)) {
      if (typeof v !== 'string') throw new ConfigError(`metadata["${k}"] must be a string`);
    }
    parts.push(`"__metadata__":${JSON.stringify(options.metadata)}`);
  }
  let offset = 0;
  for (const p of prepared) {
    const end = offset + p.bytes.byteLength;
    const shape = p.t.shape.join(',');
    parts.push(
      `${JSON.stringify(p.name)}:{"dtype":"${p.t.dtype}","shape":[${shape}],"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padding = (8 - (json.byteLength % 8)) % 8;
  const header = Buffer.alloc(8 + json.byteLength + padding, 0x20);
  header.writeBigUInt64LE(BigInt(json.byteLength + padding), 0);
  json.copy(header, 8);
  return [
    new Uint8Array(header.buffer, header.byteOffset, header.byteLength),
    ...prepared.map((p) => p.bytes),
  ];
}

/** Serialize tensors (and optional metadata) to one safetensors buffer. */
export function serializeSafetensors(
  tensors: TensorMap,
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  const chunks = safetensorsChunks(tensors, options);
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Write tensors to a safetensors file atomically (temp file, fsync, rename):
 * a crash leaves either the old file or the complete new one.
 */
export async function writeSafetensors(
  path: string,
  tensors: TensorMap,
  options: WriteSafetensorsOptions & WriteFileAtomicOptions = {},
): Promise<void> {
  await writeFileAtomic(path, safetensorsChunks(tensors, options), options);
}
