// Every named limit is enforced exactly: a file at the limit is read, one past it
// is refused with a FormatError stating the limit. Defaults are probed directly
// where that is cheap, and through lowered limits otherwise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { open, writeFile } from 'node:fs/promises';
import {
  DEFAULT_LIMITS,
  MAX_HEADER_BYTES,
  MAX_INDEX_BYTES,
  MAX_NAME_BYTES,
  MAX_RANK,
  MAX_TENSORS,
  openShardedSafetensors,
  readSafetensors,
  serializeSafetensors,
} from '../../src/io/index.js';
import {
  expectFormatError,
  expectFormatErrorAsync,
  headerOf,
  rawSafetensors,
  tempFolder,
} from './fixtures.js';

/** A header of `count` empty U8 tensors. */
function manyEmpty(count: number): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i++)
    parts.push(`"t${i}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`);
  return `{${parts.join(',')}}`;
}

describe('safetensors limits', () => {
  it('exports the documented defaults', () => {
    expect(DEFAULT_LIMITS).toEqual({
      maxHeaderBytes: 100_000_000,
      maxTensors: MAX_TENSORS,
      maxRank: MAX_RANK,
      maxNameBytes: MAX_NAME_BYTES,
    });
  });

  it('reads a header of exactly MAX_HEADER_BYTES and refuses one byte more', () => {
    const bytes = new Uint8Array(8 + MAX_HEADER_BYTES).fill(0x20);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES), true);
    bytes.set([0x7b, 0x7d], 8); // "{}" then spaces
    expect(readSafetensors(bytes).header.headerBytes).toBe(MAX_HEADER_BYTES);
    const over = rawSafetensors('{}', 0, { declaredLength: BigInt(MAX_HEADER_BYTES + 1) });
    expectFormatError(
      () => readSafetensors(over, { file: 'f' }),
      'f',
      /header is too big: 100000001 bytes \(limit 100000000\)/,
    );
  });

  it('applies a lowered header limit at exactly that size', () => {
    const at = rawSafetensors('{}'.padEnd(64, ' '), 0, { pad: false });
    expect(readSafetensors(at, { limits: { maxHeaderBytes: 64 } }).tensors.size).toBe(0);
    expectFormatError(
      () => readSafetensors(at, { file: 'f', limits: { maxHeaderBytes: 63 } }),
      'f',
      /header is too big: 64 bytes \(limit 63\)/,
    );
  });

  it('reads MAX_TENSORS tensors and refuses one more', () => {
    expect(readSafetensors(rawSafetensors(manyEmpty(MAX_TENSORS))).tensors.size).toBe(MAX_TENSORS);
    expectFormatError(
      () => readSafetensors(rawSafetensors(manyEmpty(MAX_TENSORS + 1)), { file: 'f' }),
      'f',
      new RegExp(`too many tensors: ${MAX_TENSORS + 1} \\(limit ${MAX_TENSORS}\\)`),
    );
  });

  it('applies a lowered tensor-count limit', () => {
    const three = rawSafetensors(manyEmpty(3));
    expect(readSafetensors(three, { limits: { maxTensors: 3 } }).tensors.size).toBe(3);
    expectFormatError(
      () => readSafetensors(three, { file: 'f', limits: { maxTensors: 2 } }),
      'f',
      /too many tensors: 3 \(limit 2\)/,
    );
  });

  it('reads rank MAX_RANK and refuses MAX_RANK + 1', () => {
    const at = rawSafetensors(headerOf([['a', 'U8', new Array(MAX_RANK).fill(1), 0, 1]]), 1);
    expect(readSafetensors(at).tensors.get('a')!.shape.length).toBe(MAX_RANK);
    const over = rawSafetensors(headerOf([['a', 'U8', new Array(MAX_RANK + 1).fill(1), 0, 1]]), 1);
    expectFormatError(
      () => readSafetensors(over, { file: 'f' }),
      'f',
      /rank 65 is over the limit 64/,
    );
    expectFormatError(
      () => readSafetensors(at, { file: 'f', limits: { maxRank: 2 } }),
      'f',
      /rank 64 is over the limit 2/,
    );
  });

  it('counts name length in UTF-8 bytes: MAX_NAME_BYTES is read, one byte more is refused', () => {
    const at = 'é'.repeat(MAX_NAME_BYTES / 2); // 2 bytes each
    const bytes = rawSafetensors(headerOf([[at, 'U8', [0], 0, 0]]));
    expect(readSafetensors(bytes).tensors.has(at)).toBe(true);
    const over = rawSafetensors(headerOf([[`${at}a`, 'U8', [0], 0, 0]]));
    expectFormatError(
      () => readSafetensors(over, { file: 'f' }),
      'f',
      /is 4097 bytes, over the limit 4096/,
    );
  });

  it('does not write what it would refuse to read', () => {
    const t = { dtype: 'U8', shape: [0], data: new Uint8Array() } as const;
    expect(() => serializeSafetensors({ ['x'.repeat(MAX_NAME_BYTES + 1)]: t })).toThrow(
      /name is over 4096 bytes/,
    );
    const deep = {
      dtype: 'U8',
      shape: new Array(MAX_RANK + 1).fill(1),
      data: new Uint8Array(1),
    } as const;
    expect(() => serializeSafetensors({ deep })).toThrow(/at most 64 sizes/);
  });
});

describe('index limits', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  beforeAll(async () => ({ dir, cleanup } = await tempFolder()));
  afterAll(() => cleanup());

  it('refuses an index file over MAX_INDEX_BYTES before reading it', async () => {
    const path = join(dir, 'huge.index.json');
    const handle = await open(path, 'w');
    await handle.truncate(MAX_INDEX_BYTES + 1); // sparse: nothing is actually written
    await handle.close();
    await expectFormatErrorAsync(
      openShardedSafetensors(path),
      path,
      /index is too big: 100000001 bytes \(limit 100000000\)/,
    );
  });

  it('applies index byte, tensor and shard limits at exactly the limit', async () => {
    const shard = serializeSafetensors({
      a: { dtype: 'U8', shape: [0], data: new Uint8Array() },
      b: { dtype: 'U8', shape: [0], data: new Uint8Array() },
    });
    await writeFile(join(dir, 's1.safetensors'), shard);
    await writeFile(join(dir, 's2.safetensors'), shard);
    const path = join(dir, 'small.index.json');
    const text = JSON.stringify({ weight_map: { a: 's1.safetensors', b: 's2.safetensors' } });
    await writeFile(path, text);
    const size = Buffer.byteLength(text);
    const at = { maxIndexBytes: size, maxIndexTensors: 2, maxShards: 2 };
    const reader = await openShardedSafetensors(path, { indexLimits: at });
    await reader.close();
    await expectFormatErrorAsync(
      openShardedSafetensors(path, { indexLimits: { ...at, maxIndexBytes: size - 1 } }),
      path,
      /index is too big/,
    );
    await expectFormatErrorAsync(
      openShardedSafetensors(path, { indexLimits: { ...at, maxIndexTensors: 1 } }),
      path,
      /too many tensors: 2 \(limit 1\)/,
    );
    await expectFormatErrorAsync(
      openShardedSafetensors(path, { indexLimits: { ...at, maxShards: 1 } }),
      path,
      /too many shards: 2 \(limit 1\)/,
    );
  });
});
