// IEEE binary16 (F16) and bfloat16 (BF16) <-> float32 conversions on raw 16-bit
// patterns. Encoding rounds to nearest, ties to even, as PyTorch and numpy do;
// NaN stays NaN (quiet), infinities and signed zeros are kept.

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

function f32Bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0];
}

/** Value of one F16 bit pattern (exact in float32). */
export function f16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** F16 bit pattern of a number, after rounding it to float32 (round to nearest even). */
export function numberToF16Bits(x: number): number {
  const bits = f32Bits(x);
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | (mant ? 0x7e00 | (mant >>> 13) : 0x7c00);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the full 24-bit significand down.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e; // 14..24
    let h = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // a carry may reach infinity: correct
  return sign | h;
}

/** Value of one BF16 bit pattern (the upper half of a float32). */
export function bf16BitsToNumber(bits: number): number {
  scratchU32[0] = (bits & 0xffff) << 16;
  return scratchF32[0];
}

/** BF16 bit pattern of a number, after rounding it to float32 (round to nearest even). */
export function numberToBf16Bits(x: number): number {
  const bits = f32Bits(x);
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40; // NaN: keep it quiet
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) / 0x10000) & 0xffff;
}

let f16Table: Float32Array | null = null;

/** Decode F16 bit patterns to float32 (through a 65,536-entry table built once). */
export function decodeF16(bits: Uint16Array): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(0x10000);
    for (let i = 0; i < 0x10000; i++) f16Table[i] = f16BitsToNumber(i);
  }
  const table = f16Table;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

/** Encode float32 values as F16 bit patterns (round to nearest even). */
export function encodeF16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = numberToF16Bits(values[i]);
  return out;
}

/** Decode BF16 bit patterns to float32 (`bits << 16`). */
export function decodeBF16(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}

/** Encode float32 values as BF16 bit patterns (round to nearest even). */
export function encodeBF16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = numberToBf16Bits(values[i]);
  return out;
}
