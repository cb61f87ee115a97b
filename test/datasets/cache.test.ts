// The tokenized cache: a second run with the same corpus, tokenizer and
// parameters never calls the tokenizer; a change of corpus content, tokenizer
// or tokenization parameters tokenizes again, a change of packing parameters
// only re-packs, and a touched-but-unchanged file or a moved corpus still
// hits. Damaged entries are rebuilt.
import { cp, readFile, truncate, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  hashCorpusFiles,
  hashTokenizerFolder,
  prepareTextData,
  resolveCorpusFiles,
} from '../../datasets/index.js';
import type { PrepareTextDataParams } from '../../datasets/index.js';
import { setLogSink } from '../../src/log.js';
import { byteTokenizer, tempDir, writeFiles } from './fixtures.js';

const TEXT = Array.from({ length: 40 }, (_, i) =>
  JSON.stringify({ text: `record ${i} `.repeat(5) }),
).join('\n');

async function setup(): Promise<{ dir: string; params: Omit<PrepareTextDataParams, 'tokenizer'> }> {
  const dir = await tempDir();
  await writeFiles(dir, { 'd.jsonl': TEXT, 'e.txt': 'a plain text document\n'.repeat(10) });
  return {
    dir,
    params: {
      corpus: ['d.jsonl', 'e.txt'],
      seqLen: 16,
      validation: 0.1,
      baseDir: dir,
      cacheDir: path.join(dir, 'cache'),
    },
  };
}

/** Run the pipeline with a fresh counting tokenizer; report its calls and the cache hits. */
async function run(params: Omit<PrepareTextDataParams, 'tokenizer'>, hash = 'byte-v1') {
  const tok = byteTokenizer(hash);
  const data = await prepareTextData({ ...params, tokenizer: tok });
  return {
    calls: tok.tokenizer.calls,
    tokensHit: data.tokens.cacheHit,
    packedHit: data.packed.cacheHit,
    data,
  };
}

describe('token cache', () => {
  it('hits on the second run without calling the tokenizer, with identical results', async () => {
    const { params } = await setup();
    const first = await run(params);
    expect(first.calls).toBe(41);
    expect([first.tokensHit, first.packedHit]).toEqual([false, false]);
    const second = await run(params);
    expect(second.calls).toBe(0);
    expect([second.tokensHit, second.packedHit]).toEqual([true, true]);
    expect(second.data.summary).toEqual(first.data.summary);
    expect(second.data.packed.dir).toBe(first.data.packed.dir);
  });

  it('re-tokenizes when a file changes, even at the same size', async () => {
    const { dir, params } = await setup();
    await run(params);
    const file = path.join(dir, 'e.txt');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('plain', 'PLAIN'));
    const again = await run(params);
    expect(again.tokensHit).toBe(false);
    expect(again.calls).toBe(41);
  });

  it('hits when only the modification time changes, or the corpus moves', async () => {
    const { dir, params } = await setup();
    const first = await run(params);
    const later = new Date(Date.now() + 3_600_000);
    await utimes(path.join(dir, 'd.jsonl'), later, later);
    expect((await run(params)).calls).toBe(0);
    const moved = path.join(dir, 'moved');
    await cp(path.join(dir, 'd.jsonl'), path.join(moved, 'd.jsonl'), { recursive: true });
    await cp(path.join(dir, 'e.txt'), path.join(moved, 'e.txt'));
    const there = await run({ ...params, baseDir: moved });
    expect(there.calls).toBe(0);
    expect(there.data.corpusHash).toBe(first.data.corpusHash);
  });

  it('re-tokenizes for another tokenizer, separator or JSONL field', async () => {
    const { dir, params } = await setup();
    await run(params);
    expect((await run(params, 'byte-v2')).tokensHit).toBe(false);
    expect((await run({ ...params, separator: 'both' })).tokensHit).toBe(false);
    await writeFile(path.join(dir, 'f.jsonl'), TEXT.replaceAll('"text"', '"body"'));
    const files = (field: string) => resolveCorpusFiles('f.jsonl', { baseDir: dir, field });
    expect(await hashCorpusFiles(await files('text'))).not.toBe(
      await hashCorpusFiles(await files('body')),
    );
  });

  it('only re-packs when seq_len, validation or seed change', async () => {
    const { params } = await setup();
    await run(params);
    for (const change of [
      { seqLen: 8 },
      { validation: 2 },
      { seed: 5 },
      { splitBy: 'sequence' as const },
    ]) {
      const r = await run({ ...params, ...change });
      expect([r.calls, r.tokensHit, r.packedHit]).toEqual([0, true, false]);
    }
  });

  it('rebuilds a damaged entry, with a warning', async () => {
    const { params } = await setup();
    const first = await run(params);
    await truncate(first.data.tokens.tokensPath, 10);
    const lines: string[] = [];
    const prev = setLogSink((l) => lines.push(l));
    try {
      const again = await run(params);
      expect([again.tokensHit, again.calls]).toEqual([false, 41]);
    } finally {
      setLogSink(prev);
    }
    expect(lines.some((l) => l.includes('tokens.bin is missing or has the wrong size'))).toBe(true);
  });
});

describe('hashTokenizerFolder', () => {
  it('changes with tokenizer.json and tokenizer_config.json, not with other files', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'tokenizer.json': '{"model":{"vocab":{"a":0}}}' });
    const h0 = await hashTokenizerFolder(dir);
    await writeFile(path.join(dir, 'config.json'), '{}');
    expect(await hashTokenizerFolder(dir)).toBe(h0);
    await writeFile(path.join(dir, 'tokenizer_config.json'), '{"bos_token":"<s>"}');
    const h1 = await hashTokenizerFolder(dir);
    expect(h1).not.toBe(h0);
    await writeFile(path.join(dir, 'tokenizer.json'), '{"model":{"vocab":{"b":0}}}');
    expect(await hashTokenizerFolder(dir)).not.toBe(h1);
  });
});
