// The whole pipeline with a byte-level toy tokenizer: the packed training
// stream is exactly the documents' ids joined by the separator convention;
// validation and training documents never mix; the summary adds up.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareTextData, readTokenChunks, resolveSeparator } from '../../datasets/index.js';
import type { SequenceSource } from '../../datasets/index.js';
import { ByteTokenizer, byteIds, byteTokenizer, tempDir, writeFiles } from './fixtures.js';

/** The stream a source's windows cover (first window whole, then one new token each). */
async function windowsStream(src: SequenceSource): Promise<number[]> {
  const out: number[] = [];
  for (let k = 0; k < src.numSequences; k++) {
    const w = await src.read(k);
    out.push(...(k === 0 ? w : w.subarray(1)));
  }
  await src.close();
  return out;
}

const DOCS = Array.from(
  { length: 12 },
  (_, i) => `document ${String(i).padStart(2, '0')}: ${'lorem ipsum '.repeat(1 + (i % 4))}`,
);

async function corpus(): Promise<string> {
  const dir = await tempDir();
  await writeFiles(dir, {
    'a.jsonl': DOCS.slice(0, 8)
      .map((text) => JSON.stringify({ text }))
      .join('\n'),
    'b.txt': DOCS[8],
    'c.jsonl': DOCS.slice(9)
      .map((t) => JSON.stringify({ body: t }))
      .join('\n'),
  });
  return dir;
}

const SPEC = ['a.jsonl', 'b.txt', 'c.jsonl:body'];

describe('prepareTextData', () => {
  it('packs exactly the BOS-joined token stream of the documents, in order', async () => {
    const dir = await corpus();
    const data = await prepareTextData({
      corpus: SPEC,
      tokenizer: byteTokenizer(),
      seqLen: 16,
      baseDir: dir,
      cacheDir: path.join(dir, 'cache'),
    });
    const expected = DOCS.flatMap((d) => [1, ...byteIds(d)]);
    const all: number[] = [];
    for await (const c of readTokenChunks(
      data.tokens.tokensPath,
      'uint16',
      data.tokens.manifest.tokens,
      7,
    )) {
      all.push(...c);
    }
    expect(all).toEqual(expected);
    const train = await data.openTrain();
    const packed = await windowsStream(train);
    expect(packed).toEqual(expected.slice(0, data.summary.train.packed_tokens));
    expect(expected.length - packed.length).toBeLessThan(16); // only the tail is dropped
    expect(await data.openVal()).toBeNull();
    expect(data.summary).toMatchObject({
      corpus: 'a.jsonl + b.txt + c.jsonl:body',
      files: 3,
      documents: 12,
      tokens: expected.length,
      separator: 'bos',
      seq_len: 16,
      split: { by: 'none', validation: 0 },
      train: {
        documents: 12,
        tokens: expected.length,
        sequences: Math.floor((expected.length - 1) / 16),
      },
    });
    expect(data.summary.corpus_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('joins with EOS for a GPT-2-style tokenizer (BOS = EOS)', async () => {
    const tok = new ByteTokenizer();
    Object.assign(tok, { bosId: 2 });
    expect(resolveSeparator('auto', tok)).toEqual({ separator: 'eos', bos: null, eos: 2 });
    const dir = await corpus();
    const data = await prepareTextData({
      corpus: SPEC,
      tokenizer: { tokenizer: tok, hash: 'gpt2-like' },
      seqLen: 16,
      baseDir: dir,
      cacheDir: path.join(dir, 'cache'),
    });
    const train = await windowsStream(await data.openTrain());
    const expected = DOCS.flatMap((d) => [...byteIds(d), 2]);
    expect(train).toEqual(expected.slice(0, train.length));
    expect(() => resolveSeparator('bos', { ...tok, bosId: null, encode: tok.encode })).toThrow(
      /needs a BOS/,
    );
  });

  it('keeps validation documents out of training (split by document)', async () => {
    const dir = await corpus();
    const data = await prepareTextData({
      corpus: SPEC,
      tokenizer: byteTokenizer(),
      seqLen: 8,
      validation: 3,
      seed: 11,
      baseDir: dir,
      cacheDir: path.join(dir, 'cache'),
    });
    const decode = (ids: number[]): string =>
      Buffer.from(ids.map((i) => (i === 1 ? 0x7c : i - 3))).toString();
    const markers = (text: string): Set<string> => new Set(text.match(/document \d\d/g));
    const trainText = decode(await windowsStream(await data.openTrain()));
    const valText = decode(await windowsStream((await data.openVal())!));
    const [train, val] = [markers(trainText), markers(valText)];
    expect(val.size).toBe(3);
    for (const m of val) expect(train.has(m)).toBe(false);
    expect(train.size + val.size).toBe(12);
    expect(data.summary.split).toEqual({
      by: 'document',
      requested: 'auto',
      validation: 3,
      seed: 11,
    });
    expect(data.summary.val.documents).toBe(3);
    expect(data.summary.train.documents).toBe(9);
    expect(data.summary.train.tokens + data.summary.val.tokens).toBe(data.summary.tokens);
  });

  it('splits a single document by sequence, the validation tail after all training tokens', async () => {
    const dir = await tempDir();
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(20);
    await writeFiles(dir, { 'one.txt': text });
    const data = await prepareTextData({
      corpus: 'one.txt',
      tokenizer: byteTokenizer(),
      seqLen: 32,
      validation: 0.1,
      baseDir: dir,
      cacheDir: path.join(dir, 'cache'),
    });
    const stream = [1, ...byteIds(text)];
    const val = await windowsStream((await data.openVal())!);
    const train = await windowsStream(await data.openTrain());
    expect(data.summary.split.by).toBe('sequence');
    expect(val).toEqual(stream.slice(stream.length - val.length));
    expect(train).toEqual(stream.slice(0, train.length));
    expect(train.length).toBeLessThanOrEqual(stream.length - val.length);
    expect(data.summary.val.sequences).toBe(Math.floor((0.1 * (stream.length - 1)) / 32));
  });

  it('leaves no temporary folders in the cache', async () => {
    const dir = await corpus();
    const cacheDir = path.join(dir, 'cache');
    await prepareTextData({
      corpus: SPEC,
      tokenizer: byteTokenizer(),
      seqLen: 8,
      baseDir: dir,
      cacheDir,
    });
    const entries = await readdir(path.join(cacheDir, 'datasets'));
    expect(entries.filter((e) => e.startsWith('.'))).toEqual([]);
    expect(entries.map((e) => e.split('-')[0]).sort()).toEqual(['packed', 'tokens']);
  });

  it('rejects a corpus too small for one sequence before writing anything', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 's.txt': 'tiny' });
    const run = prepareTextData({
      corpus: 's.txt',
      tokenizer: byteTokenizer(),
      seqLen: 64,
      baseDir: dir,
      cacheDir: path.join(dir, 'cache'),
    });
    await expect(run).rejects.toThrow(/training split has 5 tokens, fewer than one sequence/);
  });
});
