// GPT-2 (byte-level BPE) and bert-base-uncased (WordPiece) tokenizers loaded from
// shared/models/tokenizers reproduce the reference encodings of the Rust
// `tokenizers` library (reference-vectors.json: ids, tokens, type ids, decode).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { SHARED_MODELS, missing } from '../io/llama2c-fixtures.js';

interface Case {
  kind: 'single' | 'pair';
  text: string;
  text_pair?: string;
  add_special_tokens: boolean;
  ids: number[];
  tokens: string[];
  type_ids: number[];
  decoded: string;
  decoded_raw: string;
}

for (const name of ['gpt2', 'bert-base-uncased']) {
  const dir = path.join(SHARED_MODELS, 'tokenizers', name);
  const vectors = path.join(dir, 'reference-vectors.json');
  describe(`${name} reference vectors`, () => {
    const skip = missing(path.join(dir, 'tokenizer.json'), vectors);
    if (skip) {
      it.skip(skip, () => undefined);
      return;
    }
    const cases = (JSON.parse(readFileSync(vectors, 'utf8')) as { cases: Case[] }).cases;
    let tok: Tokenizer;
    beforeAll(async () => {
      tok = await Tokenizer.fromFolder(dir);
    });

    it.each(cases.map((c, i) => [i, c] as const))('case %i: ids, tokens, type ids', (_, c) => {
      const options = { addSpecialTokens: c.add_special_tokens, textPair: c.text_pair };
      const e = tok.encodeDetailed(c.text, options);
      expect(e.ids).toEqual(c.ids);
      expect(e.tokens).toEqual(c.tokens);
      expect(e.typeIds).toEqual(c.type_ids);
      expect(tok.encode(c.text, options)).toEqual(c.ids);
    });

    it.each(cases.filter((c) => c.kind === 'single').map((c, i) => [i, c] as const))(
      'single case %i: decode',
      (_, c) => {
        expect(tok.decode(c.ids, { skipSpecialTokens: true })).toBe(c.decoded);
        expect(tok.decode(c.ids)).toBe(c.decoded_raw);
      },
    );
  });
}

describe('special tokens of the reference tokenizers', () => {
  const skip = missing(path.join(SHARED_MODELS, 'tokenizers/gpt2/tokenizer.json'));
  if (skip) {
    it.skip(skip, () => undefined);
    return;
  }

  it('finds GPT-2 <|endoftext|> and BERT [PAD]/[UNK] without them in the config', async () => {
    const gpt2 = await Tokenizer.fromFolder(path.join(SHARED_MODELS, 'tokenizers/gpt2'));
    expect([gpt2.vocabSize, gpt2.eosId, gpt2.bosId, gpt2.modelMaxLength]).toEqual([
      50257, 50256, 50256, 1024,
    ]);
    const bert = await Tokenizer.fromFolder(
      path.join(SHARED_MODELS, 'tokenizers/bert-base-uncased'),
    );
    expect([bert.vocabSize, bert.padId, bert.unkId, bert.eosId]).toEqual([30522, 0, 100, null]);
  });
});
