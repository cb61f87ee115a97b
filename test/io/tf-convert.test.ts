// safetensors <-> tfjs: dtype mapping (float32/int32/bool), F16/BF16 exact for
// representable values and rounded to nearest even otherwise, 64-bit integers
// range-checked with an error naming the tensor and value, scalars and empty
// tensors, and no leaked tensors.
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, FormatError } from '../../src/errors.js';
import {
  fromTfTensor,
  readSafetensors,
  readTfTensors,
  serializeSafetensors,
  toTfTensor,
} from '../../src/io/index.js';
import type { SafetensorsDtype, SafetensorsTensor, TensorData } from '../../src/io/index.js';
import { tf } from '../../src/tf.js';
import { expectNoLeak, setupBackend, values } from '../helpers.js';

/** Write one tensor and read it back as a SafetensorsTensor. */
function roundTrip(t: TensorData, name = 'x'): SafetensorsTensor {
  return readSafetensors(serializeSafetensors({ [name]: t }), {
    file: 'conv.safetensors',
  }).tensors.get(name)!;
}

describe('tfjs conversion', () => {
  beforeAll(setupBackend);

  it.each<[SafetensorsDtype, TensorData['data'], 'float32' | 'int32' | 'bool', number[]]>([
    ['F32', new Float32Array([1.5, -2, 3.25]), 'float32', [1.5, -2, 3.25]],
    ['F16', new Uint16Array([0x3c00, 0xc000, 0x3555]), 'float32', [1, -2, 0.333251953125]],
    ['BF16', new Uint16Array([0x3f80, 0xc040, 0x3eaa]), 'float32', [1, -3, 0.33203125]],
    ['F64', new Float64Array([0.1, -1e300, 2]), 'float32', [Math.fround(0.1), -Infinity, 2]],
    ['I8', new Int8Array([-128, 0, 127]), 'int32', [-128, 0, 127]],
    ['U8', new Uint8Array([0, 128, 255]), 'int32', [0, 128, 255]],
    ['I16', new Int16Array([-32768, 1, 32767]), 'int32', [-32768, 1, 32767]],
    ['U16', new Uint16Array([0, 1, 65535]), 'int32', [0, 1, 65535]],
    ['I32', new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]), 'int32', [-(2 ** 31), 0, 2 ** 31 - 1]],
    ['U32', new Uint32Array([0, 7, 2 ** 31 - 1]), 'int32', [0, 7, 2 ** 31 - 1]],
    [
      'I64',
      new BigInt64Array([-(2n ** 31n), 0n, 2n ** 31n - 1n]),
      'int32',
      [-(2 ** 31), 0, 2 ** 31 - 1],
    ],
    ['U64', new BigUint64Array([0n, 1n, 2n ** 31n - 1n]), 'int32', [0, 1, 2 ** 31 - 1]],
    ['BOOL', new Uint8Array([1, 0, 2]), 'bool', [1, 0, 1]],
  ])('reads %s as its tfjs dtype', async (dtype, data, tfDtype, expected) => {
    const t = toTfTensor(roundTrip({ dtype, shape: [3], data }));
    expect(t.dtype).toBe(tfDtype);
    expect(t.shape).toEqual([3]);
    expect(values(t)).toEqual(expected);
    t.dispose();
  });

  it('reads integers and BOOL as float32 on request, and refuses floats as int32', () => {
    const t = toTfTensor(
      roundTrip({ dtype: 'I64', shape: [2], data: new BigInt64Array([2n ** 40n, -3n]) }),
      { dtype: 'float32' },
    );
    expect(values(t)).toEqual([2 ** 40, -3]);
    const b = toTfTensor(roundTrip({ dtype: 'BOOL', shape: [2], data: new Uint8Array([0, 1]) }), {
      dtype: 'int32',
    });
    expect(b.dtype).toBe('int32');
    tf.dispose([t, b]);
    expect(() =>
      toTfTensor(roundTrip({ dtype: 'F32', shape: [1], data: new Float32Array(1) }), {
        dtype: 'int32',
      }),
    ).toThrow(ConfigError);
    expect(() =>
      toTfTensor(roundTrip({ dtype: 'U8', shape: [1], data: new Uint8Array(1) }), {
        dtype: 'bool',
      }),
    ).toThrow(ConfigError);
  });

  it.each<[SafetensorsDtype, TensorData['data'], string]>([
    ['I64', new BigInt64Array([0n, 2n ** 31n]), 'I64 value 2147483648 at index 1'],
    ['I64', new BigInt64Array([-(2n ** 31n) - 1n]), 'I64 value -2147483649 at index 0'],
    ['U64', new BigUint64Array([2n ** 64n - 1n]), 'U64 value 18446744073709551615 at index 0'],
    ['U32', new Uint32Array([1, 2 ** 32 - 1]), 'U32 value 4294967295 at index 1'],
  ])('refuses an out-of-range %s value, naming tensor and value', (dtype, data, what) => {
    const before = tf.memory().numTensors;
    const err = (() => {
      try {
        toTfTensor(roundTrip({ dtype, shape: [data.length], data }, 'ids'));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(FormatError);
    expect((err as Error).message).toContain(
      `conv.safetensors: tensor "ids": ${what} does not fit in int32`,
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps rank-0 scalars and empty tensors', async () => {
    const s = toTfTensor(roundTrip({ dtype: 'F16', shape: [], data: new Uint16Array([0x4200]) }));
    expect(s.rank).toBe(0);
    expect(values(s)).toEqual([3]);
    const e = toTfTensor(roundTrip({ dtype: 'I32', shape: [2, 0], data: new Int32Array() }));
    expect(e.shape).toEqual([2, 0]);
    const back = await fromTfTensor(e);
    expect(back).toEqual({ dtype: 'I32', shape: [2, 0], data: new Int32Array() });
    tf.dispose([s, e]);
  });

  it('writes float32 as F32, F16 and BF16 exactly when representable', async () => {
    await expectNoLeak(async () => {
      const x = tf.tensor([1, -2, 0.5, 65504, 2 ** -24, -0, Infinity], [7]);
      for (const dtype of ['F32', 'F16'] as const) {
        const back = toTfTensor(roundTrip(await fromTfTensor(x, { dtype })));
        expect(values(back)).toEqual(values(x));
        back.dispose();
      }
      const y = tf.tensor([1, -2, 0.5, 3.3895313892515355e38, -Infinity], [5]);
      const back = toTfTensor(roundTrip(await fromTfTensor(y, { dtype: 'BF16' })));
      expect(values(back)).toEqual(values(y));
      tf.dispose([x, y, back]);
    });
  });

  it('rounds float32 to F16 and BF16 to nearest even', async () => {
    const x = tf.tensor([1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 70000]);
    const f16 = await fromTfTensor(x, { dtype: 'F16' });
    expect(Array.from(f16.data as Uint16Array)).toEqual([0x3c00, 0x3c02, 0x3c04, 0x3c0c, 0x7c00]);
    const bf16 = await fromTfTensor(x, { dtype: 'BF16' });
    expect(Array.from(bf16.data as Uint16Array)).toEqual([0x3f80, 0x3f80, 0x3f80, 0x3f82, 0x4789]);
    x.dispose();
  });

  it('writes int32 as I32 or I64 and bool as BOOL, and refuses other targets', async () => {
    const i = tf.tensor([-5, 7], [2], 'int32');
    expect(await fromTfTensor(i, { dtype: 'I64' })).toEqual({
      dtype: 'I64',
      shape: [2],
      data: new BigInt64Array([-5n, 7n]),
    });
    expect(values(toTfTensor(roundTrip(await fromTfTensor(i))))).toEqual([-5, 7]);
    const b = tf.tensor([true, false], [2], 'bool');
    expect(await fromTfTensor(b)).toEqual({
      dtype: 'BOOL',
      shape: [2],
      data: new Uint8Array([1, 0]),
    });
    await expect(fromTfTensor(i, { dtype: 'F32' })).rejects.toThrow(ConfigError);
    await expect(fromTfTensor(b, { dtype: 'U8' })).rejects.toThrow(
      /bool tensor cannot be stored as U8/,
    );
    const c = tf.tensor(['a']);
    await expect(fromTfTensor(c)).rejects.toThrow(/cannot store a string tensor/);
    tf.dispose([i, b, c]);
  });

  it('reads a whole source into tfjs tensors, disposing them all if one fails', async () => {
    const bytes = serializeSafetensors({
      a: { dtype: 'F32', shape: [1], data: new Float32Array([1]) },
      z: { dtype: 'I64', shape: [1], data: new BigInt64Array([2n ** 40n]) },
    });
    const file = readSafetensors(bytes, { file: 'src' });
    const source = {
      file: 'src',
      names: () => [...file.tensors.keys()],
      has: (n: string) => file.tensors.has(n),
      info: async (n: string) => file.header.tensors.get(n)!,
      read: async (n: string) => file.tensors.get(n)!,
      close: async () => undefined,
    };
    await expectNoLeak(async () => {
      await expect(readTfTensors(source)).rejects.toThrow(/does not fit in int32/);
    });
    const ok = await readTfTensors(source, { names: ['a'] });
    expect(Object.keys(ok)).toEqual(['a']);
    tf.dispose(Object.values(ok));
  });
});
