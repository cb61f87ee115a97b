// The incremental detokenizer: pieces emitted one token at a time concatenate to
// the full decode (sentencepiece with byte fallback, GPT-2 byte-level BPE,
// BERT WordPiece), incomplete characters are held back, and prompt context
// gives the first new token its leading space without being emitted.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { SHARED_MODELS, STORIES_HF, missing } from '../io/llama2c-fixtures.js';

const TEXTS = [
  'Once upon a time, there was a little girl named Lily.',
  'Zoë … café 🦀 ζ',
  '🦀🦀 emoji 👩‍👩‍👧 family',
  'double  spaces\tand tabs\nand lines\n\n',
  '  leading and trailing  ',
  '中文字符 and Ελληνικά',
  '',
];

/** Push every id, then flush; returns the emitted pieces. */
function stream(tok: Tokenizer, ids: number[], context: number[] = []): string[] {
  const d = tok.detokenizer({ context });
  const pieces = ids.map((id) => d.push(id));
  pieces.push(d.flush());
  expect(d.text).toBe(pieces.join(''));
  return pieces;
}

const folders: [string, string][] = [
  ['stories260K (sentencepiece, byte fallback)', STORIES_HF],
  ['gpt2 (byte-level)', path.join(SHARED_MODELS, 'tokenizers/gpt2')],
  ['bert-base-uncased (WordPiece)', path.join(SHARED_MODELS, 'tokenizers/bert-base-uncased')],
];

for (const [name, dir] of folders) {
  describe(`incremental detokenizer: ${name}`, () => {
    const skip = missing(path.join(dir, 'tokenizer.json'));
    if (skip) {
      it.skip(skip, () => undefined);
      return;
    }
    let tok: Tokenizer;
    beforeAll(async () => {
      tok = await Tokenizer.fromFolder(dir);
    });

    it.each(TEXTS)('streams %j to the full decode', (text) => {
      const ids = tok.encode(text);
      expect(stream(tok, ids).join('')).toBe(tok.decode(ids, { skipSpecialTokens: true }));
    });

    it('continues a prompt given as context', () => {
      const prompt = tok.encode('Once upon a time');
      const all = tok.encode('Once upon a time, there was a dog 🐶 named Max.');
      expect(all.slice(0, prompt.length - 1)).toEqual(prompt.slice(0, prompt.length - 1));
      const cut = prompt.length - (name.startsWith('bert') ? 1 : 0); // BERT ends with [SEP]
      const full = tok.decode(all.slice(0, all.length), { skipSpecialTokens: true });
      const head = tok.decode(all.slice(0, cut), { skipSpecialTokens: true });
      expect(stream(tok, all.slice(cut), all.slice(0, cut)).join('')).toBe(full.slice(head.length));
    });
  });
}

describe('incremental detokenizer: partial characters', () => {
  const skip = missing(path.join(STORIES_HF, 'tokenizer.json'));
  if (skip) {
    it.skip(skip, () => undefined);
    return;
  }
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = await Tokenizer.fromFolder(STORIES_HF);
  });

  it('holds byte-fallback pieces until the character is complete', () => {
    const ids = tok.encode('a🦀b'); // <s> ▁a <0xF0> <0x9F> <0xA6> <0x80> b
    expect(ids.map((id) => tok.idToToken(id)).slice(2, 6)).toEqual([
      '<0xF0>',
      '<0x9F>',
      '<0xA6>',
      '<0x80>',
    ]);
    expect(stream(tok, ids)).toEqual(['', 'a', '', '', '', '🦀', 'b', '']);
  });

  it('keeps the leading space of a new word after the prompt', () => {
    const prompt = tok.encode('Once upon');
    const d = tok.detokenizer({ context: prompt });
    expect(d.push(tok.tokenToId('▁a')!)).toBe(' a');
  });

  it('flushes an incomplete character as U+FFFD', () => {
    const d = tok.detokenizer();
    expect(d.push(tok.tokenToId('<0xF0>')!)).toBe('');
    expect(d.flush()).toBe('\uFFFD');
    expect(d.flush()).toBe('');
  });
});
