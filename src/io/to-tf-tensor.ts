// safetensors -> tfjs. tfjs holds only float32, int32 and bool (conventions.md
// 3.1), so float dtypes become float32, integer dtypes int32 (range-checked) and
// BOOL bool, unless the caller asks for another of the three.
import { ConfigError } from '../errors.js';
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { isFloatDtype } from './dtypes.js';
import { decodeToBool, decodeToFloat32, decodeToInt32 } from './decode-elements.js';
import type { SafetensorsTensor, TensorSource } from './types.js';

/** The tfjs dtypes a safetensors tensor can become. */
export type TfDtype = 'float32' | 'int32' | 'bool';

/** Options of `toTfTensor` and `readTfTensors`. */
export interface ToTfOptions {
  /**
   * Target dtype. Integers may be read as float32; BOOL as int32 or float32;
   * floats only as float32. @default float32 for floats, int32 for integers, bool for BOOL
   */
  dtype?: TfDtype;
}

/** The tfjs dtype a safetensors dtype becomes by default. */
export function defaultTfDtype(t: Pick<SafetensorsTensor, 'dtype'>): TfDtype {
  if (t.dtype === 'BOOL') return 'bool';
  return isFloatDtype(t.dtype) ? 'float32' : 'int32';
}

/**
 * A tfjs tensor holding a copy of the values of `t` (the caller owns it and
 * disposes it). Throws FormatError when an I64/U64/U32 value does not fit in
 * int32, ConfigError when the conversion asked for is not possible.
 */
export function toTfTensor(t: SafetensorsTensor, options: ToTfOptions = {}): Tensor {
  const dtype = options.dtype ?? defaultTfDtype(t);
  const shape = [...t.shape];
  switch (dtype) {
    case 'float32':
      return tf.tensor(decodeToFloat32(t), shape, 'float32');
    case 'int32':
      return tf.tensor(decodeToInt32(t), shape, 'int32');
    case 'bool':
      return tf.tensor(decodeToBool(t), shape, 'bool');
    default:
      throw new ConfigError(
        `unknown tfjs dtype ${JSON.stringify(dtype)}; use float32, int32 or bool`,
      );
  }
}

/** Options of `readTfTensors`. */
export interface ReadTfTensorsOptions extends ToTfOptions {
  /** Tensors to read. @default every tensor of the source */
  names?: readonly string[];
}

/**
 * Read tensors of a source into tfjs tensors, one at a time (only one tensor's
 * bytes are in memory at once). If any read fails, the tensors already made
 * are disposed before the error is rethrown.
 */
export async function readTfTensors(
  source: TensorSource,
  options: ReadTfTensorsOptions = {},
): Promise<Record<string, Tensor>> {
  const out: Record<string, Tensor> = Object.create(null) as Record<string, Tensor>;
  try {
    for (const name of options.names ?? source.names()) {
      out[name] = toTfTensor(await source.read(name), options);
    }
  } catch (e) {
    tf.dispose(Object.values(out));
    throw e;
  }
  return out;
}
