// Streaming keeps memory bounded: preparing a generated 32 MB corpus (three
// files read through a glob, one of them a single 16 MB document) retains far
// less than the corpus at every point, measured after forced garbage
// collections while the tokenizer runs, between the awaits of hashing and
// packing, and while batches are read.
import { open } from 'node:fs/promises';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { setImmediate as tick } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Batcher, prepareTextData } from '../../datasets/index.js';
import { ByteTokenizer, tempDir } from './fixtures.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MB = 1024 * 1024;

/** Live memory (JS heap + array buffers) after a full collection. */
function liveBytesNow(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** As liveBytesNow, after a turn of the event loop lets freed array buffers be swept. */
async function liveBytes(): Promise<number> {
  gc();
  await tick();
  return liveBytesNow();
}

/** Write `bytes` of varied ASCII lines to `file` in 1 MB chunks. */
async function writeCorpus(file: string, bytes: number, seed: number): Promise<void> {
  const handle = await open(file, 'w');
  let line = seed;
  try {
    for (let written = 0; written < bytes;) {
      const parts: string[] = [];
      let size = 0;
      while (size < MB) {
        const text = `line ${line++} of the generated corpus, word${line % 97} and more words\n`;
        parts.push(text);
        size += text.length;
      }
      await handle.write(parts.join(''));
      written += size;
    }
  } finally {
    await handle.close();
  }
}

describe('streaming a large corpus', () => {
  it('retains well under the corpus size while tokenizing, packing and batching', async () => {
    const dir = await tempDir();
    await writeCorpus(path.join(dir, 'a.txt'), 8 * MB, 0);
    await writeCorpus(path.join(dir, 'b.txt'), 16 * MB, 1_000_000);
    await writeCorpus(path.join(dir, 'c.txt'), 8 * MB, 2_000_000);
    const corpusBytes = 32 * MB;

    const tok = new ByteTokenizer();
    const encode = tok.encode.bind(tok);
    const samples: number[] = [];
    tok.encode = (text: string) => {
      if (tok.calls % 64 === 0) samples.push(liveBytesNow());
      return encode(text);
    };
    const base = await liveBytes();
    // Also sample between the awaits of hashing, packing and file writes.
    const timer = setInterval(() => samples.push(liveBytesNow()), 250);
    const data = await prepareTextData({
      corpus: '*.txt',
      tokenizer: { tokenizer: tok, hash: 'byte' },
      seqLen: 1024,
      validation: 1,
      baseDir: dir,
      cacheDir: path.join(dir, 'cache'),
    });
    clearInterval(timer);
    samples.push(await liveBytes());
    expect(data.summary.tokens).toBeGreaterThan(corpusBytes);
    expect(data.summary.split.by).toBe('document');

    const source = await data.openTrain();
    const batcher = new Batcher({ source, batchSize: 8, seed: 1 });
    for (let i = 0; i < 1000; i++) {
      await batcher.next();
      if (i % 100 === 0) samples.push(await liveBytes());
    }
    await source.close();
    expect(samples.length).toBeGreaterThan(10);
    const growth = Math.max(...samples) - base;
    // Holding the text would take 32 MB, its ids as uint16 64 MB.
    expect(growth).toBeLessThan(corpusBytes / 4);
  });
});
