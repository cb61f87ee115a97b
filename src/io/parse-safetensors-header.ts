// Parses and validates a safetensors header (conventions.md 3.1): the 8-byte
// length, the UTF-8 JSON object, `__metadata__`, every tensor entry and the
// layout of the data buffer (sorted by offset, tensors must tile it exactly:
// the reference reader's `begin == previous end` rule). Every problem is a FormatError naming the file;
// nothing here returns a partial result. Follows huggingface/safetensors'
// reader rules, plus duplicate-name detection and named limits.
import { FormatError } from '../errors.js';
import { DTYPE_BYTES, SAFETENSORS_DTYPES, isSafetensorsDtype } from './dtypes.js';
import { findDuplicateKey } from './json-duplicate-keys.js';
import type { SafetensorsLimits } from './limits.js';
import type { SafetensorsHeader, TensorInfo } from './types.js';

const NOT_SAFETENSORS = 'the file is truncated, corrupt or not a safetensors file';
const ENTRY_KEYS = ['dtype', 'shape', 'data_offsets'];

/**
 * Read `N`, the header length, from the first 8 bytes of a file of `fileBytes`
 * bytes, and check it against the limit and the file size.
 */
export function readHeaderLength(
  prefix: Uint8Array,
  fileBytes: number,
  file: string,
  limits: SafetensorsLimits,
): number {
  if (fileBytes < 8 || prefix.byteLength < 8) {
    throw new FormatError(
      file,
      `file is ${fileBytes} bytes, shorter than the 8-byte header length`,
      NOT_SAFETENSORS,
    );
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(limits.maxHeaderBytes)) {
    throw new FormatError(
      file,
      `header is too big: ${n} bytes (limit ${limits.maxHeaderBytes})`,
      NOT_SAFETENSORS,
    );
  }
  const length = Number(n);
  if (8 + length > fileBytes) {
    throw new FormatError(
      file,
      `header length ${length} runs past the end of the file (${fileBytes} bytes)`,
      NOT_SAFETENSORS,
    );
  }
  return length;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function parseMetadata(value: unknown, file: string): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new FormatError(
      file,
      `__metadata__ must be an object of strings, got ${describe(value)}`,
    );
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new FormatError(
        file,
        `__metadata__["${key}"] must be a string, got ${describe(v)}`,
        'safetensors metadata is a string-to-string map; encode other values as strings',
      );
    }
  }
  return value as Record<string, string>;
}

function parseEntry(
  name: string,
  value: unknown,
  dataBytes: number,
  file: string,
  limits: SafetensorsLimits,
): TensorInfo {
  const where = `tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(value)) throw new FormatError(file, `${where}: entry must be an object`);
  for (const key of Object.keys(value)) {
    if (!ENTRY_KEYS.includes(key)) throw new FormatError(file, `${where}: unknown field "${key}"`);
  }
  for (const key of ENTRY_KEYS) {
    if (!Object.hasOwn(value, key)) throw new FormatError(file, `${where}: missing "${key}"`);
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isSafetensorsDtype(dtype)) {
    throw new FormatError(
      file,
      `${where}: unknown dtype ${describe(dtype)}`,
      `supported dtypes: ${SAFETENSORS_DTYPES.join(' ')}`,
    );
  }
  if (!Array.isArray(shape)) throw new FormatError(file, `${where}: shape must be an array`);
  if (shape.length > limits.maxRank) {
    throw new FormatError(
      file,
      `${where}: rank ${shape.length} is over the limit ${limits.maxRank}`,
    );
  }
  // Element count, refusing anything that cannot be a real tensor in this buffer.
  let elements = 1;
  for (let d = 0; d < shape.length; d++) {
    if (!isCount(shape[d])) {
      throw new FormatError(
        file,
        `${where}: shape[${d}] = ${describe(shape[d])} is not a non-negative integer`,
      );
    }
  }
  if (!shape.includes(0)) {
    for (const dim of shape as number[]) {
      elements *= dim;
      if (elements > dataBytes) break; // cannot fit: reported below without overflowing
    }
  } else {
    elements = 0;
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !isCount(offsets[0]) ||
    !isCount(offsets[1])
  ) {
    throw new FormatError(
      file,
      `${where}: data_offsets must be two non-negative integers, got ${describe(offsets)}`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataBytes) {
    throw new FormatError(
      file,
      `${where}: data_offsets [${begin}, ${end}] are outside the data buffer of ${dataBytes} bytes`,
      NOT_SAFETENSORS,
    );
  }
  const needed = elements * DTYPE_BYTES[dtype];
  if (needed !== end - begin) {
    const size = elements > dataBytes ? 'more than the whole data buffer' : `${needed} bytes`;
    throw new FormatError(
      file,
      `${where}: shape [${shape.join(', ')}] of ${dtype} needs ${size}, but data_offsets [${begin}, ${end}] span ${end - begin}`,
    );
  }
  return { dtype, shape: shape as number[], begin, end };
}

/**
 * Return the entries sorted by `[begin, end]` after checking they cover
 * `[0, dataBytes)` exactly; FormatError naming the tensors otherwise.
 */
function checkTensorLayout(
  entries: [string, TensorInfo][],
  dataBytes: number,
  file: string,
): [string, TensorInfo][] {
  const sorted = [...entries].sort(([, a], [, b]) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: string | null = null;
  for (const [name, info] of sorted) {
    if (info.begin < cursor) {
      throw new FormatError(
        file,
        `tensor "${name}" at [${info.begin}, ${info.end}] overlaps tensor "${previous}" ending at ${cursor}`,
        'every byte of the data buffer must belong to exactly one tensor',
      );
    }
    if (info.begin > cursor) {
      throw new FormatError(
        file,
        `hole in the data buffer: bytes [${cursor}, ${info.begin}) belong to no tensor`,
        'every byte of the data buffer must belong to exactly one tensor',
      );
    }
    cursor = info.end;
    previous = name;
  }
  if (cursor !== dataBytes) {
    throw new FormatError(
      file,
      `${dataBytes - cursor} trailing bytes after the last tensor (tensors end at ${cursor}, the data buffer is ${dataBytes} bytes)`,
      'the file has extra bytes or a tensor is missing from the header',
    );
  }
  return sorted;
}

/**
 * Validate the `N` header bytes of a file whose data buffer is `dataBytes` long,
 * and return the header with tensors ordered by offset.
 */
export function parseSafetensorsHeader(
  headerBytes: Uint8Array,
  dataBytes: number,
  file: string,
  limits: SafetensorsLimits,
): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw new FormatError(file, 'header is not valid UTF-8', NOT_SAFETENSORS);
  }
  if (!text.startsWith('{')) {
    throw new FormatError(
      file,
      'header is not a JSON object (it must start with "{")',
      NOT_SAFETENSORS,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new FormatError(
      file,
      `header is not valid JSON: ${(e as Error).message}`,
      NOT_SAFETENSORS,
    );
  }
  if (!isPlainObject(parsed)) throw new FormatError(file, 'header is not a JSON object');
  const dup = findDuplicateKey(text);
  if (dup) {
    const what =
      dup.path.length === 0
        ? `tensor name "${dup.key}"`
        : `key "${dup.key}" in "${dup.path.join('.')}"`;
    throw new FormatError(file, `header has a duplicate ${what}`, 'each name may appear once');
  }
  let metadata: Record<string, string> | null = null;
  const names = Object.keys(parsed).filter((k) => k !== '__metadata__');
  if (Object.hasOwn(parsed, '__metadata__')) metadata = parseMetadata(parsed.__metadata__, file);
  if (names.length > limits.maxTensors) {
    throw new FormatError(file, `too many tensors: ${names.length} (limit ${limits.maxTensors})`);
  }
  const encoder = new TextEncoder();
  const entries: [string, TensorInfo][] = [];
  for (const name of names) {
    const nameBytes = encoder.encode(name).byteLength;
    if (nameBytes > limits.maxNameBytes) {
      throw new FormatError(
        file,
        `tensor name "${name.slice(0, 40)}..." is ${nameBytes} bytes, over the limit ${limits.maxNameBytes}`,
      );
    }
    entries.push([name, parseEntry(name, parsed[name], dataBytes, file, limits)]);
  }
  const ordered = checkTensorLayout(entries, dataBytes, file);
  return {
    headerBytes: headerBytes.byteLength,
    dataStart: 8 + headerBytes.byteLength,
    dataBytes,
    metadata,
    tensors: new Map(ordered),
  };
}
