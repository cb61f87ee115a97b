// Helpers for the datasets tests: temporary folders removed after each test,
// a byte-level toy tokenizer that counts its calls (fast and exactly
// predictable), and the path of the shared stories260K tokenizer.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import type { CorpusTokenizer, HashedTokenizer } from '../../datasets/index.js';

const made: string[] = [];

afterEach(async () => {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A fresh temporary folder, removed after the current test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'snnlm-datasets-'));
  made.push(dir);
  return dir;
}

/** Write `files` (name → text) under `dir`, creating no folders; returns their paths. */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<string[]> {
  const paths = Object.keys(files).map((name) => path.join(dir, name));
  await Promise.all(paths.map((p, i) => writeFile(p, Object.values(files)[i])));
  return paths;
}

/**
 * UTF-8 bytes as ids: byte b is id b + 3; 0 = unk, 1 = BOS, 2 = EOS. `calls`
 * counts `encode` calls, so a test can tell whether the cache was used.
 */
export class ByteTokenizer implements CorpusTokenizer {
  readonly vocabSize = 259;
  readonly bosId: number | null = 1;
  readonly eosId: number | null = 2;
  calls = 0;

  encode(text: string): number[] {
    this.calls++;
    return byteIds(text);
  }
}

/** The ids ByteTokenizer gives `text`. */
export function byteIds(text: string): number[] {
  const bytes = Buffer.from(text, 'utf8');
  const ids = new Array<number>(bytes.length);
  for (let i = 0; i < bytes.length; i++) ids[i] = bytes[i] + 3;
  return ids;
}

/** A ByteTokenizer with a hash, as `prepareTextData` takes it. */
export function byteTokenizer(hash = 'byte-v1'): HashedTokenizer & { tokenizer: ByteTokenizer } {
  return { tokenizer: new ByteTokenizer(), hash };
}

/** The shared stories260K model folder (tokenizer.json of a LLaMA-style sentencepiece BPE). */
export const STORIES_DIR = path.resolve(
  import.meta.dirname,
  '../../../shared/models/transformersjs/stories260K',
);

/** A skip message when the shared tokenizer is absent, else null. */
export function storiesMissing(): string | null {
  return existsSync(path.join(STORIES_DIR, 'tokenizer.json'))
    ? null
    : `shared tokenizer not found at ${STORIES_DIR} (needs ../shared/models)`;
}

/** Collect an async iterable into an array. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
