// writeFileAtomic: the file holds exactly what was written; a failure at any
// step (simulated through an injected file system, or a real failing rename)
// leaves the old file untouched and no temporary file behind.
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/io/index.js';
import type { AtomicFs } from '../../src/io/index.js';
import { tempFolder } from './fixtures.js';

interface Faults {
  /** 1-based index of the write call that throws. */
  failWriteAt?: number;
  failSync?: boolean;
  failRename?: boolean;
  /** Largest number of bytes one write call accepts (simulates short writes). */
  maxChunk?: number;
}

/** The real file system with failures injected. */
function faultyFs(faults: Faults): AtomicFs {
  let writes = 0;
  return {
    async open(path, flags, mode) {
      const h = await fsp.open(path, flags, mode);
      return {
        async write(buffer, offset, length, position) {
          writes++;
          if (writes === faults.failWriteAt) {
            throw Object.assign(new Error('no space left on device (simulated)'), {
              code: 'ENOSPC',
            });
          }
          return h.write(buffer, offset, Math.min(length, faults.maxChunk ?? length), position);
        },
        sync: () => (faults.failSync ? Promise.reject(new Error('EIO (simulated)')) : h.sync()),
        close: () => h.close(),
      };
    },
    rename: (a, b) =>
      faults.failRename ? Promise.reject(new Error('EXDEV (simulated)')) : fsp.rename(a, b),
    rm: (p, o) => fsp.rm(p, o),
  };
}

describe('writeFileAtomic', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  beforeAll(async () => ({ dir, cleanup } = await tempFolder()));
  afterAll(() => cleanup());

  const others = async (keep: string[]) =>
    (await fsp.readdir(dir)).filter((f) => !keep.includes(f));

  it('writes text, bytes and chunk lists exactly, replacing an old file', async () => {
    const path = join(dir, 'a.txt');
    await writeFileAtomic(path, 'héllo\n');
    expect(await fsp.readFile(path, 'utf8')).toBe('héllo\n');
    const bytes = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 255);
    await writeFileAtomic(path, bytes);
    expect(Buffer.from(await fsp.readFile(path)).equals(Buffer.from(bytes))).toBe(true);
    await writeFileAtomic(path, [bytes.subarray(0, 10), new Uint8Array(0), bytes.subarray(10)]);
    expect(Buffer.from(await fsp.readFile(path)).equals(Buffer.from(bytes))).toBe(true);
    await writeFileAtomic(path, '');
    expect((await fsp.stat(path)).size).toBe(0);
    expect(await others(['a.txt'])).toEqual([]);
  });

  it('completes short writes', async () => {
    const path = join(dir, 'short.bin');
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i & 255);
    await writeFileAtomic(path, [bytes.subarray(0, 500), bytes.subarray(500)], {
      fs: faultyFs({ maxChunk: 7 }),
    });
    expect(Buffer.from(await fsp.readFile(path)).equals(Buffer.from(bytes))).toBe(true);
  });

  it.each<[string, Faults]>([
    ['a write fails midway', { failWriteAt: 3, maxChunk: 100 }],
    ['the first write fails', { failWriteAt: 1 }],
    ['fsync fails', { failSync: true }],
    ['the rename fails', { failRename: true }],
  ])('keeps the old file and leaves no temp file when %s', async (_what, faults) => {
    const path = join(dir, 'keep.txt');
    await writeFileAtomic(path, 'old content');
    const next = new Uint8Array(1000).fill(65);
    await expect(writeFileAtomic(path, next, { fs: faultyFs(faults) })).rejects.toThrow(
      /simulated/,
    );
    expect(await fsp.readFile(path, 'utf8')).toBe('old content');
    expect(await others(['keep.txt', 'a.txt', 'short.bin'])).toEqual([]);
  });

  it('cleans up when the real rename fails (target is a non-empty folder)', async () => {
    const path = join(dir, 'folder');
    await fsp.mkdir(path);
    await fsp.writeFile(join(path, 'inside'), 'x');
    await expect(writeFileAtomic(path, 'data')).rejects.toThrow();
    expect(await fsp.readFile(join(path, 'inside'), 'utf8')).toBe('x');
    expect(await others(['keep.txt', 'a.txt', 'short.bin', 'folder'])).toEqual([]);
  });

  it('fails without creating anything when the parent folder is missing', async () => {
    await expect(writeFileAtomic(join(dir, 'no', 'such', 'x'), 'data')).rejects.toMatchObject({
      code: 'ENOENT',
    });
    await expect(fsp.stat(join(dir, 'no'))).rejects.toThrow();
  });

  it('leaves one complete version when writers race', async () => {
    const path = join(dir, 'race.bin');
    const versions = [1, 2, 3, 4].map((v) => new Uint8Array(200_000).fill(v));
    await Promise.all(versions.map((v) => writeFileAtomic(path, v)));
    const got = await fsp.readFile(path);
    expect(got.byteLength).toBe(200_000);
    expect(got.every((b) => b === got[0])).toBe(true);
    expect(await others(['keep.txt', 'a.txt', 'short.bin', 'folder', 'race.bin'])).toEqual([]);
  });
});
