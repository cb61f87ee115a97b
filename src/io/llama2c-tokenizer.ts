// Reads the llama2.c tokenizer format (`tokenizer.bin`, `tok512.bin`, written by
// llama2.c's `tokenizer.py --export`): int32 max_token_length, then per token a
// float32 merge score, an int32 byte length and that many UTF-8 bytes. The token
// count is not stored; it is the model's vocab_size, so the caller passes it and
// the file must be consumed exactly. Layout: shared/models/MANIFEST.md.
import { readFile } from 'node:fs/promises';
import { FormatError } from '../errors.js';

/** A llama2.c vocabulary: piece text (a plain space stands for sentencepiece's `▁`) and score. */
export interface Llama2cVocab {
  /** The file it came from (used in error messages). */
  readonly file: string;
  /** Longest piece in bytes, as the header states it. */
  readonly maxTokenLength: number;
  /** Piece of every id (`"\n<s>\n"` for BOS, `"<0x0A>"` for byte pieces). */
  readonly pieces: readonly string[];
  /** Merge score of every id (higher merges first). */
  readonly scores: readonly number[];
}

const HINT =
  'a llama2.c tokenizer file (tokenizer.bin / tok512.bin) for a model with this vocab_size';

/**
 * Parse a llama2.c tokenizer of `vocabSize` tokens held in memory. Throws
 * FormatError naming `file` when it is truncated, longer than `vocabSize` tokens,
 * has a piece over max_token_length or one that is not valid UTF-8.
 */
export function parseLlama2cTokenizer(
  bytes: Uint8Array,
  vocabSize: number,
  file = '<buffer>',
): Llama2cVocab {
  if (!Number.isInteger(vocabSize) || vocabSize <= 0) {
    throw new FormatError(file, `vocab size must be a positive integer, got ${vocabSize}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const need = (at: number, n: number, what: string): void => {
    if (at + n > bytes.byteLength) {
      throw new FormatError(
        file,
        `truncated at byte ${at} while reading ${what} (file has ${bytes.byteLength} bytes)`,
        HINT,
      );
    }
  };
  need(0, 4, 'max_token_length');
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0 || maxTokenLength > 1 << 16) {
    throw new FormatError(file, `max_token_length ${maxTokenLength} is out of range`, HINT);
  }
  const pieces: string[] = [];
  const scores: number[] = [];
  let at = 4;
  for (let id = 0; id < vocabSize; id++) {
    need(at, 8, `token ${id}`);
    const score = view.getFloat32(at, true);
    const length = view.getInt32(at + 4, true);
    if (!Number.isFinite(score)) throw new FormatError(file, `token ${id} has score ${score}`);
    if (length < 0 || length > maxTokenLength) {
      throw new FormatError(
        file,
        `token ${id} has length ${length}, outside 0..max_token_length (${maxTokenLength})`,
        HINT,
      );
    }
    at += 8;
    need(at, length, `token ${id}`);
    try {
      pieces.push(utf8.decode(bytes.subarray(at, at + length)));
    } catch {
      throw new FormatError(
        file,
        `token ${id} is not valid UTF-8`,
        'old exports stored byte tokens as raw bytes; re-export with a current llama2.c tokenizer.py',
      );
    }
    scores.push(score);
    at += length;
  }
  if (at !== bytes.byteLength) {
    throw new FormatError(
      file,
      `has ${bytes.byteLength - at} bytes after the ${vocabSize} tokens`,
      'is the vocab size right? It comes from the model header',
    );
  }
  return { file, maxTokenLength, pieces, scores };
}

/** Read and parse the llama2.c tokenizer at `path` (see `parseLlama2cTokenizer`). */
export async function readLlama2cTokenizer(path: string, vocabSize: number): Promise<Llama2cVocab> {
  const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new FormatError(path, `cannot read the tokenizer (${e.code ?? e.message})`);
  });
  return parseLlama2cTokenizer(bytes, vocabSize, path);
}
