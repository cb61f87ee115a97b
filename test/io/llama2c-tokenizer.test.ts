// The llama2.c tokenizer reader: the real tok512.bin (512 pieces, consumed
// exactly, llama2.c's piece conventions) and rejection of truncated, extended
// and malformed files with a FormatError naming the file.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { parseLlama2cTokenizer, readLlama2cTokenizer } from '../../src/io/index.js';
import { TOK512_BIN, missing, tokenizerBytes } from './llama2c-fixtures.js';

function formatError(fn: () => unknown): FormatError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError);
    return e as FormatError;
  }
  return expect.fail('expected a FormatError');
}

describe('llama2.c tokenizer: tok512.bin', () => {
  const skip = missing(TOK512_BIN);
  if (skip) {
    it.skip(skip, () => undefined);
    return;
  }

  it('reads 512 pieces with llama2.c conventions', async () => {
    const vocab = await readLlama2cTokenizer(TOK512_BIN, 512);
    expect(vocab.maxTokenLength).toBe(7);
    expect(vocab.pieces.slice(0, 4)).toEqual(['<unk>', '\n<s>\n', '\n</s>\n', '<0x00>']);
    expect(vocab.pieces[258]).toBe('<0xFF>');
    expect(vocab.pieces[259]).toBe(' t');
    expect(vocab.scores[260]).toBe(-1);
    expect(vocab.pieces).toHaveLength(512);
  });

  it('rejects a vocab size that does not consume the file exactly', async () => {
    const bytes = await readFile(TOK512_BIN);
    expect(formatError(() => parseLlama2cTokenizer(bytes, 511, 't.bin')).message).toMatch(
      /t.bin: has \d+ bytes after the 511 tokens.*vocab size/,
    );
    expect(formatError(() => parseLlama2cTokenizer(bytes, 513, 't.bin')).message).toMatch(
      /truncated .* token 512/,
    );
    expect(formatError(() => parseLlama2cTokenizer(bytes.subarray(0, -1), 512, 't.bin')).file).toBe(
      't.bin',
    );
  });
});

describe('llama2.c tokenizer: format', () => {
  const pieces = ['<unk>', '\n<s>\n', '\n</s>\n', ' a', 'é'];
  const scores = [0, 0, 0, -1, -2];

  it('reads pieces and scores written by hand', () => {
    const vocab = parseLlama2cTokenizer(tokenizerBytes(pieces, scores), 5);
    expect(vocab.pieces).toEqual(pieces);
    expect(vocab.scores).toEqual(scores);
    expect(vocab.maxTokenLength).toBe(6);
  });

  it('rejects a piece longer than max_token_length', () => {
    const bytes = tokenizerBytes(pieces, scores, 3);
    expect(formatError(() => parseLlama2cTokenizer(bytes, 5)).message).toMatch(
      /token 0 has length 5, outside 0..max_token_length \(3\)/,
    );
  });

  it('rejects invalid UTF-8 and a bad header', () => {
    const bytes = tokenizerBytes(['ab'], [0]);
    bytes[bytes.byteLength - 1] = 0xff;
    expect(formatError(() => parseLlama2cTokenizer(bytes, 1)).message).toMatch(/not valid UTF-8/);
    expect(formatError(() => parseLlama2cTokenizer(new Uint8Array(2), 1)).message).toMatch(
      /truncated/,
    );
    const negative = Uint8Array.from([0xff, 0xff, 0xff, 0xff]);
    expect(formatError(() => parseLlama2cTokenizer(negative, 1)).message).toMatch(/out of range/);
  });
});
