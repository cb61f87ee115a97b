import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  batches,
  encodeIdx,
  loadVisionDataset,
  parseIdx,
  permutedTasks,
  splitTasks,
  wholeSplit,
} from '../../datasets/vision/index.js';
import type { VisionSplit } from '../../datasets/vision/index.js';

const SHARED = resolve(import.meta.dirname, '../../../shared/datasets/vision');
const hasShared = existsSync(join(SHARED, 'mnist'));
if (!hasShared) console.warn(`shared vision data not found at ${SHARED}: real-file tests skipped`);

function toySplit(n: number): VisionSplit {
  const images = new Float32Array(n * 4);
  for (let i = 0; i < images.length; i++) images[i] = i;
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  return { images, labels, count: n, height: 2, width: 2, channels: 1, numClasses: 10 };
}

async function writeToyFolder(dir: string, n: number, gz: boolean): Promise<void> {
  const img = new Uint8Array(n * 4).map((_, i) => (i * 7) % 256);
  const lbl = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const enc = (b: Uint8Array) => (gz ? gzipSync(b) : b);
  const sfx = gz ? '.gz' : '';
  for (const p of ['train', 't10k']) {
    await writeFile(join(dir, `${p}-images-idx3-ubyte${sfx}`), enc(encodeIdx([n, 2, 2], img)));
    await writeFile(join(dir, `${p}-labels-idx1-ubyte${sfx}`), enc(encodeIdx([n], lbl)));
  }
}

describe('IDX reader', () => {
  it('round-trips raw and gzip bytes', () => {
    const data = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    for (const bytes of [encodeIdx([2, 3], data), gzipSync(encodeIdx([2, 3], data))]) {
      const r = parseIdx(bytes, 'x.idx');
      expect(r.dims).toEqual([2, 3]);
      expect(Array.from(r.data)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  it('rejects a wrong magic number, a wrong dtype, truncation and trailing bytes, naming the file', () => {
    const good = encodeIdx([2, 3], new Uint8Array(6));
    const badMagic = good.slice();
    badMagic[0] = 0x50;
    expect(() => parseIdx(badMagic, 'a.idx')).toThrow(/a\.idx: not an IDX file: magic/);
    const badType = good.slice();
    badType[2] = 0x0d;
    expect(() => parseIdx(badType, 'b.idx')).toThrow(/b\.idx: IDX element type 0d/);
    expect(() => parseIdx(good.subarray(0, good.length - 1), 'c.idx')).toThrow(
      /c\.idx: truncated: header \[2, 3\] needs 6 data bytes, the file has 5/,
    );
    expect(() => parseIdx(good.subarray(0, 6), 'd.idx')).toThrow(/d\.idx: truncated IDX header/);
    expect(() => parseIdx(new Uint8Array([...good, 0]), 'e.idx')).toThrow(/e\.idx: 1 bytes after/);
    const gz = gzipSync(good);
    expect(() => parseIdx(gz.subarray(0, gz.length - 6), 'f.gz')).toThrow(
      /f\.gz: gzip data is corrupt/,
    );
    expect(() => parseIdx(good, 'g.idx', 3)).toThrow(
      /g\.idx: IDX file has 2 dimensions, expected 3/,
    );
  });

  it('loads a folder of IDX files (gzip or raw), normalised, and names a truncated file', async () => {
    for (const gz of [true, false]) {
      const dir = await mkdtemp(join(tmpdir(), 'idx-'));
      await writeToyFolder(dir, 5, gz);
      const ds = await loadVisionDataset('mnist', { dir, normalization: { mean: 0, std: 1 } });
      expect(ds.train.count).toBe(5);
      expect(ds.train.height).toBe(2);
      expect(ds.train.images[3]).toBeCloseTo(21 / 255, 6);
      expect(Array.from(ds.test.labels)).toEqual([0, 1, 2, 3, 4]);
    }
    const dir = await mkdtemp(join(tmpdir(), 'idx-'));
    await writeToyFolder(dir, 5, false);
    const f = join(dir, 'train-images-idx3-ubyte');
    await writeFile(f, encodeIdx([5, 2, 2], new Uint8Array(20)).subarray(0, 30));
    await expect(loadVisionDataset('mnist', { dir })).rejects.toThrow(
      new RegExp(`${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: truncated`),
    );
    await expect(loadVisionDataset('cifar', { dir })).rejects.toThrow(/unknown data set "cifar"/);
    await expect(loadVisionDataset('fashion-mnist', { dir: 'builtin' })).rejects.toThrow(
      /fashion-mnist has no built-in copy/,
    );
  });

  it('reads the built-in mnist package: 10 classes, normalised to the MNIST statistics', async () => {
    const ds = await loadVisionDataset('mnist', { dir: 'builtin', limitTest: 100 });
    expect(ds.source).toBe('builtin:mnist');
    expect(ds.train.count).toBeGreaterThan(7000);
    expect(ds.test.count).toBe(100);
    expect(new Set(ds.test.labels).size).toBe(10);
    let s = 0;
    for (const v of ds.train.images.subarray(0, 784 * 200)) s += v;
    expect(Math.abs(s / (784 * 200))).toBeLessThan(0.3); // roughly centred
  });

  it.skipIf(!hasShared)('reads the real MNIST and Fashion-MNIST test files', async () => {
    for (const name of ['mnist', 'fashion-mnist']) {
      const ds = await loadVisionDataset(name, { searchRoots: [SHARED], limitTrain: 10 });
      expect(ds.source.startsWith('idx:')).toBe(true);
      expect(ds.test.count).toBe(10000);
      expect(ds.test.height * ds.test.width).toBe(784);
      expect(ds.train.count).toBe(10);
    }
  });
});

describe('batches and tasks', () => {
  it('shuffles deterministically per (seed, epoch) and covers every row once', () => {
    const split = toySplit(23);
    const task = wholeSplit(split);
    const epoch = (seed: number, e: number) =>
      [...batches(split, task, { batchSize: 5, seed, epoch: e })].flatMap((b) =>
        Array.from({ length: b.size }, (_, i) => b.x[i * 4] / 4),
      );
    const a = epoch(1, 0);
    expect(a).toEqual(epoch(1, 0));
    expect(a).not.toEqual(epoch(1, 1));
    expect([...a].sort((p, q) => p - q)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect([...batches(split, task, { batchSize: 5, dropLast: true })].length).toBe(4);
  });

  it('permuted tasks permute pixels (task 0 is the identity); split tasks keep their classes', () => {
    const split = toySplit(20);
    const [t0, t1] = permutedTasks(split, 2, 7);
    const b0 = [...batches(split, t0, { batchSize: 20 })][0];
    const b1 = [...batches(split, t1, { batchSize: 20 })][0];
    expect(Array.from(b0.x.subarray(0, 4))).toEqual([0, 1, 2, 3]);
    expect(Array.from(b1.x.subarray(0, 4)).sort()).toEqual([0, 1, 2, 3]);
    expect(Array.from(b1.x.subarray(0, 4))).toEqual(Array.from(t1.pixelPermutation as Uint32Array));
    const tasks = splitTasks(split, 2);
    expect(tasks.length).toBe(5);
    const b = [...batches(split, tasks[1], { batchSize: 100 })][0];
    expect(new Set(b.y)).toEqual(new Set([2, 3]));
    expect(b.size).toBe(4);
    expect(() => splitTasks(split, 3)).toThrow(/does not divide/);
  });
});
