// A bzip2 decompressor (the HellaSwag text copy of the benchmark data ships as .bz2 and
// Node's zlib has no bzip2). Follows the format as Julian Seward's bzip2 1.0 writes it:
// stream header `BZh1`..`BZh9`, blocks (Huffman-coded MTF/RLE2 symbols of a
// Burrows-Wheeler transform, then the initial run-length coding) each with a CRC, and
// an end-of-stream marker with the combined CRC. Concatenated streams are decoded one
// after another, as `bzip2 -d` does. Every CRC is checked; a corrupt file is a
// FormatError naming the file.
import { FormatError } from '../../src/errors.js';

/** Largest decompressed output accepted (a guard against decompression bombs). */
export const MAX_BZIP2_OUTPUT_BYTES = 512 * 1024 * 1024;

const BLOCK_MAGIC_HI = 0x314159;
const BLOCK_MAGIC_LO = 0x265359;
const END_MAGIC_HI = 0x177245;
const END_MAGIC_LO = 0x385090;
const MAX_GROUPS = 6;
const GROUP_SIZE = 50;
const MAX_CODE_LEN = 20;

const CRC_TABLE = (() => {
  // bzip2 uses the big-endian (MSB-first) CRC-32 with polynomial 0x04c11db7.
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

class BitReader {
  private pos = 0;
  private bit = 0;
  constructor(
    private readonly data: Uint8Array,
    private readonly file: string,
  ) {}

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      if (this.pos >= this.data.length) throw new FormatError(this.file, 'bzip2 data ends early');
      const b = (this.data[this.pos] >>> (7 - this.bit)) & 1;
      v = v * 2 + b;
      if (++this.bit === 8) {
        this.bit = 0;
        this.pos++;
      }
    }
    return v;
  }

  /** Skip to the next byte boundary (streams start byte-aligned). */
  align(): void {
    if (this.bit !== 0) {
      this.bit = 0;
      this.pos++;
    }
  }

  get atEnd(): boolean {
    return this.pos >= this.data.length;
  }
}

/** Canonical Huffman decoding table of one group. */
interface Huffman {
  limit: Int32Array;
  base: Int32Array;
  perm: Int32Array;
  minLen: number;
}

function buildHuffman(lengths: Uint8Array, alphaSize: number): Huffman {
  let minLen = 32;
  let maxLen = 0;
  for (let i = 0; i < alphaSize; i++) {
    minLen = Math.min(minLen, lengths[i]);
    maxLen = Math.max(maxLen, lengths[i]);
  }
  const perm = new Int32Array(alphaSize);
  let p = 0;
  for (let len = minLen; len <= maxLen; len++) {
    for (let s = 0; s < alphaSize; s++) if (lengths[s] === len) perm[p++] = s;
  }
  const limit = new Int32Array(MAX_CODE_LEN + 2).fill(-1);
  const base = new Int32Array(MAX_CODE_LEN + 2);
  let code = 0;
  let index = 0;
  for (let len = minLen; len <= maxLen; len++) {
    let count = 0;
    for (let s = 0; s < alphaSize; s++) if (lengths[s] === len) count++;
    base[len] = index - code; // perm index = code + base
    code += count;
    index += count;
    limit[len] = code - 1;
    code <<= 1;
  }
  return { limit, base, perm, minLen };
}

function decodeSymbol(r: BitReader, h: Huffman, file: string): number {
  let len = h.minLen;
  let code = r.bits(len);
  while (len <= MAX_CODE_LEN) {
    if (h.limit[len] >= 0 && code <= h.limit[len]) return h.perm[code + h.base[len]];
    code = code * 2 + r.bits(1);
    len++;
  }
  throw new FormatError(file, 'bzip2 block has an invalid Huffman code');
}

/** Decode one block; appends its bytes to `out` and returns the block CRC it computed. */
function decodeBlock(r: BitReader, maxBlock: number, out: Output, file: string): number {
  const bad = (what: string): never => {
    throw new FormatError(file, `corrupt bzip2 block: ${what}`);
  };
  const storedCrc = r.bits(32) >>> 0;
  if (r.bits(1)) bad('randomised blocks are not supported (bzip2 < 0.9.5)');
  const origPtr = r.bits(24);
  // Symbol map: which byte values occur.
  const used = r.bits(16);
  const seqToByte: number[] = [];
  for (let i = 0; i < 16; i++) {
    if (used & (0x8000 >>> i)) {
      const bits = r.bits(16);
      for (let j = 0; j < 16; j++) if (bits & (0x8000 >>> j)) seqToByte.push(i * 16 + j);
    }
  }
  if (seqToByte.length === 0) bad('no symbols in use');
  const alphaSize = seqToByte.length + 2; // RUNA, RUNB, MTF 1..n-1, EOB
  const nGroups = r.bits(3);
  if (nGroups < 2 || nGroups > MAX_GROUPS) bad(`${nGroups} Huffman groups`);
  const nSelectors = r.bits(15);
  if (nSelectors < 1) bad('no selectors');
  const mtfGroups = Array.from({ length: nGroups }, (_, i) => i);
  const selectors = new Uint8Array(nSelectors);
  for (let i = 0; i < nSelectors; i++) {
    let j = 0;
    while (r.bits(1)) if (++j >= nGroups) bad('selector out of range');
    const g = mtfGroups[j];
    mtfGroups.splice(j, 1);
    mtfGroups.unshift(g);
    selectors[i] = g;
  }
  const tables: Huffman[] = [];
  for (let g = 0; g < nGroups; g++) {
    const lengths = new Uint8Array(alphaSize);
    let len = r.bits(5);
    for (let s = 0; s < alphaSize; s++) {
      for (;;) {
        if (len < 1 || len > MAX_CODE_LEN) bad(`code length ${len}`);
        if (!r.bits(1)) break;
        len += r.bits(1) ? -1 : 1;
      }
      lengths[s] = len;
    }
    tables.push(buildHuffman(lengths, alphaSize));
  }
  // Huffman -> MTF/RLE2 -> BWT vector `tt` of byte values.
  const tt = new Uint32Array(maxBlock);
  const counts = new Int32Array(256);
  const mtf = seqToByte.slice();
  const eob = alphaSize - 1;
  let n = 0;
  let group = 0;
  let left = 0;
  let runLength = 0;
  let runWeight = 1;
  for (;;) {
    if (left === 0) {
      if (group >= nSelectors) bad('ran out of selectors');
      left = GROUP_SIZE;
      group++;
    }
    left--;
    const sym = decodeSymbol(r, tables[selectors[group - 1]], file);
    if (sym <= 1) {
      runLength += (sym + 1) * runWeight; // RUNA = 1·w, RUNB = 2·w (bijective base 2)
      runWeight *= 2;
      if (runLength > maxBlock) bad('run longer than the block');
      continue;
    }
    if (runLength > 0) {
      if (n + runLength > maxBlock) bad('block longer than its declared size');
      const b = mtf[0];
      counts[b] += runLength;
      tt.fill(b, n, n + runLength);
      n += runLength;
      runLength = 0;
      runWeight = 1;
    }
    if (sym === eob) break;
    if (n >= maxBlock) bad('block longer than its declared size');
    const idx = sym - 1;
    const b = mtf[idx];
    mtf.splice(idx, 1);
    mtf.unshift(b);
    counts[b]++;
    tt[n++] = b;
  }
  if (origPtr >= n) bad(`origin pointer ${origPtr} beyond the block of ${n}`);
  // Inverse BWT: for each position, the index of its successor (stored in the high bits).
  const start = new Int32Array(256);
  for (let i = 0, sum = 0; i < 256; i++) {
    start[i] = sum;
    sum += counts[i];
  }
  for (let i = 0; i < n; i++) {
    const b = tt[i] & 0xff;
    tt[start[b]++] |= i << 8;
  }
  // Walk the chain and undo the initial RLE (4 equal bytes, then a repeat count).
  let crc = 0xffffffff;
  let pos = tt[origPtr] >>> 8;
  let last = -1;
  let same = 0;
  for (let i = 0; i < n; i++) {
    const entry = tt[pos];
    const b = entry & 0xff;
    pos = entry >>> 8;
    if (same === 4) {
      for (let k = 0; k < b; k++) {
        out.push(last);
        crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ last) & 0xff]) >>> 0;
      }
      same = 0;
      last = -1;
      continue;
    }
    same = b === last ? same + 1 : 1;
    last = b;
    out.push(b);
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]) >>> 0;
  }
  crc = ~crc >>> 0;
  if (crc !== storedCrc) bad(`block CRC mismatch (stored ${storedCrc}, computed ${crc})`);
  return crc;
}

/** A growable byte buffer. */
class Output {
  private buf = new Uint8Array(1 << 20);
  length = 0;
  constructor(private readonly file: string) {}
  push(b: number): void {
    if (this.length === this.buf.length) {
      if (this.length >= MAX_BZIP2_OUTPUT_BYTES) {
        throw new FormatError(
          this.file,
          `decompresses to more than ${MAX_BZIP2_OUTPUT_BYTES} bytes`,
        );
      }
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = b;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** Decompress a whole `.bz2` file held in memory; `file` names it in errors. */
export function bunzip2(data: Uint8Array, file = '<bzip2 data>'): Uint8Array {
  const r = new BitReader(data, file);
  const out = new Output(file);
  let streams = 0;
  while (!r.atEnd) {
    r.align();
    if (r.atEnd) break;
    const magic = r.bits(24);
    if (magic !== 0x425a68) {
      // Trailing garbage after a complete stream is ignored, as bzip2 -d warns and stops.
      if (streams > 0) break;
      throw new FormatError(file, 'not a bzip2 file (no "BZh" header)');
    }
    const level = r.bits(8) - 0x30;
    if (level < 1 || level > 9) throw new FormatError(file, `bad bzip2 block size ${level}`);
    const maxBlock = level * 100000;
    let combined = 0;
    for (;;) {
      const hi = r.bits(24);
      const lo = r.bits(24);
      if (hi === BLOCK_MAGIC_HI && lo === BLOCK_MAGIC_LO) {
        const crc = decodeBlock(r, maxBlock, out, file);
        combined = (((combined << 1) | (combined >>> 31)) ^ crc) >>> 0;
      } else if (hi === END_MAGIC_HI && lo === END_MAGIC_LO) {
        const stored = r.bits(32) >>> 0;
        if (stored !== combined) {
          throw new FormatError(
            file,
            `bzip2 stream CRC mismatch (stored ${stored}, computed ${combined})`,
          );
        }
        break;
      } else {
        throw new FormatError(file, 'corrupt bzip2 data: expected a block or end-of-stream marker');
      }
    }
    streams++;
  }
  if (streams === 0) throw new FormatError(file, 'empty bzip2 file');
  return out.bytes();
}
