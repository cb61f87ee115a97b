// Decodes a tensor read from safetensors into the two numeric types tfjs has:
// float32 (F16 decoded, BF16 as `bits << 16`, F64 narrowed, integers converted)
// and int32 (integers only; 32/64-bit ones range-checked, conventions.md 3.1).
import { ConfigError, FormatError } from '../errors.js';
import { isFloatDtype } from './dtypes.js';
import { decodeBF16, decodeF16 } from './half.js';
import { bytesToElements } from './typed-data.js';
import type { SafetensorsTensor } from './types.js';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN_BIG = BigInt(INT32_MIN);
const INT32_MAX_BIG = BigInt(INT32_MAX);

/** Values of a tensor as float32 (a fresh array, never a view into the file buffer). */
export function decodeToFloat32(t: SafetensorsTensor): Float32Array {
  switch (t.dtype) {
    case 'F16':
      return decodeF16(bytesToElements('F16', t.data));
    case 'BF16':
      return decodeBF16(bytesToElements('BF16', t.data));
    case 'F32':
      return new Float32Array(bytesToElements('F32', t.data));
    case 'I64':
    case 'U64': {
      const src = bytesToElements(t.dtype, t.data);
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
      return out;
    }
    default:
      // F64 narrows with rounding; BOOL/U8/I8/I16/U16/I32/U32 convert exactly up to 2^24.
      return Float32Array.from(bytesToElements(t.dtype, t.data));
  }
}

function outOfRange(t: SafetensorsTensor, index: number, value: number | bigint): FormatError {
  return new FormatError(
    t.file,
    `tensor "${t.name}": ${t.dtype} value ${value} at index ${index} does not fit in int32`,
    'tfjs has no 64-bit integers; read the tensor as float32 or store it as I32',
  );
}

/**
 * Values of an integer or BOOL tensor as int32 (a fresh array). I64, U64 and
 * U32 values outside the int32 range are a FormatError naming the tensor and
 * value; a float tensor is a ConfigError (ask for float32 instead).
 */
export function decodeToInt32(t: SafetensorsTensor): Int32Array {
  if (isFloatDtype(t.dtype)) {
    throw new ConfigError(
      `${t.file}: tensor "${t.name}" is ${t.dtype}; it cannot be read as int32`,
      'read it as float32',
    );
  }
  if (t.dtype === 'I64' || t.dtype === 'U64') {
    const src = bytesToElements(t.dtype, t.data);
    const out = new Int32Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      if (v < INT32_MIN_BIG || v > INT32_MAX_BIG) throw outOfRange(t, i, v);
      out[i] = Number(v);
    }
    return out;
  }
  if (t.dtype === 'U32') {
    const src = bytesToElements('U32', t.data);
    for (let i = 0; i < src.length; i++) if (src[i] > INT32_MAX) throw outOfRange(t, i, src[i]);
    return Int32Array.from(src);
  }
  return Int32Array.from(bytesToElements(t.dtype, t.data));
}

/** Values of a tensor as 0/1 bytes (any non-zero element is true). */
export function decodeToBool(t: SafetensorsTensor): Uint8Array {
  if (t.dtype !== 'BOOL') {
    throw new ConfigError(`${t.file}: tensor "${t.name}" is ${t.dtype}; only BOOL reads as bool`);
  }
  return Uint8Array.from(t.data, (b) => (b === 0 ? 0 : 1));
}
