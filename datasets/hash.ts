// Content hashes that key the token cache: the corpus (the bytes of every file,
// in order, with how each is read; never paths or modification times, so a
// moved corpus still hits and a touched-but-unchanged file does not miss), the
// tokenizer (its JSON files), and short keys of parameter objects.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '../src/tokenizer/index.js';
import { READ_CHUNK_BYTES } from './types.js';
import type { CorpusFile, HashedTokenizer } from './types.js';

/** Files of a tokenizer folder that change how text is tokenized. */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
] as const;

const PREFIX = 'sha256:';

/**
 * Hash of a corpus: for each file in order, its format, JSONL field and size,
 * then its bytes. Returns `sha256:<64 hex digits>`.
 */
export async function hashCorpusFiles(files: readonly CorpusFile[]): Promise<string> {
  const h = createHash('sha256');
  h.update(`snnlm-corpus-v1\n${files.length}\n`);
  for (const file of files) {
    const { size } = await stat(file.path);
    const field = file.format === 'jsonl' ? file.field : '';
    h.update(`${JSON.stringify([file.format, field, size])}\n`);
    let read = 0;
    for await (const chunk of createReadStream(file.path, { highWaterMark: READ_CHUNK_BYTES })) {
      h.update(chunk as Buffer);
      read += (chunk as Buffer).byteLength;
    }
    // A file that changes while it is hashed would give a key of neither version.
    h.update(`${read}\n`);
  }
  return PREFIX + h.digest('hex');
}

/** Hash of a tokenizer folder: the files of TOKENIZER_FILES that exist, by name. */
export async function hashTokenizerFolder(dir: string): Promise<string> {
  const h = createHash('sha256');
  h.update('snnlm-tokenizer-v1\n');
  for (const name of TOKENIZER_FILES) {
    const bytes = await readFile(join(dir, name)).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (bytes) h.update(`${name}\n${bytes.byteLength}\n`).update(bytes);
  }
  return PREFIX + h.digest('hex');
}

/** JSON with object keys sorted, so that equal parameters give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A 32-hex-digit key of a parameter object (key order does not matter). */
export function hashKey(params: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(params)).digest('hex').slice(0, 32);
}

/**
 * Load the tokenizer of a model folder together with its hash, the form
 * `prepareTextData` takes.
 */
export async function loadDataTokenizer(dir: string): Promise<HashedTokenizer> {
  const tokenizer = await Tokenizer.fromFolder(dir);
  return { tokenizer, hash: await hashTokenizerFolder(dir) };
}
