// F16/BF16 conversions: exact for representable values, round to nearest even on
// hand-picked ties, special values kept; exhaustive over all bit patterns.
import { describe, expect, it } from 'vitest';
import {
  bf16BitsToNumber,
  decodeBF16,
  decodeF16,
  encodeBF16,
  encodeF16,
  f16BitsToNumber,
  numberToBf16Bits,
  numberToF16Bits,
} from '../../src/io/half.js';

describe('F16', () => {
  it('decodes and re-encodes every non-NaN bit pattern exactly', () => {
    const all = new Uint16Array(0x10000).map((_, i) => i);
    const values = decodeF16(all);
    const back = encodeF16(values);
    for (let i = 0; i < 0x10000; i++) {
      const isNaN = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
      if (isNaN) expect(Number.isNaN(values[i])).toBe(true);
      else if (back[i] !== i)
        expect.fail(`pattern ${i.toString(16)} came back as ${back[i].toString(16)}`);
    }
  });

  it('decodes known values', () => {
    expect(f16BitsToNumber(0x3c00)).toBe(1);
    expect(f16BitsToNumber(0xc000)).toBe(-2);
    expect(f16BitsToNumber(0x7bff)).toBe(65504);
    expect(f16BitsToNumber(0x0001)).toBe(2 ** -24);
    expect(f16BitsToNumber(0x0400)).toBe(2 ** -14);
    expect(f16BitsToNumber(0x7c00)).toBe(Infinity);
    expect(Object.is(f16BitsToNumber(0x8000), -0)).toBe(true);
  });

  it.each([
    ['1 + 2^-11 (tie, to even: down)', 1 + 2 ** -11, 0x3c00],
    ['1 + 3*2^-11 (tie, to even: up)', 1 + 3 * 2 ** -11, 0x3c02],
    ['just above the 1 + 2^-11 tie', 1 + 2 ** -11 + 2 ** -20, 0x3c01],
    ['just below the 1 + 3*2^-11 tie', 1 + 3 * 2 ** -11 - 2 ** -20, 0x3c01],
    ['65519 (below the overflow tie)', 65519, 0x7bff],
    ['65520 (tie at the top: to infinity)', 65520, 0x7c00],
    ['1e6 (overflow)', 1e6, 0x7c00],
    ['2^-25 (tie with 0: to even zero)', 2 ** -25, 0x0000],
    ['2^-25 + 2^-35 (rounds up to the smallest subnormal)', 2 ** -25 + 2 ** -35, 0x0001],
    ['3 * 2^-25 (subnormal tie, to even: up)', 3 * 2 ** -25, 0x0002],
    ['5 * 2^-25 (subnormal tie, to even: down)', 5 * 2 ** -25, 0x0002],
    [
      '2^-14 - 2^-25 (tie between largest subnormal and smallest normal)',
      2 ** -14 - 2 ** -25,
      0x0400,
    ],
    ['1e-10 (underflow to zero)', 1e-10, 0x0000],
    ['-1.5', -1.5, 0xbe00],
    ['-0', -0, 0x8000],
    ['-Infinity', -Infinity, 0xfc00],
  ])('rounds %s', (_label, value, bits) => {
    expect(numberToF16Bits(value)).toBe(bits);
  });

  it('keeps NaN a NaN', () => {
    const bits = numberToF16Bits(NaN);
    expect((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0).toBe(true);
  });
});

describe('BF16', () => {
  it('decodes and re-encodes every non-NaN bit pattern exactly', () => {
    const all = new Uint16Array(0x10000).map((_, i) => i);
    const back = encodeBF16(decodeBF16(all));
    for (let i = 0; i < 0x10000; i++) {
      const isNaN = (i & 0x7f80) === 0x7f80 && (i & 0x7f) !== 0;
      if (!isNaN && back[i] !== i)
        expect.fail(`pattern ${i.toString(16)} came back as ${back[i].toString(16)}`);
    }
  });

  it('decodes as the upper half of a float32', () => {
    expect(bf16BitsToNumber(0x3f80)).toBe(1);
    expect(bf16BitsToNumber(0xc040)).toBe(-3);
    expect(bf16BitsToNumber(0x7f80)).toBe(Infinity);
  });

  it.each([
    ['1 + 2^-8 (tie, to even: down)', 1 + 2 ** -8, 0x3f80],
    ['1 + 3*2^-8 (tie, to even: up)', 1 + 3 * 2 ** -8, 0x3f82],
    ['1 + 2^-8 + 2^-20 (above the tie)', 1 + 2 ** -8 + 2 ** -20, 0x3f81],
    ['largest float32 (rounds to infinity)', 3.4028234663852886e38, 0x7f80],
    ['-0', -0, 0x8000],
    ['smallest float32 subnormal (below half a BF16 ulp: zero)', 2 ** -149, 0x0000],
  ])('rounds %s', (_label, value, bits) => {
    expect(numberToBf16Bits(value)).toBe(bits);
  });

  it('keeps NaN a NaN', () => {
    expect(Number.isNaN(bf16BitsToNumber(numberToBf16Bits(NaN)))).toBe(true);
    // A NaN whose payload sits only in the low 16 bits must not become infinity.
    const f = new Float32Array(new Uint32Array([0x7f800001]).buffer)[0];
    expect(Number.isNaN(bf16BitsToNumber(numberToBf16Bits(f)))).toBe(true);
  });
});
