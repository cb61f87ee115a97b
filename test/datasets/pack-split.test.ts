// Packing, shuffling and the validation split as pure functions: windows
// reproduce the stream with a one-token input/target shift; shuffles are
// seeded permutations; validation and training never share a document or a
// token position, and the choice depends only on the seed.
import { describe, expect, it } from 'vitest';
import {
  initialShuffleState,
  packTokens,
  permutation,
  planSplit,
  sampleIndices,
  sequenceCount,
  shiftWindow,
  shuffleEpoch,
  takePieces,
} from '../../datasets/index.js';
import type { SplitPlan } from '../../datasets/index.js';
import { createRng } from '../../src/generate/rng.js';

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('packTokens', () => {
  it('windows of N + 1 that overlap by one token rebuild the stream; the tail is dropped', () => {
    const stream = range(23, 100);
    const N = 5;
    const seqs = packTokens(stream, N);
    expect(seqs).toHaveLength(4); // floor((23 - 1) / 5)
    expect(seqs.every((s) => s.length === N + 1)).toBe(true);
    const rebuilt = [seqs[0][0], ...seqs.flatMap((s) => Array.from(s.subarray(1)))];
    expect(rebuilt).toEqual(stream.slice(0, 4 * N + 1));
    for (let k = 1; k < seqs.length; k++) expect(seqs[k][0]).toBe(seqs[k - 1][N]);
  });

  it('targets are the inputs shifted by one', () => {
    const { inputs, targets } = shiftWindow([7, 8, 9, 10]);
    expect(Array.from(inputs)).toEqual([7, 8, 9]);
    expect(Array.from(targets)).toEqual([8, 9, 10]);
  });

  it('counts windows at the edges', () => {
    expect(sequenceCount(5, 5)).toBe(0);
    expect(sequenceCount(6, 5)).toBe(1);
    expect(sequenceCount(10, 5)).toBe(1);
    expect(sequenceCount(11, 5)).toBe(2);
    expect(() => sequenceCount(10, 0)).toThrow(/seq_len must be an integer/);
  });
});

describe('takePieces', () => {
  it('joins back to the text, cuts after line breaks, never splits a surrogate pair', () => {
    const text = ('ab\n' + '🦀'.repeat(30) + ' word\n').repeat(20);
    const { pieces } = takePieces(text, 32, true);
    expect(pieces.join('')).toBe(text);
    for (const p of pieces) {
      expect(p.length).toBeLessThanOrEqual(32);
      expect(/^[\uDC00-\uDFFF]/.test(p)).toBe(false);
    }
    const lines = takePieces(
      'x'.repeat(10) + '\n' + 'y'.repeat(10) + '\n' + 'z'.repeat(10),
      24,
      true,
    );
    expect(lines.pieces).toEqual(['x'.repeat(10) + '\n' + 'y'.repeat(10) + '\n', 'z'.repeat(10)]);
  });
});

describe('shuffling', () => {
  it('is a permutation, the same for the same seed and different across seeds', () => {
    const a = permutation(1000, createRng(7));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(range(1000));
    expect(Array.from(permutation(1000, createRng(7)))).toEqual(Array.from(a));
    const b = permutation(1000, createRng(8));
    expect(Array.from(b)).not.toEqual(Array.from(a));
    expect(Array.from(a)).not.toEqual(range(1000));
  });

  it('is uniform enough: each item lands in the first half about half the time', () => {
    const hits = new Array<number>(8).fill(0);
    const rng = createRng(3);
    for (let t = 0; t < 4000; t++) {
      const p = permutation(8, rng);
      for (let i = 0; i < 4; i++) hits[p[i]]++;
    }
    for (const h of hits) expect(Math.abs(h / 4000 - 0.5)).toBeLessThan(0.05);
  });

  it('chains epochs: each epoch a new permutation, reproducible from its state words', () => {
    const s0 = initialShuffleState(5);
    const e0 = shuffleEpoch(50, s0);
    const e1 = shuffleEpoch(50, e0.next);
    expect(Array.from(e1.order)).not.toEqual(Array.from(e0.order));
    expect(Array.from(shuffleEpoch(50, [...e0.next]).order)).toEqual(Array.from(e1.order));
    expect(initialShuffleState(5)).toEqual(s0);
    expect(initialShuffleState(6)).not.toEqual(s0);
  });

  it('samples k distinct sorted indices', () => {
    const s = Array.from(sampleIndices(100, 10, createRng(1)));
    expect(new Set(s).size).toBe(10);
    expect(s).toEqual([...s].sort((x, y) => x - y));
    expect(s.every((i) => i >= 0 && i < 100)).toBe(true);
  });
});

/** Token positions of each split. */
function positions(plan: SplitPlan): { train: Set<number>; val: Set<number> } {
  const out = { train: new Set<number>(), val: new Set<number>() };
  for (const s of plan.segments) for (let i = s.start; i < s.end; i++) out[s.split].add(i);
  return out;
}

describe('planSplit', () => {
  // 20 documents of 30 tokens each.
  const starts = range(20).map((d) => d * 30);
  const base = { documentStarts: starts, totalTokens: 600, seqLen: 8, seed: 1 };

  it('by document: whole documents, disjoint, covering the stream, seeded', () => {
    const plan = planSplit({ ...base, validation: 0.2 });
    expect(plan.by).toBe('document');
    expect(plan.valDocuments).toHaveLength(4);
    const { train, val } = positions(plan);
    expect(train.size + val.size).toBe(600);
    for (const p of val) expect(train.has(p)).toBe(false);
    for (const d of plan.valDocuments) {
      for (let i = d * 30; i < d * 30 + 30; i++) expect(val.has(i)).toBe(true);
    }
    expect(plan.valTokens).toBe(120);
    expect(planSplit({ ...base, validation: 0.2 }).valDocuments).toEqual(plan.valDocuments);
    const others = [2, 3, 4].map((seed) =>
      Array.from(planSplit({ ...base, seed, validation: 0.2 }).valDocuments),
    );
    expect(others.some((o) => o.join() !== Array.from(plan.valDocuments).join())).toBe(true);
  });

  it('takes a count of documents', () => {
    expect(planSplit({ ...base, validation: 3 }).valDocuments).toHaveLength(3);
  });

  it('falls back to the stream tail for a single document, sharing no position', () => {
    const plan = planSplit({
      documentStarts: [0],
      totalTokens: 100,
      seqLen: 8,
      seed: 0,
      validation: 2,
    });
    expect(plan.by).toBe('sequence');
    expect(plan.segments).toEqual([
      { start: 0, end: 83, split: 'train' },
      { start: 83, end: 100, split: 'val' },
    ]);
    expect(sequenceCount(plan.valTokens, 8)).toBe(2);
  });

  it('rejects splits that leave a side without a sequence, and bad values', () => {
    expect(() => planSplit({ ...base, validation: 20 })).toThrow(/leaving none for training/);
    expect(() => planSplit({ ...base, seqLen: 40, validation: 0.05 })).toThrow(
      /validation documents hold 30 tokens/,
    );
    expect(() => planSplit({ ...base, seqLen: 700, validation: 0 })).toThrow(
      /training split has 600 tokens/,
    );
    expect(() => planSplit({ ...base, validation: 1.5 })).toThrow(
      /fraction in \(0, 1\) or a whole count/,
    );
    expect(() => planSplit({ ...base, validation: -0.1 })).toThrow(/validation must be/);
  });
});
