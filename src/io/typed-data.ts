// Raw little-endian bytes <-> the typed array of a dtype. On a little-endian host
// (every platform Node ships for in practice) an aligned tensor is viewed in
// place and an unaligned one is copied first; a big-endian host goes through
// DataView with explicit little-endian reads and writes.
import { ConfigError } from '../errors.js';
import { DTYPE_ARRAY, DTYPE_BYTES } from './dtypes.js';
import type { DtypeArrays, ElementArray, SafetensorsDtype } from './dtypes.js';

/** True when this process stores numbers little-endian. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Getter = (view: DataView, at: number) => number | bigint;
type Setter = (view: DataView, at: number, value: number | bigint) => void;

const GET: Record<SafetensorsDtype, Getter> = {
  BOOL: (v, at) => v.getUint8(at),
  U8: (v, at) => v.getUint8(at),
  I8: (v, at) => v.getInt8(at),
  I16: (v, at) => v.getInt16(at, true),
  U16: (v, at) => v.getUint16(at, true),
  F16: (v, at) => v.getUint16(at, true),
  BF16: (v, at) => v.getUint16(at, true),
  I32: (v, at) => v.getInt32(at, true),
  U32: (v, at) => v.getUint32(at, true),
  F32: (v, at) => v.getFloat32(at, true),
  F64: (v, at) => v.getFloat64(at, true),
  I64: (v, at) => v.getBigInt64(at, true),
  U64: (v, at) => v.getBigUint64(at, true),
};

const SET: Record<SafetensorsDtype, Setter> = {
  BOOL: (v, at, x) => v.setUint8(at, x as number),
  U8: (v, at, x) => v.setUint8(at, x as number),
  I8: (v, at, x) => v.setInt8(at, x as number),
  I16: (v, at, x) => v.setInt16(at, x as number, true),
  U16: (v, at, x) => v.setUint16(at, x as number, true),
  F16: (v, at, x) => v.setUint16(at, x as number, true),
  BF16: (v, at, x) => v.setUint16(at, x as number, true),
  I32: (v, at, x) => v.setInt32(at, x as number, true),
  U32: (v, at, x) => v.setUint32(at, x as number, true),
  F32: (v, at, x) => v.setFloat32(at, x as number, true),
  F64: (v, at, x) => v.setFloat64(at, x as number, true),
  I64: (v, at, x) => v.setBigInt64(at, x as bigint, true),
  U64: (v, at, x) => v.setBigUint64(at, x as bigint, true),
};

/** Portable decode through DataView (used on big-endian hosts; exported for tests). */
export function decodeLittleEndian<D extends SafetensorsDtype>(
  dtype: D,
  bytes: Uint8Array,
): DtypeArrays[D] {
  const size = DTYPE_BYTES[dtype];
  const n = Math.floor(bytes.byteLength / size);
  const out = new DTYPE_ARRAY[dtype](n) as DtypeArrays[D];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const get = GET[dtype];
  const target = out as unknown as { [i: number]: number | bigint };
  for (let i = 0; i < n; i++) target[i] = get(view, i * size);
  return out;
}

/** Portable encode through DataView (used on big-endian hosts; exported for tests). */
export function encodeLittleEndian(dtype: SafetensorsDtype, values: ElementArray): Uint8Array {
  const size = DTYPE_BYTES[dtype];
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  const set = SET[dtype];
  for (let i = 0; i < values.length; i++) set(view, i * size, values[i]);
  return out;
}

/**
 * The elements of `bytes` (little-endian) as the dtype's typed array. The result
 * is a view sharing memory with `bytes` when the host is little-endian and the
 * bytes are aligned for the element size, otherwise a copy. Trailing bytes that
 * do not fill an element are ignored (callers check sizes against the shape).
 */
export function bytesToElements<D extends SafetensorsDtype>(
  dtype: D,
  bytes: Uint8Array,
): DtypeArrays[D] {
  if (!HOST_LITTLE_ENDIAN) return decodeLittleEndian(dtype, bytes);
  const size = DTYPE_BYTES[dtype];
  const n = Math.floor(bytes.byteLength / size);
  const Ctor = DTYPE_ARRAY[dtype];
  if (bytes.byteOffset % size === 0)
    return new Ctor(bytes.buffer, bytes.byteOffset, n) as DtypeArrays[D];
  const copy = bytes.slice(0, n * size); // a fresh buffer starts at offset 0: aligned
  return new Ctor(copy.buffer, 0, n) as DtypeArrays[D];
}

/** Name of a typed array's class, robust across realms (`Float32Array`, ...). */
export function typedArrayKind(value: unknown): string | null {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return null;
  return (value as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag];
}

/**
 * Little-endian bytes of tensor data given either as raw bytes (any Uint8Array)
 * or as the dtype's own typed array. Throws ConfigError naming `what` when the
 * array kind does not match the dtype. A view, not a copy, on little-endian hosts.
 */
export function elementsToBytes(
  dtype: SafetensorsDtype,
  data: Uint8Array | ElementArray,
  what: string,
): Uint8Array {
  const kind = typedArrayKind(data);
  const expected = DTYPE_ARRAY[dtype].name;
  if (kind === 'Uint8Array') return data as Uint8Array;
  if (kind !== expected) {
    throw new ConfigError(
      `${what}: data for dtype ${dtype} must be a ${expected} or raw bytes (Uint8Array), got ${kind ?? typeof data}`,
    );
  }
  if (!HOST_LITTLE_ENDIAN) return encodeLittleEndian(dtype, data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
