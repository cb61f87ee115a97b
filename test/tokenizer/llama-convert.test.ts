// Converting llama2.c / sentencepiece BPE vocabularies to Hugging Face tokenizer
// files: byte-identical to the shared stories260K and tok4096 files, encoding
// like them and like an independent llama2.c-style encoder (MANIFEST ids,
// byte fallback, odd whitespace, empty text), and decoding back exactly.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { readLlama2cTokenizer } from '../../src/io/index.js';
import {
  Tokenizer,
  bpeMerges,
  llamaTokenizerFiles,
  parseSentencePieceModel,
  vocabFromLlama2c,
} from '../../src/tokenizer/index.js';
import type { LlamaTokenizerFiles } from '../../src/tokenizer/index.js';
import { SHARED_MODELS, STORIES_HF, TOK512_BIN, missing } from '../io/llama2c-fixtures.js';
import { llama2cDecode, llama2cEncode } from './llama2c-reference.js';

const TOK512_MODEL = path.join(SHARED_MODELS, 'llama2c/tok512.model');
const TOK4096_BIN = path.join(SHARED_MODELS, 'llama2c/tok4096.bin');
const TOK4096_MODEL = path.join(SHARED_MODELS, 'llama2c/tok4096.model');
const TOK4096_HF = path.join(SHARED_MODELS, 'tokenizers/llama2c-tok4096');
const FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'] as const;

const HELLO = 'Hello, my dog is cute. Once upon a time, there was a little girl named Lily.';
const TRICKY = [
  'Once upon a time',
  HELLO,
  '',
  'a',
  'Zoë … café 🦀 ζ',
  '🦀🦀 emoji 👩‍👩‍👧 family',
  'double  spaces   and    more',
  '  leading and trailing  ',
  'tab\there\nnew line\r\n',
  '\n\n',
  '"Quotes," she said. \'Single\' too!',
  'Digits 12345 and 3.14 and 2024',
  "Lily's mom didn't know what to do.",
  'UPPER lower MiXeD',
  '中文字符 and Ελληνικά',
];

async function convert(file: string, vocabSize: number): Promise<LlamaTokenizerFiles> {
  if (file.endsWith('.model')) {
    return llamaTokenizerFiles(parseSentencePieceModel(await readFile(file), file), {
      modelMaxLength: 512,
    });
  }
  const { pieces, scores } = await readLlama2cTokenizer(file, vocabSize);
  const vocab = vocabFromLlama2c(pieces, scores);
  return llamaTokenizerFiles(vocab, { modelMaxLength: 512 });
}

function load(files: LlamaTokenizerFiles): Tokenizer {
  return new Tokenizer(
    JSON.parse(files['tokenizer.json']),
    JSON.parse(files['tokenizer_config.json']),
  );
}

describe('llama2.c tok512 to tokenizer.json', () => {
  const skip = missing(TOK512_BIN, TOK512_MODEL, path.join(STORIES_HF, 'tokenizer.json'));
  if (skip) {
    it.skip(skip, () => undefined);
    return;
  }
  let files: LlamaTokenizerFiles;
  let ours: Tokenizer;
  let shared: Tokenizer;
  let pieces: readonly string[];
  let scores: readonly number[];
  beforeAll(async () => {
    files = await convert(TOK512_BIN, 512);
    ours = load(files);
    shared = await Tokenizer.fromFolder(STORIES_HF);
    ({ pieces, scores } = await readLlama2cTokenizer(TOK512_BIN, 512));
  });

  it('writes the three files of the shared stories260K folder byte for byte', () => {
    for (const name of FILES) {
      expect(files[name], name).toBe(readFileSync(path.join(STORIES_HF, name), 'utf8'));
    }
  });

  it('gives the same files from the sentencepiece .model', async () => {
    expect(await convert(TOK512_MODEL, 512)).toEqual(files);
  });

  it('ranks 165 merges by the score of the merged piece', () => {
    const merges = JSON.parse(files['tokenizer.json']).model.merges;
    expect(merges).toHaveLength(165);
    expect(merges.slice(0, 3)).toEqual([
      ['▁', 't'],
      ['h', 'e'],
      ['▁', 'a'],
    ]);
    expect(bpeMerges(vocabFromLlama2c(pieces, scores))).toEqual(merges);
  });

  it('encodes the MANIFEST strings to the MANIFEST ids', () => {
    expect(ours.encode('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
    expect(ours.encode(HELLO)).toEqual([
      1, 346, 306, 414, 432, 284, 422, 400, 428, 410, 293, 280, 323, 411, 426, 403, 407, 261, 378,
      432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426,
    ]);
  });

  it.each(TRICKY)('encodes %j like the shared tokenizer and llama2.c', (text) => {
    const ids = ours.encode(text);
    expect(ids).toEqual(shared.encode(text));
    expect(ids).toEqual(llama2cEncode(text, pieces, scores));
    expect(ours.encode(text, { addSpecialTokens: false })).toEqual(ids.slice(1));
  });

  it.each(TRICKY)('decodes %j back exactly', (text) => {
    const ids = ours.encode(text);
    expect(ours.decode(ids, { skipSpecialTokens: true })).toBe(text);
    expect(llama2cDecode(ids, pieces)).toBe(text);
  });

  it('uses byte fallback for characters outside the vocabulary', () => {
    expect(ours.tokenize('🦀')).toEqual(['▁', '<0xF0>', '<0x9F>', '<0xA6>', '<0x80>']);
  });

  it('knows its special tokens', () => {
    expect([ours.bosId, ours.eosId, ours.unkId, ours.padId]).toEqual([1, 2, 0, null]);
    expect(ours.vocabSize).toBe(512);
    expect([...ours.specialIds].sort()).toEqual([0, 1, 2]);
    expect(ours.decode([1, 403, 2])).toBe('<s> Once</s>');
  });
});

describe('llama2.c tok4096 to tokenizer.json', () => {
  const skip = missing(TOK4096_BIN, TOK4096_MODEL, path.join(TOK4096_HF, 'tokenizer.json'));
  if (skip) {
    it.skip(skip, () => undefined);
    return;
  }

  it('writes the shared llama2c-tok4096 files byte for byte, from .bin and .model', async () => {
    const fromBin = await convert(TOK4096_BIN, 4096);
    expect(await convert(TOK4096_MODEL, 4096)).toEqual(fromBin);
    for (const name of FILES) {
      expect(fromBin[name], name).toBe(readFileSync(path.join(TOK4096_HF, name), 'utf8'));
    }
  });

  it('encodes like llama2.c and the MANIFEST', async () => {
    const tok = await Tokenizer.fromFolder(TOK4096_HF);
    const { pieces, scores } = await readLlama2cTokenizer(TOK4096_BIN, 4096);
    expect(tok.encode(HELLO)).toEqual([
      1, 346, 2226, 4016, 631, 519, 467, 1854, 4010, 403, 407, 261, 378, 4016, 383, 286, 261, 376,
      445, 395, 317, 4010,
    ]);
    for (const text of TRICKY) {
      expect(tok.encode(text), text).toEqual(llama2cEncode(text, pieces, scores));
      expect(tok.decode(tok.encode(text), { skipSpecialTokens: true }), text).toBe(text);
    }
  });
});

describe('sentencepiece vocabularies', () => {
  it('maps llama2.c export conventions back to sentencepiece pieces', () => {
    const vocab = vocabFromLlama2c(
      ['<unk>', '\n<s>\n', '\n</s>\n', '<0x0A>', ' the'],
      [0, 0, 0, 0, -3],
    );
    expect(vocab.map((p) => [p.piece, p.kind])).toEqual([
      ['<unk>', 'unknown'],
      ['<s>', 'control'],
      ['</s>', 'control'],
      ['<0x0A>', 'byte'],
      ['▁the', 'normal'],
    ]);
  });

  it('rejects a unigram model and bytes that are not a protobuf', () => {
    // ModelProto { pieces: [{ piece: "a", score: 0, type: NORMAL }], trainer_spec: { model_type: UNIGRAM } }
    const unigram = Uint8Array.from([0x0a, 0x03, 0x0a, 0x01, 0x61, 0x12, 0x02, 0x18, 0x01]);
    expect(() => parseSentencePieceModel(unigram, 'u.model')).toThrow(/u.model: .*not BPE/);
    const garbage = Uint8Array.from([0x0a, 0x7f, 0x01]);
    expect(() => parseSentencePieceModel(garbage, 'g.model')).toThrow(FormatError);
  });
});
