// The pipeline with a real tokenizer (the shared stories260K sentencepiece BPE,
// LLaMA conventions: BOS = 1 before each document), and with the built-in
// Moby Dick corpus: token streams equal the tokenizer's own ids, windows
// decode back to corpus text, and the cache spares the tokenizer entirely.
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashTokenizerFolder, loadDataTokenizer, prepareTextData } from '../../datasets/index.js';
import type { HashedTokenizer } from '../../datasets/index.js';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { STORIES_DIR, byteTokenizer, storiesMissing, tempDir, writeFiles } from './fixtures.js';

const STORIES = [
  'Once upon a time, there was a little girl named Lily. She loved to play outside.',
  'One day, a big dog came to the park.\nThe dog was friendly!\n\n"Hello," said Tom.',
  'Zoë had a café 🦀 and a ball.',
];

afterEach(() => {
  vi.restoreAllMocks();
});

describe('stories260K tokenizer', () => {
  const skip = storiesMissing();
  if (skip) {
    it.skip(skip, () => undefined);
    return;
  }
  let tok: HashedTokenizer;
  beforeAll(async () => {
    tok = await loadDataTokenizer(STORIES_DIR);
  });

  it('hashes the tokenizer files and uses BOS as separator', async () => {
    expect(tok.hash).toBe(await hashTokenizerFolder(STORIES_DIR));
    expect([tok.tokenizer.bosId, tok.tokenizer.eosId]).toEqual([1, 2]);
  });

  it('packs exactly BOS + the ids of each document; windows decode to corpus text', async () => {
    const dir = await tempDir();
    await writeFiles(dir, {
      's.jsonl': STORIES.slice(0, 2)
        .map((text) => JSON.stringify({ text }))
        .join('\n'),
      't.txt': STORIES[2],
    });
    const data = await prepareTextData({
      corpus: ['s.jsonl', 't.txt'],
      tokenizer: tok,
      seqLen: 8,
      baseDir: dir,
      cacheDir: path.join(dir, 'cache'),
    });
    const real = tok.tokenizer as Tokenizer;
    const expected = STORIES.flatMap((s) => [1, ...real.encode(s, { addSpecialTokens: false })]);
    const train = await data.openTrain();
    const stream: number[] = [];
    for (let k = 0; k < train.numSequences; k++)
      stream.push(...(await train.read(k)).subarray(k === 0 ? 0 : 1));
    await train.close();
    expect(stream).toEqual(expected.slice(0, stream.length));
    expect(expected.length - stream.length).toBeLessThan(8);
    const text = real.decode(stream, { skipSpecialTokens: true });
    expect(text.startsWith('Once upon a time, there was a little girl named Lily.')).toBe(true);
  });

  it('never calls the tokenizer on a cache hit', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 's.txt': STORIES.join('\n') });
    const params = {
      corpus: 's.txt',
      tokenizer: tok,
      seqLen: 4,
      baseDir: dir,
      cacheDir: path.join(dir, 'c'),
    };
    const spy = vi.spyOn(Tokenizer.prototype, 'encode');
    await prepareTextData(params);
    expect(spy.mock.calls.length).toBeGreaterThan(0);
    spy.mockClear();
    const again = await prepareTextData(params);
    expect(spy).not.toHaveBeenCalled();
    expect(again.tokens.cacheHit).toBe(true);
  });
});

describe('built-in corpus through the pipeline', () => {
  it('prepares builtin:moby-dick offline with a validation split by chapter', async () => {
    const dir = await tempDir();
    const data = await prepareTextData({
      corpus: 'builtin:moby-dick',
      tokenizer: byteTokenizer(),
      seqLen: 512,
      validation: 0.05,
      seed: 1,
      cacheDir: path.join(dir, 'cache'),
    });
    const s = data.summary;
    expect([s.files, s.documents, s.split.by, s.val.documents]).toEqual([139, 139, 'document', 7]);
    expect(s.train.documents + s.val.documents).toBe(139);
    expect(s.train.sequences).toBeGreaterThan(2000);
    expect(s.val.sequences).toBeGreaterThan(50);
  });
});
