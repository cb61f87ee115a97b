// The tokenizer every snnlm command uses: a thin wrapper over Tokenizers.js
// (`@huggingface/tokenizers`, github.com/huggingface/tokenizers.js) that loads
// a Hugging Face `tokenizer.json` + `tokenizer_config.json` from a folder and
// adds what generation needs: special-token ids, the vocabulary size, range
// checks on ids, and an incremental detokenizer for streaming.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ConfigError, FormatError } from '../errors.js';
import { IncrementalDetokenizer } from './detokenizer.js';
import type { DetokenizerOptions } from './detokenizer.js';

/** Options of `Tokenizer.encode`. */
export interface EncodeOptions {
  /** Add the special tokens of the post-processor (BOS, `[CLS] … [SEP]`). @default true */
  addSpecialTokens?: boolean;
  /** Second text of a pair (BERT-style sentence pairs). */
  textPair?: string;
}

/** Options of `Tokenizer.decode`. */
export interface DecodeOptions {
  /** Leave out special tokens (BOS, EOS, `[CLS]`, padding). @default false */
  skipSpecialTokens?: boolean;
  /**
   * Apply transformers' clean-up (" ." → ".", " 's" → "'s").
   * @default the config's `clean_up_tokenization_spaces`, else false
   */
  cleanUpTokenizationSpaces?: boolean;
}

/** Result of `Tokenizer.encodeDetailed`. */
export interface Encoded {
  ids: number[];
  tokens: string[];
  /** Segment of each token: 0 for `text`, 1 for `textPair` (BERT's token_type_ids). */
  typeIds: number[];
}

/** Largest tokenizer.json read (Llama 3's is about 9 MB). */
const MAX_TOKENIZER_BYTES = 64 * 1024 * 1024;

type Json = Record<string, unknown>;

async function readJson(path: string, required: boolean, hint: string): Promise<Json | null> {
  const info = await stat(path).catch(() => null);
  if (!info || !info.isFile()) {
    if (required) throw new FormatError(path, 'file is missing', hint);
    return null;
  }
  if (info.size > MAX_TOKENIZER_BYTES) {
    throw new FormatError(path, `file is too big: ${info.size} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new FormatError(path, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FormatError(path, 'must hold a JSON object');
  }
  return value as Json;
}

/** A special token of tokenizer_config.json: a string, `{ content }`, or null. */
function tokenText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'content' in value) {
    const content = (value as { content: unknown }).content;
    return typeof content === 'string' ? content : null;
  }
  return null;
}

/** A loaded tokenizer (see the file header). */
export class Tokenizer {
  /** Where it was loaded from (used in error messages). */
  readonly source: string;
  /** One more than the largest id (model vocabulary plus added tokens). */
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly unkId: number | null;
  /** Ids of the special tokens (skipped by `decode({ skipSpecialTokens: true })`). */
  readonly specialIds: ReadonlySet<number>;
  /** `model_max_length` of the config, when it is a sane number. */
  readonly modelMaxLength: number | null;
  private readonly hf: HfTokenizer;
  private readonly cleanUp: boolean;
  /** The post-processor loses the second text of a pair (see `encodeDetailed`). */
  private readonly pairDropped: boolean;

  /** Build from parsed `tokenizer.json` and `tokenizer_config.json` objects. */
  constructor(tokenizerJson: object, config: object = {}, source = '<memory>') {
    try {
      this.hf = new HfTokenizer(tokenizerJson, config);
    } catch (e) {
      throw new FormatError(source, `cannot build the tokenizer: ${(e as Error).message}`);
    }
    const cfg = config as Json;
    this.source = source;
    let max = -1;
    for (const id of this.hf.get_vocab(true).values()) max = Math.max(max, id);
    this.vocabSize = max + 1;
    const lookup = (key: string, fallbacks: string[]): number | null => {
      const named = tokenText(cfg[key]);
      for (const text of named !== null ? [named] : key in cfg ? [] : fallbacks) {
        const id = this.hf.token_to_id(text);
        if (id !== undefined) return id;
      }
      return null;
    };
    this.bosId = lookup('bos_token', ['<s>', '<|begin_of_text|>', '<|endoftext|>']);
    this.eosId = lookup('eos_token', ['</s>', '<|end_of_text|>', '<|endoftext|>']);
    this.padId = lookup('pad_token', ['<pad>', '[PAD]']);
    this.unkId = lookup('unk_token', ['<unk>', '[UNK]']);
    const special = [...this.hf.get_added_tokens_decoder()].filter(([, t]) => t.special);
    this.specialIds = new Set(special.map(([id]) => id));
    const maxLength = cfg.model_max_length;
    this.modelMaxLength =
      typeof maxLength === 'number' && Number.isInteger(maxLength) && maxLength < 1e9
        ? maxLength
        : null;
    // NOTE: Tokenizers.js cleans up spaces unless told not to; transformers and the
    // Rust library do not by default any more, and clean-up breaks streaming.
    this.cleanUp = cfg.clean_up_tokenization_spaces === true;
    const post = (tokenizerJson as { post_processor?: { type?: unknown } | null }).post_processor;
    this.pairDropped = post?.type === 'ByteLevel';
  }

  /**
   * Load `tokenizer.json` (required), `tokenizer_config.json` and
   * `special_tokens_map.json` (optional; the config's fields win) from `dir`.
   */
  static async fromFolder(dir: string): Promise<Tokenizer> {
    const file = join(dir, 'tokenizer.json');
    const json = await readJson(
      file,
      true,
      'a model folder needs tokenizer.json (snnlm convert llama2c writes one)',
    );
    const config = (await readJson(join(dir, 'tokenizer_config.json'), false, '')) ?? {};
    const map = (await readJson(join(dir, 'special_tokens_map.json'), false, '')) ?? {};
    return new Tokenizer(json!, { ...map, ...config }, file);
  }

  /** Token ids of `text`. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.encodeDetailed(text, options).ids;
  }

  /** Ids, token strings and token type ids (0 for the first text, 1 for the pair). */
  encodeDetailed(text: string, options: EncodeOptions = {}): Encoded {
    if (typeof text !== 'string') throw new ConfigError('text to encode must be a string');
    if (options.textPair !== undefined && this.pairDropped) {
      // NOTE: Tokenizers.js 0.2.0's ByteLevel post-processor drops the second
      // text of a pair; it adds no special tokens, so the pair is the two
      // encodings one after the other, as the Rust library makes it.
      const a = this.encodeDetailed(text, { ...options, textPair: undefined });
      const b = this.encodeDetailed(options.textPair, { ...options, textPair: undefined });
      return {
        ids: [...a.ids, ...b.ids],
        tokens: [...a.tokens, ...b.tokens],
        typeIds: [...a.typeIds, ...b.ids.map(() => 1)],
      };
    }
    const e = this.hf.encode(text, {
      add_special_tokens: options.addSpecialTokens ?? true,
      text_pair: options.textPair ?? null,
      return_token_type_ids: true,
    });
    return { ids: e.ids, tokens: e.tokens, typeIds: e.token_type_ids ?? e.ids.map(() => 0) };
  }

  /** Token strings of `text` (no special tokens), e.g. `['▁Once', '▁upon']`. */
  tokenize(text: string): string[] {
    return this.hf.tokenize(text);
  }

  /** Text of `ids`; an id outside `[0, vocabSize)` is a ConfigError. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    for (const id of ids) this.checkId(id);
    if (ids.length === 0) return '';
    return this.hf.decode([...ids], {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: options.cleanUpTokenizationSpaces ?? this.cleanUp,
    });
  }

  /** Piece of one id (`'▁Once'`, `'<0x0A>'`). */
  idToToken(id: number): string {
    this.checkId(id);
    return this.hf.id_to_token(id) ?? '';
  }

  /** Id of a piece, or null when it is not in the vocabulary. */
  tokenToId(token: string): number | null {
    return this.hf.token_to_id(token) ?? null;
  }

  /** A streaming detokenizer over this tokenizer (see `IncrementalDetokenizer`). */
  detokenizer(options: DetokenizerOptions = {}): IncrementalDetokenizer {
    return new IncrementalDetokenizer(this, options);
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new ConfigError(
        `token id ${String(id)} is outside the vocabulary (0..${this.vocabSize - 1}) of ${this.source}`,
      );
    }
  }
}
