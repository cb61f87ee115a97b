// Byte <-> typed array conversion: in-place views when aligned, copies when not,
// and the portable DataView path (used on big-endian hosts) agreeing with both.
import { describe, expect, it } from 'vitest';
import { SAFETENSORS_DTYPES, DTYPE_BYTES } from '../../src/io/dtypes.js';
import {
  bytesToElements,
  decodeLittleEndian,
  elementsToBytes,
  encodeLittleEndian,
} from '../../src/io/typed-data.js';
import { list, prng } from './fixtures.js';

describe('typed data', () => {
  it('views aligned bytes in place and copies unaligned ones', () => {
    const buffer = new Uint8Array(17);
    new Float32Array(buffer.buffer, 0, 4).set([1, 2, 3, 4]);
    const aligned = bytesToElements('F32', buffer.subarray(0, 16));
    expect(aligned.buffer).toBe(buffer.buffer);
    const shifted = new Uint8Array(17);
    shifted.set(buffer.subarray(0, 16), 1);
    const unaligned = bytesToElements('F32', shifted.subarray(1));
    expect(unaligned.buffer).not.toBe(shifted.buffer);
    expect(Array.from(unaligned)).toEqual([1, 2, 3, 4]);
  });

  it.each(SAFETENSORS_DTYPES.map((d) => [d]))(
    'decodes %s identically on the portable path',
    (dtype) => {
      const rand = prng(dtype.length * 7 + DTYPE_BYTES[dtype]);
      let bytes = Uint8Array.from({ length: 8 * DTYPE_BYTES[dtype] }, () =>
        Math.floor(rand() * 256),
      );
      if (dtype === 'F32')
        bytes = new Uint8Array(Float32Array.from({ length: 8 }, () => rand() - 0.5).buffer);
      if (dtype === 'F64')
        bytes = new Uint8Array(Float64Array.from({ length: 8 }, () => rand() - 0.5).buffer);
      const portable = decodeLittleEndian(dtype, bytes);
      expect(list(portable)).toEqual(list(bytesToElements(dtype, bytes)));
      expect(Array.from(encodeLittleEndian(dtype, portable))).toEqual(Array.from(bytes));
      expect(Array.from(elementsToBytes(dtype, portable, 'x'))).toEqual(Array.from(bytes));
    },
  );

  it('reads little-endian regardless of the host', () => {
    const bytes = new Uint8Array([0x01, 0x02, 0x03, 0x04]);
    expect(decodeLittleEndian('U32', bytes)[0]).toBe(0x04030201);
    expect(bytesToElements('U16', bytes)[0]).toBe(0x0201);
    expect(
      decodeLittleEndian(
        'I64',
        new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      )[0],
    ).toBe(-1n);
  });
});
