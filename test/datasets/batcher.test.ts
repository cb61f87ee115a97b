// The batcher: [B, N] int32 inputs and targets shifted by one; every epoch a
// seeded permutation of the sequences; a cursor saved at any step (through
// JSON, across epoch boundaries, from a file-backed split) resumes with
// exactly the batches of an uninterrupted run; data-parallel workers get
// disjoint slices that make up the global batch.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Batcher,
  MemorySequenceSource,
  batchTensors,
  prepareTextData,
  sequentialBatches,
  workerSlice,
} from '../../datasets/index.js';
import type { Batch, DataCursor } from '../../datasets/index.js';
import { setupBackend } from '../helpers.js';
import { byteTokenizer, tempDir, writeFiles } from './fixtures.js';

const N = 4;
/** 23 sequences of N + 1 tokens over the stream 1000, 1001, ... */
const source = () =>
  new MemorySequenceSource(
    Array.from({ length: 23 * N + 3 }, (_, i) => 1000 + i),
    N,
  );

const rows = (b: Batch): number[][] =>
  Array.from({ length: b.shape[0] }, (_, r) => Array.from(b.inputs.subarray(r * N, r * N + N)));

async function take(batcher: Batcher, steps: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for (let i = 0; i < steps; i++) out.push(await batcher.next());
  return out;
}

describe('Batcher', () => {
  it('gives [B, N] inputs and targets shifted by one, from whole sequences', async () => {
    const b = await new Batcher({ source: source(), batchSize: 3, seed: 1 }).next();
    expect(b.shape).toEqual([3, N]);
    expect(b.inputs).toBeInstanceOf(Int32Array);
    for (let r = 0; r < 3; r++) {
      const start = 1000 + b.indices[r] * N;
      expect(Array.from(b.inputs.subarray(r * N, r * N + N))).toEqual(
        [0, 1, 2, 3].map((i) => start + i),
      );
      expect(Array.from(b.targets.subarray(r * N, r * N + N))).toEqual(
        [1, 2, 3, 4].map((i) => start + i),
      );
    }
  });

  it('visits each sequence once per epoch in a seeded order that changes per epoch', async () => {
    const batcher = new Batcher({ source: source(), batchSize: 5, seed: 3 });
    expect(batcher.stepsPerEpoch).toBe(4); // 23 // 5, last 3 dropped
    const epochs = [await take(batcher, 4), await take(batcher, 4)];
    const orders = epochs.map((e) => e.flatMap((b) => Array.from(b.indices)));
    for (const o of orders) expect(new Set(o).size).toBe(20);
    expect(orders[0]).not.toEqual(orders[1]);
    expect(epochs[1].map((b) => [b.epoch, b.step])).toEqual([
      [1, 4],
      [1, 5],
      [1, 6],
      [1, 7],
    ]);
    const again = new Batcher({ source: source(), batchSize: 5, seed: 3 });
    expect((await take(again, 4)).flatMap((b) => Array.from(b.indices))).toEqual(orders[0]);
    const other = new Batcher({ source: source(), batchSize: 5, seed: 4 });
    expect((await take(other, 4)).flatMap((b) => Array.from(b.indices))).not.toEqual(orders[0]);
  });

  it('resumes from a JSON cursor at every step with the uninterrupted batches', async () => {
    const reference = (
      await take(new Batcher({ source: source(), batchSize: 5, seed: 9 }), 14)
    ).map(rows);
    for (const stop of [0, 1, 3, 4, 5, 9, 13]) {
      const first = new Batcher({ source: source(), batchSize: 5, seed: 9 });
      await take(first, stop);
      const saved = JSON.parse(JSON.stringify(first.cursor())) as DataCursor;
      const resumed = new Batcher({ source: source(), batchSize: 5, seed: 12345, cursor: saved });
      expect((await take(resumed, 14 - stop)).map(rows)).toEqual(reference.slice(stop));
    }
  });

  it('rejects a cursor of other data or batch size', async () => {
    const cursor = new Batcher({ source: source(), batchSize: 5 }).cursor();
    expect(() => new Batcher({ source: source(), batchSize: 4, cursor })).toThrow(
      /batch size 5, got 4/,
    );
    const small = new MemorySequenceSource(
      Array.from({ length: 50 }, (_, i) => i),
      N,
    );
    expect(() => new Batcher({ source: small, batchSize: 5, cursor })).toThrow(
      /23 sequences, the data has 12/,
    );
  });

  it('gives workers disjoint slices that make up the global batch', async () => {
    const W = 4;
    const global = await take(new Batcher({ source: source(), batchSize: 8, seed: 2 }), 6);
    const workers = Array.from(
      { length: W },
      (_, rank) => new Batcher({ source: source(), batchSize: 8, seed: 2, rank, worldSize: W }),
    );
    for (const g of global) {
      const parts = await Promise.all(workers.map((w) => w.next()));
      expect(parts.every((p) => p.shape[0] === 2)).toBe(true);
      const seen = parts.flatMap((p) => Array.from(p.indices));
      expect(new Set(seen).size).toBe(8);
      expect(seen).toEqual(Array.from(g.indices));
      expect(parts.flatMap(rows)).toEqual(rows(g));
    }
    for (let n = 0; n <= 20; n++) {
      for (let w = 1; w <= 5; w++) {
        const slices = Array.from({ length: w }, (_, r) => workerSlice(n, r, w));
        expect(slices[0][0]).toBe(0);
        expect(slices[w - 1][1]).toBe(n);
        for (let r = 1; r < w; r++) expect(slices[r][0]).toBe(slices[r - 1][1]);
        const sizes = slices.map(([a, b]) => b - a);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
    expect(() => new Batcher({ source: source(), batchSize: 6, worldSize: 4 })).toThrow(
      /not divisible/,
    );
  });

  it('rejects a batch larger than the split unless the last batch may be short', async () => {
    expect(() => new Batcher({ source: source(), batchSize: 24 })).toThrow(
      /exceeds the 23 sequences/,
    );
    const b = new Batcher({ source: source(), batchSize: 24, dropLast: false, shuffle: false });
    expect((await b.next()).shape).toEqual([23, N]);
  });

  it('iterates a split once in order for evaluation', async () => {
    const batches = [];
    for await (const b of sequentialBatches(source(), 10)) batches.push(b);
    expect(batches.map((b) => b.shape[0])).toEqual([10, 10, 3]);
    expect(batches.flatMap((b) => Array.from(b.indices))).toEqual(
      Array.from({ length: 23 }, (_, i) => i),
    );
  });

  it('resumes over a file-backed split from prepareTextData', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'c.txt': 'Some text to pack into sequences. '.repeat(30) });
    const data = await prepareTextData({
      corpus: 'c.txt',
      tokenizer: byteTokenizer(),
      seqLen: 16,
      baseDir: dir,
      cacheDir: path.join(dir, 'cache'),
    });
    const sources = await Promise.all([data.openTrain(), data.openTrain(), data.openTrain()]);
    const whole = await take(new Batcher({ source: sources[0], batchSize: 4, seed: 7 }), 20);
    const first = new Batcher({ source: sources[1], batchSize: 4, seed: 7 });
    await take(first, 11);
    const cursor = JSON.parse(JSON.stringify(first.cursor())) as DataCursor;
    const rest = await take(new Batcher({ source: sources[2], batchSize: 4, cursor }), 9);
    await Promise.all(sources.map((s) => s.close()));
    expect(rest.map((b) => Array.from(b.inputs))).toEqual(
      whole.slice(11).map((b) => Array.from(b.inputs)),
    );
    expect(rest.map((b) => Array.from(b.targets))).toEqual(
      whole.slice(11).map((b) => Array.from(b.targets)),
    );
  });

  it('makes [B, N] int32 tensors', async () => {
    await setupBackend();
    const b = await new Batcher({ source: source(), batchSize: 3 }).next();
    const t = batchTensors(b);
    expect([t.inputs.shape, t.inputs.dtype, t.targets.shape, t.targets.dtype]).toEqual([
      [3, N],
      'int32',
      [3, N],
      'int32',
    ]);
    expect(Array.from(t.targets.dataSync())).toEqual(Array.from(b.targets));
    t.inputs.dispose();
    t.targets.dispose();
  });
});
