// IDX files (LeCun's MNIST format, also Fashion-MNIST): a big-endian header
// `0x00 0x00 <dtype> <ndims>`, then `ndims` uint32 sizes, then the raw elements.
// Gzip-compressed files (the usual `.gz` releases) are recognised by their magic
// bytes and inflated first. Everything is validated against the header: a wrong
// magic number, a dtype other than unsigned bytes, a zero or absurd dimension, or
// a size that does not match the header is a FormatError naming the file.
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { FormatError } from '../../src/errors.js';

/** Largest number of dimensions an IDX header may declare here (MNIST uses 1 and 3). */
export const IDX_MAX_DIMS = 4;
/** Largest number of elements accepted (a guard against hostile headers). */
export const IDX_MAX_ELEMENTS = 2 ** 31 - 1;
/** The only element type snnlm reads: unsigned bytes (`0x08`). */
export const IDX_UBYTE = 0x08;

/** A decoded IDX file: its dimensions and the raw unsigned bytes, row-major. */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** True when `bytes` starts with the gzip magic `1f 8b`. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decode IDX bytes (raw or gzip). `file` names the source in errors; `expectDims`,
 * when given, is the number of dimensions the caller needs (3 for images, 1 for labels).
 */
export function parseIdx(input: Uint8Array, file: string, expectDims?: number): IdxArray {
  let bytes = input;
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new FormatError(
        file,
        `gzip data is corrupt or truncated (${e instanceof Error ? e.message : String(e)})`,
        'download the file again',
      );
    }
  }
  if (bytes.length < 4) {
    throw new FormatError(file, `too short for an IDX header (${bytes.length} bytes)`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new FormatError(
      file,
      `not an IDX file: magic number starts ${hex(bytes[0])} ${hex(bytes[1])}, expected 00 00`,
    );
  }
  if (bytes[2] !== IDX_UBYTE) {
    throw new FormatError(
      file,
      `IDX element type ${hex(bytes[2])} is not supported; only unsigned bytes (08)`,
    );
  }
  const nd = bytes[3];
  if (nd < 1 || nd > IDX_MAX_DIMS) {
    throw new FormatError(
      file,
      `IDX header declares ${nd} dimensions; expected 1..${IDX_MAX_DIMS}`,
    );
  }
  if (expectDims !== undefined && nd !== expectDims) {
    throw new FormatError(file, `IDX file has ${nd} dimensions, expected ${expectDims}`);
  }
  const headerBytes = 4 + 4 * nd;
  if (bytes.length < headerBytes) {
    throw new FormatError(file, `truncated IDX header: ${bytes.length} of ${headerBytes} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < nd; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    if (d === 0) throw new FormatError(file, `IDX dimension ${i} is 0`);
    dims.push(d);
    count *= d;
    if (count > IDX_MAX_ELEMENTS) {
      throw new FormatError(file, `IDX header declares more than ${IDX_MAX_ELEMENTS} elements`);
    }
  }
  const have = bytes.length - headerBytes;
  if (have < count) {
    throw new FormatError(
      file,
      `truncated: header [${dims.join(', ')}] needs ${count} data bytes, the file has ${have}`,
    );
  }
  if (have > count) {
    throw new FormatError(
      file,
      `${have - count} bytes after the data declared by the header [${dims.join(', ')}]`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** Read and decode an IDX file (raw or gzip); errors name `path`. */
export async function readIdx(path: string, expectDims?: number): Promise<IdxArray> {
  const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new FormatError(path, `cannot read the IDX file (${e.code ?? e.message})`);
  });
  return parseIdx(bytes, path, expectDims);
}

/** IDX bytes for `dims` and `data` (unsigned bytes), optionally gzip-compressed. Inverse of `parseIdx`. */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = IDX_UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

function hex(b: number | undefined): string {
  return b === undefined ? '??' : b.toString(16).padStart(2, '0');
}
