// safetensors element types: byte sizes, the ordering the reference writer uses,
// and the typed array each one is held in. Follows the `Dtype` enum of
// huggingface/safetensors (conventions.md 3.1).

/**
 * The dtypes snnlm reads and writes, in the reference enum order (increasing
 * alignment). The writer sorts tensors by the reverse of this order, then by name.
 * NOTE: the newer 8/6/4-bit float types (`F8_E4M3`, `F4`, ...) and `C64` are not
 * supported; a file using them is rejected with a FormatError naming the dtype.
 */
export const SAFETENSORS_DTYPES = [
  'BOOL',
  'U8',
  'I8',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
  'I64',
  'U64',
] as const;

/** One safetensors element type, e.g. `F32`. */
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/**
 * The typed array that holds each dtype's elements. `F16` and `BF16` are held as
 * their raw 16-bit patterns; `BOOL` as one byte per element (0 or 1).
 */
export interface DtypeArrays {
  BOOL: Uint8Array;
  U8: Uint8Array;
  I8: Int8Array;
  I16: Int16Array;
  U16: Uint16Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I32: Int32Array;
  U32: Uint32Array;
  F32: Float32Array;
  F64: Float64Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
}

/** Any typed array that holds the elements of some dtype. */
export type ElementArray = DtypeArrays[SafetensorsDtype];

type ArrayCtor = {
  new (length: number): ElementArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): ElementArray;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
};

/** Constructor of the typed array of each dtype. */
export const DTYPE_ARRAY: Readonly<Record<SafetensorsDtype, ArrayCtor>> = {
  BOOL: Uint8Array,
  U8: Uint8Array,
  I8: Int8Array,
  I16: Int16Array,
  U16: Uint16Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I32: Int32Array,
  U32: Uint32Array,
  F32: Float32Array,
  F64: Float64Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
};

const RANK = new Map<string, number>(SAFETENSORS_DTYPES.map((d, i) => [d, i]));

/** True when `value` is one of the supported dtype names. */
export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && RANK.has(value);
}

/** Position of a dtype in the reference enum order (0 for BOOL ... 12 for U64). */
export function dtypeOrder(dtype: SafetensorsDtype): number {
  return RANK.get(dtype) ?? -1;
}

/** True for the floating-point dtypes (F16, BF16, F32, F64). */
export function isFloatDtype(dtype: SafetensorsDtype): boolean {
  return dtype === 'F16' || dtype === 'BF16' || dtype === 'F32' || dtype === 'F64';
}
