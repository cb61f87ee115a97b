// tfjs -> safetensors. float32 is stored as F32 (or F16/BF16, rounded to nearest
// even, or F64 on request), int32 as I32 (or I64), bool as BOOL.
import { ConfigError } from '../errors.js';
import type { Tensor } from '../tf.js';
import type { SafetensorsDtype } from './dtypes.js';
import { encodeBF16, encodeF16 } from './half.js';
import type { TensorData } from './types.js';

/** Options of `fromTfTensor`. */
export interface FromTfOptions {
  /**
   * Stored dtype: F32, F16, BF16 or F64 for float32 tensors; I32 or I64 for
   * int32; BOOL for bool. @default F32, I32 or BOOL
   */
  dtype?: SafetensorsDtype;
}

const ALLOWED: Record<string, readonly SafetensorsDtype[]> = {
  float32: ['F32', 'F16', 'BF16', 'F64'],
  int32: ['I32', 'I64'],
  bool: ['BOOL'],
};

/** Encode float32 values as a float dtype (F16/BF16 round to nearest even). */
export function encodeFloat32(values: Float32Array, dtype: SafetensorsDtype): TensorData['data'] {
  switch (dtype) {
    case 'F32':
      return values;
    case 'F16':
      return encodeF16(values);
    case 'BF16':
      return encodeBF16(values);
    case 'F64':
      return Float64Array.from(values);
    default:
      throw new ConfigError(`float32 values cannot be stored as ${dtype}`);
  }
}

/**
 * The values of a tfjs tensor as safetensors tensor data (reads them with
 * `await t.data()`; the tensor is not disposed). ConfigError for a dtype tfjs
 * cannot convert to, or a complex/string tensor.
 */
export async function fromTfTensor(t: Tensor, options: FromTfOptions = {}): Promise<TensorData> {
  const allowed = ALLOWED[t.dtype];
  if (!allowed) {
    throw new ConfigError(
      `cannot store a ${t.dtype} tensor in safetensors`,
      'use float32, int32 or bool',
    );
  }
  const dtype = options.dtype ?? allowed[0];
  if (!allowed.includes(dtype)) {
    throw new ConfigError(
      `a ${t.dtype} tensor cannot be stored as ${dtype}`,
      `use one of ${allowed.join(', ')}`,
    );
  }
  const shape = [...t.shape];
  if (t.dtype === 'float32') {
    const values = (await t.data<'float32'>()) as Float32Array;
    return { dtype, shape, data: encodeFloat32(values, dtype) };
  }
  if (t.dtype === 'int32') {
    const values = (await t.data<'int32'>()) as Int32Array;
    const data = dtype === 'I64' ? BigInt64Array.from(values, (v) => BigInt(v)) : values;
    return { dtype, shape, data };
  }
  const values = (await t.data<'bool'>()) as Uint8Array;
  return { dtype, shape, data: Uint8Array.from(values, (v) => (v ? 1 : 0)) };
}
