// Malformed safetensors files: each is refused with a FormatError naming the file
// and the problem, by the in-memory reader and by the on-demand file reader alike.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_HEADER_BYTES, openSafetensors, readSafetensors } from '../../src/io/index.js';
import {
  expectFormatError,
  expectFormatErrorAsync,
  headerOf,
  rawSafetensors,
  tempFolder,
} from './fixtures.js';

const ok = (extra = '') => `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}${extra}}`;
const utf8 = (s: string) => new TextEncoder().encode(s);

/** [what, file bytes, expected problem] */
const CASES: [string, Uint8Array, RegExp][] = [
  ['an empty file', new Uint8Array(0), /0 bytes, shorter than the 8-byte header length/],
  ['a file truncated before 8 bytes', new Uint8Array([8, 0, 0, 0, 0]), /5 bytes, shorter than/],
  [
    'a header length beyond the file',
    rawSafetensors('{}', 0, { declaredLength: 1000n }),
    /header length 1000 runs past the end of the file \(16 bytes\)/,
  ],
  [
    'a header over the size limit',
    rawSafetensors('{}', 0, { declaredLength: BigInt(MAX_HEADER_BYTES + 1) }),
    /header is too big: 100000001 bytes \(limit 100000000\)/,
  ],
  [
    'a header length of 2^64 - 1',
    rawSafetensors('{}', 0, { declaredLength: 2n ** 64n - 1n }),
    /header is too big: 18446744073709551615 bytes/,
  ],
  [
    'a header that is not UTF-8',
    rawSafetensors('{"\xff":1}').map((b, i) => (i === 10 ? 0xff : b)),
    /header is not valid UTF-8/,
  ],
  ['a non-JSON header', rawSafetensors('{"a": {"dtype": '), /header is not valid JSON/],
  [
    'a header padded with NUL bytes',
    rawSafetensors('{}      ').map((b) => (b === 0x20 ? 0 : b)),
    /header is not valid JSON/,
  ],
  [
    'a header that is an array',
    rawSafetensors('[1, 2]'),
    /header is not a JSON object \(it must start with "\{"\)/,
  ],
  ['a header with leading whitespace', rawSafetensors(' {}'), /must start with "\{"/],
  ['an empty header', rawSafetensors('', 0, { pad: false }), /must start with "\{"/],
  [
    'an entry that is not an object',
    rawSafetensors('{"a":[1]}'),
    /tensor "a": entry must be an object/,
  ],
  [
    'a missing dtype',
    rawSafetensors('{"a":{"shape":[2],"data_offsets":[0,8]}}', 8),
    /tensor "a": missing "dtype"/,
  ],
  [
    'an unknown dtype',
    rawSafetensors(headerOf([['a', 'F8_E4M3', [2], 0, 2]]), 2),
    /tensor "a": unknown dtype "F8_E4M3".*supported dtypes: BOOL/,
  ],
  [
    'a dtype that is not a string',
    rawSafetensors('{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}', 4),
    /unknown dtype 4/,
  ],
  [
    'an unknown field',
    rawSafetensors(ok().replace('"data_offsets"', '"strides":[1],"data_offsets"'), 8),
    /tensor "a": unknown field "strides"/,
  ],
  [
    'a shape that disagrees with the offsets',
    rawSafetensors(headerOf([['a', 'F32', [3], 0, 8]]), 8),
    /tensor "a": shape \[3\] of F32 needs 12 bytes, but data_offsets \[0, 8\] span 8/,
  ],
  [
    'a shape too big for any buffer',
    rawSafetensors(headerOf([['a', 'F32', [2 ** 52, 2 ** 52], 0, 8]]), 8),
    /needs more than the whole data buffer/,
  ],
  [
    'offsets beyond the data buffer',
    rawSafetensors(headerOf([['a', 'F32', [4], 0, 16]]), 8),
    /tensor "a": data_offsets \[0, 16\] are outside the data buffer of 8 bytes/,
  ],
  [
    'offsets in the wrong order',
    rawSafetensors(headerOf([['a', 'F32', [0], 8, 4]]), 8),
    /data_offsets \[8, 4\] are outside/,
  ],
  [
    'offsets that are not two integers',
    rawSafetensors('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}}', 1),
    /data_offsets must be two non-negative integers, got \[0\]/,
  ],
  [
    'negative offsets',
    rawSafetensors('{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}', 1),
    /data_offsets must be two non-negative integers/,
  ],
  [
    'overlapping tensors',
    rawSafetensors(
      headerOf([
        ['a', 'F32', [2], 0, 8],
        ['b', 'F32', [2], 4, 12],
      ]),
      12,
    ),
    /tensor "b" at \[4, 12\] overlaps tensor "a" ending at 8/,
  ],
  [
    'an empty tensor inside another one',
    rawSafetensors(
      headerOf([
        ['a', 'F32', [2], 0, 8],
        ['b', 'F32', [0], 4, 4],
      ]),
      8,
    ),
    /tensor "b" at \[4, 4\] overlaps tensor "a"/,
  ],
  [
    'a hole in the buffer',
    rawSafetensors(
      headerOf([
        ['a', 'F32', [1], 0, 4],
        ['b', 'F32', [1], 8, 12],
      ]),
      12,
    ),
    /hole in the data buffer: bytes \[4, 8\) belong to no tensor/,
  ],
  [
    'a hole at the start',
    rawSafetensors(headerOf([['a', 'F32', [1], 4, 8]]), 8),
    /hole in the data buffer: bytes \[0, 4\)/,
  ],
  [
    'trailing bytes',
    rawSafetensors(ok(), 11),
    /3 trailing bytes after the last tensor \(tensors end at 8, the data buffer is 11 bytes\)/,
  ],
  ['data with no tensors', rawSafetensors('{}', 4), /4 trailing bytes/],
  [
    'a duplicate tensor name',
    rawSafetensors(
      headerOf([
        ['a', 'F32', [1], 0, 4],
        ['a', 'F32', [1], 4, 8],
      ]),
      8,
    ),
    /header has a duplicate tensor name "a"/,
  ],
  [
    'a duplicate name spelled with an escape',
    rawSafetensors(
      '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\\u0061":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}',
      2,
    ),
    /duplicate tensor name "a"/,
  ],
  [
    'a duplicate field in an entry',
    rawSafetensors('{"a":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}}', 1),
    /duplicate key "dtype" in "a"/,
  ],
  [
    'a duplicate __metadata__',
    rawSafetensors('{"__metadata__":{},"__metadata__":{}}'),
    /duplicate tensor name "__metadata__"/,
  ],
  [
    'a number in __metadata__',
    rawSafetensors(headerOf([], { n: 1 })),
    /__metadata__\["n"\] must be a string, got 1/,
  ],
  [
    'nested JSON in __metadata__',
    rawSafetensors(headerOf([], { cfg: { a: 1 } })),
    /__metadata__\["cfg"\] must be a string/,
  ],
  [
    '__metadata__ that is not an object',
    rawSafetensors('{"__metadata__":["pt"]}'),
    /__metadata__ must be an object of strings/,
  ],
  [
    '__metadata__ that is null',
    rawSafetensors('{"__metadata__":null}'),
    /__metadata__ must be an object of strings, got null/,
  ],
  [
    'a negative shape entry',
    rawSafetensors(headerOf([['a', 'U8', [2, -1], 0, 0]])),
    /tensor "a": shape\[1\] = -1 is not a non-negative integer/,
  ],
  [
    'a fractional shape entry',
    rawSafetensors(headerOf([['a', 'U8', [1.5], 0, 0]])),
    /shape\[0\] = 1.5 is not a non-negative integer/,
  ],
  [
    'a string shape entry',
    rawSafetensors('{"a":{"dtype":"U8","shape":["2"],"data_offsets":[0,2]}}', 2),
    /shape\[0\] = "2" is not/,
  ],
  [
    'a shape that is not an array',
    rawSafetensors('{"a":{"dtype":"U8","shape":2,"data_offsets":[0,2]}}', 2),
    /shape must be an array/,
  ],
  [
    'a rank over the limit',
    rawSafetensors(headerOf([['a', 'U8', new Array(65).fill(1), 0, 1]]), 1),
    /tensor "a": rank 65 is over the limit 64/,
  ],
  [
    'a name over the limit',
    rawSafetensors(headerOf([['n'.repeat(4097), 'U8', [0], 0, 0]])),
    /is 4097 bytes, over the limit 4096/,
  ],
];

describe('malformed safetensors', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  beforeAll(async () => ({ dir, cleanup } = await tempFolder()));
  afterAll(() => cleanup());

  it('has at least 30 distinct cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(CASES)('rejects %s from memory', (_what, bytes, problem) => {
    expectFormatError(
      () => readSafetensors(bytes, { file: 'bad.safetensors' }),
      'bad.safetensors',
      problem,
    );
  });

  it.each(CASES)('rejects %s from disk', async (what, bytes, problem) => {
    const path = join(dir, `${what.replace(/[^a-z0-9]+/gi, '-')}.safetensors`);
    await writeFile(path, bytes);
    await expectFormatErrorAsync(openSafetensors(path), path, problem);
  });

  it('names the problem and gives a hint for a file that is not safetensors at all', () => {
    const err = expectFormatError(
      () => readSafetensors(utf8('PK\x03\x04 this is a zip file'), { file: 'x.bin' }),
      'x.bin',
      /header is too big/,
    );
    expect(err.hint).toMatch(/not a safetensors file/);
  });
});
