// Shared shapes of the io layer: a tensor's header entry, the parsed header, a
// tensor read from a file, tensor data to write, and the lazy source that the
// single-file and sharded readers both implement.
import type { ElementArray, SafetensorsDtype } from './dtypes.js';

/** One tensor's header entry; offsets are relative to the start of the data buffer. */
export interface TensorInfo {
  readonly dtype: SafetensorsDtype;
  /** Row-major shape; `[]` for a scalar. */
  readonly shape: readonly number[];
  /** First byte of the tensor in the data buffer. */
  readonly begin: number;
  /** One past the last byte (`end - begin = prod(shape) * sizeof(dtype)`). */
  readonly end: number;
}

/** A validated safetensors header. */
export interface SafetensorsHeader {
  /** `N`, the header length in bytes, padding included. */
  readonly headerBytes: number;
  /** File offset of the data buffer (`8 + N`). */
  readonly dataStart: number;
  /** Length of the data buffer in bytes. */
  readonly dataBytes: number;
  /** `__metadata__`, or null when the file has none. */
  readonly metadata: Readonly<Record<string, string>> | null;
  /** Tensors ordered by their offset in the data buffer. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
}

/**
 * Tensor data to write. `data` is either the raw little-endian bytes
 * (a Uint8Array, whatever the dtype) or the dtype's own typed array
 * (see `DtypeArrays`: Float32Array for F32, Uint16Array bit patterns for F16/BF16,
 * BigInt64Array for I64, ...).
 */
export interface TensorData {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: Uint8Array | ElementArray;
}

/** A tensor read from a safetensors file: raw little-endian bytes plus where they came from. */
export interface SafetensorsTensor extends TensorData {
  readonly name: string;
  /** The file the tensor was read from (used in error messages). */
  readonly file: string;
  /** Raw little-endian bytes; may be a view into a larger buffer. */
  readonly data: Uint8Array;
}

/** Tensors that are read on demand: one safetensors file or a sharded checkpoint. */
export interface TensorSource {
  /** The file (or index file) the tensors come from. */
  readonly file: string;
  /** Tensor names, in file order (sharded: index order). */
  names(): string[];
  /** True when the source holds a tensor of that name. */
  has(name: string): boolean;
  /** Header entry of one tensor; throws ConfigError for an unknown name. */
  info(name: string): Promise<TensorInfo>;
  /** Read one tensor's bytes; throws ConfigError for an unknown name. */
  read(name: string): Promise<SafetensorsTensor>;
  /** Release file handles; reads after this throw. */
  close(): Promise<void>;
}
