// Trains a byte-level BPE tokenizer (the GPT-2 / RoBERTa kind) and writes it as a
// Hugging Face `tokenizer.json`, so that a fresh install can tokenize a corpus
// without any download. The pipeline the file describes, and that training
// mirrors:
//   added tokens   special tokens are cut out of the text first, matched verbatim;
//   pre-tokenizer  ByteLevel: GPT-2's split regex (contractions, letter runs,
//                  digit runs, punctuation runs, whitespace), each piece's UTF-8
//                  bytes written as 256 printable symbols (space is `Ġ`);
//   model          BPE over those symbols: the 256 byte symbols are always in the
//                  vocabulary, so every text encodes and `<unk>` is never produced;
//   post-processor TemplateProcessing adding BOS (as LLaMA does), or ByteLevel;
//   decoder        ByteLevel (symbols back to bytes, bytes to UTF-8).
//
// Training (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with
// Subword Units"): count the pre-tokenized words once, then repeatedly merge the
// most frequent adjacent pair of symbols over the unique words. Pair counts are
// updated incrementally (only the words holding the merged pair are touched,
// found through a pair → words index) and the best pair comes from a max-heap
// with lazy deletion: an entry whose count is out of date is re-pushed with the
// current count when it reaches the top. Counts of existing pairs only ever
// fall (a merge creates pairs with the new symbol only), so a popped entry
// whose count is current is the true maximum.
//
// Determinism: the same texts and options give byte-identical JSON. Ties between
// pairs of equal count go to the pair whose left symbol has the smaller
// vocabulary id, then the smaller right id (the rule of the Rust trainer).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { writeFileAtomic } from '../io/write-file-atomic.js';
import {
  addedTokenJson,
  addedTokensDecoder,
  bosTemplateProcessing,
  tokenizerFileTexts,
} from './llama-tokenizer-files.js';
import type { AddedTokenJson, LlamaTokenizerFiles } from './llama-tokenizer-files.js';

/** Options of `trainBpeTokenizer`. */
export interface TrainBpeOptions {
  /**
   * Size of the vocabulary: special tokens + 256 byte symbols + merges. Training
   * stops short of it only when no pair is left to merge (see `stopReason`).
   */
  vocabSize: number;
  /**
   * A pair is merged only when it occurs at least this often. [P] 2: a pair seen
   * once adds a token that helps no other text.
   * @default 2
   */
  minFrequency?: number;
  /**
   * Special tokens, given ids 0, 1, … in this order, before the byte symbols.
   * [P] `['<unk>', '<s>', '</s>']`: the ids of LLaMA / llama2.c (0 unk, 1 BOS,
   * 2 EOS). `<unk>` is kept for that layout only; byte-level text never needs it.
   * @default ['<unk>', '<s>', '</s>']
   */
  specialTokens?: readonly string[];
  /**
   * The special token put before each text by the post-processor (null: add
   * nothing, GPT-2 style). It must be one of `specialTokens`.
   * @default '<s>' when it is a special token, else null
   */
  bosToken?: string | null;
  /** Read at most this many characters of text (UTF-16 code units). @default no cap */
  maxChars?: number;
  /** Called after each merge with (merges done, merges wanted). */
  onProgress?: (done: number, total: number) => void;
}

/** A `tokenizer.json` object (the Hugging Face `tokenizers` format). */
export type TokenizerJson = Record<string, unknown>;

/** What `trainBpeTokenizer` returns. */
export interface TrainBpeResult {
  /** The tokenizer, ready for `saveTokenizerFolder` or `new Tokenizer(json)`. */
  json: TokenizerJson;
  /** Size of the vocabulary made: `requestedVocabSize` unless training stopped early. */
  vocabSize: number;
  requestedVocabSize: number;
  /** Number of merges learned. */
  merges: number;
  /** Why `vocabSize` is below `requestedVocabSize` (null when it is not). */
  stopReason: string | null;
  /** Characters of text read (after the `maxChars` cap). */
  chars: number;
  /** True when `maxChars` cut the text short. */
  truncated: boolean;
  /** Pre-tokenized words in the text, and how many distinct ones. */
  words: number;
  uniqueWords: number;
  /** Tokens the text encodes to with the trained vocabulary (special tokens not counted). */
  tokens: number;
}

/** GPT-2's pre-tokenization regex, as the ByteLevel pre-tokenizer applies it. */
export const GPT2_SPLIT_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Default special tokens (see `TrainBpeOptions.specialTokens`). */
export const DEFAULT_SPECIAL_TOKENS: readonly string[] = ['<unk>', '<s>', '</s>'];

/** Largest vocabulary trained (pair keys pack two symbol ids into one number). */
export const MAX_BPE_VOCAB = 1 << 20;

/**
 * GPT-2's printable stand-ins for the 256 bytes: bytes that are printable
 * Latin-1 characters stand for themselves, the others (controls, space, 0x7F-0xA0,
 * soft hyphen) map to U+0100 onwards in byte order. Returned in vocabulary
 * order: sorted by the stand-in character, which is the order GPT-2 and the
 * Rust trainer use.
 */
function byteSymbols(): { byte: number; symbol: string }[] {
  const printable = (b: number): boolean =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: { byte: number; symbol: string }[] = [];
  let next = 0x100;
  for (let b = 0; b < 256; b++) {
    out.push({ byte: b, symbol: String.fromCharCode(printable(b) ? b : next++) });
  }
  return out.sort((x, y) => x.symbol.charCodeAt(0) - y.symbol.charCodeAt(0));
}

function checkOptions(options: TrainBpeOptions): {
  specials: string[];
  bos: string | null;
  minFrequency: number;
  maxChars: number;
} {
  const specials = [...(options.specialTokens ?? DEFAULT_SPECIAL_TOKENS)];
  const seen = new Set<string>();
  const symbols = new Set(byteSymbols().map((s) => s.symbol));
  for (const t of specials) {
    if (typeof t !== 'string' || t === '') {
      throw new ConfigError(`specialTokens: each must be a non-empty string, got ${String(t)}`);
    }
    if (seen.has(t)) throw new ConfigError(`specialTokens: ${JSON.stringify(t)} is listed twice`);
    if (symbols.has(t)) {
      throw new ConfigError(
        `specialTokens: ${JSON.stringify(t)} is one of the 256 byte symbols`,
        'use a longer name such as <pad>',
      );
    }
    seen.add(t);
  }
  const { vocabSize } = options;
  const least = specials.length + 256;
  if (typeof vocabSize !== 'number' || !Number.isInteger(vocabSize)) {
    throw new ConfigError(`vocabSize must be an integer, got ${String(vocabSize)}`);
  }
  if (vocabSize < least || vocabSize > MAX_BPE_VOCAB) {
    throw new ConfigError(
      `vocabSize must be in [${least}, ${MAX_BPE_VOCAB}], got ${vocabSize}`,
      `it holds ${specials.length} special tokens and the 256 byte symbols before any merge`,
    );
  }
  const minFrequency = options.minFrequency ?? 2;
  if (!Number.isInteger(minFrequency) || minFrequency < 1) {
    throw new ConfigError(`minFrequency must be a positive integer, got ${String(minFrequency)}`);
  }
  const maxChars = options.maxChars ?? Infinity;
  if (!(maxChars === Infinity || (Number.isInteger(maxChars) && maxChars > 0))) {
    throw new ConfigError(`maxChars must be a positive integer, got ${String(maxChars)}`);
  }
  const defaultBos = specials.includes('<s>') ? '<s>' : null;
  const bos = options.bosToken === undefined ? defaultBos : options.bosToken;
  if (bos !== null && !specials.includes(bos)) {
    throw new ConfigError(
      `bosToken ${JSON.stringify(bos)} is not one of the special tokens`,
      `specialTokens: ${JSON.stringify(specials)}`,
    );
  }
  return { specials, bos, minFrequency, maxChars };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Word counts of the texts, with special tokens cut out (see the file header). */
async function countWords(
  texts: Iterable<string> | AsyncIterable<string>,
  specials: readonly string[],
  maxChars: number,
): Promise<{ counts: Map<string, number>; chars: number; truncated: boolean; words: number }> {
  // Longest first, so that a special token that starts another is not cut short.
  const sorted = [...specials].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  const splitter = sorted.length > 0 ? new RegExp(sorted.map(escapeRegExp).join('|')) : null;
  const counts = new Map<string, number>();
  let chars = 0;
  let words = 0;
  let truncated = false;
  for await (const item of texts) {
    if (typeof item !== 'string') {
      throw new ConfigError(`texts must yield strings, got ${typeof item}`);
    }
    let text = item;
    if (chars + text.length > maxChars) {
      let end = maxChars - chars;
      const high = text.charCodeAt(end - 1);
      if (high >= 0xd800 && high <= 0xdbff) end--; // keep a surrogate pair whole
      text = text.slice(0, end);
      truncated = true;
    }
    chars += text.length;
    for (const part of splitter ? text.split(splitter) : [text]) {
      for (const m of part.matchAll(GPT2_SPLIT_PATTERN)) {
        counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
        words++;
      }
    }
    if (truncated) break;
  }
  return { counts, chars, truncated, words };
}

/** Max-heap of (count, left, right): larger count first, then smaller left, smaller right. */
class PairHeap {
  private readonly count: number[] = [];
  private readonly left: number[] = [];
  private readonly right: number[] = [];

  get size(): number {
    return this.count.length;
  }

  private before(i: number, j: number): boolean {
    if (this.count[i] !== this.count[j]) return this.count[i] > this.count[j];
    if (this.left[i] !== this.left[j]) return this.left[i] < this.left[j];
    return this.right[i] < this.right[j];
  }

  private swap(i: number, j: number): void {
    for (const a of [this.count, this.left, this.right]) [a[i], a[j]] = [a[j], a[i]];
  }

  push(count: number, left: number, right: number): void {
    this.count.push(count);
    this.left.push(left);
    this.right.push(right);
    let i = this.count.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Remove the top; returns [count, left, right]. */
  pop(): [number, number, number] {
    const top: [number, number, number] = [this.count[0], this.left[0], this.right[0]];
    const last = this.count.length - 1;
    this.swap(0, last);
    this.count.pop();
    this.left.pop();
    this.right.pop();
    let i = 0;
    for (;;) {
      const [l, r] = [2 * i + 1, 2 * i + 2];
      let best = i;
      if (l < last && this.before(l, best)) best = l;
      if (r < last && this.before(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
    return top;
  }
}

const PAIR_SHIFT = MAX_BPE_VOCAB;
const pairKey = (left: number, right: number): number => left * PAIR_SHIFT + right;

/**
 * Train a byte-level BPE tokenizer on `texts` (see the file header). Each text
 * is pre-tokenized on its own, so a word is never joined across two texts.
 */
export async function trainBpeTokenizer(
  texts: Iterable<string> | AsyncIterable<string>,
  options: TrainBpeOptions,
): Promise<TrainBpeResult> {
  const { specials, bos, minFrequency, maxChars } = checkOptions(options);
  const { counts, chars, truncated, words } = await countWords(texts, specials, maxChars);

  // Symbols: ids 0..255 are the byte symbols in vocabulary order, 256.. the merges
  // in the order they are made; the vocabulary id is the symbol id + specials.length.
  const bytes = byteSymbols();
  const symbolOfByte = new Int32Array(256);
  bytes.forEach((b, i) => (symbolOfByte[b.byte] = i));
  const strings = bytes.map((b) => b.symbol);
  const reserved = new Set(specials);

  const encoder = new TextEncoder();
  const wordSymbols: Int32Array[] = [];
  const freq: number[] = [];
  for (const [word, n] of counts) {
    wordSymbols.push(Int32Array.from(encoder.encode(word), (b) => symbolOfByte[b]));
    freq.push(n);
  }
  counts.clear();

  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  wordSymbols.forEach((s, w) => {
    for (let i = 0; i + 1 < s.length; i++) {
      const key = pairKey(s[i], s[i + 1]);
      pairCount.set(key, (pairCount.get(key) ?? 0) + freq[w]);
      let set = where.get(key);
      if (!set) where.set(key, (set = new Set()));
      set.add(w);
    }
  });
  const heap = new PairHeap();
  for (const [key, n] of pairCount) heap.push(n, Math.floor(key / PAIR_SHIFT), key % PAIR_SHIFT);

  const wanted = options.vocabSize - specials.length - 256;
  const merges: [number, number][] = [];
  let stopReason: string | null = null;
  const forbidden = new Set<number>();
  let scratch = new Uint8Array(64);
  while (merges.length < wanted) {
    if (heap.size === 0) {
      stopReason = `every word of the corpus is a single token after ${merges.length} merges`;
      break;
    }
    const [n, a, b] = heap.pop();
    const key = pairKey(a, b);
    if (forbidden.has(key)) continue;
    const current = pairCount.get(key) ?? 0;
    if (current !== n) {
      if (current > 0) heap.push(current, a, b);
      continue;
    }
    if (n < minFrequency) {
      stopReason = `no pair occurs ${minFrequency} times or more after ${merges.length} merges`;
      break;
    }
    const merged = strings[a] + strings[b];
    if (reserved.has(merged)) {
      forbidden.add(key); // its token would duplicate a special token's entry
      continue;
    }
    const x = strings.length;
    strings.push(merged);
    merges.push([a, b]);
    const grown = new Set<number>();
    const add = (l: number, r: number, delta: number, w: number): void => {
      const k = pairKey(l, r);
      const c = (pairCount.get(k) ?? 0) + delta;
      if (c === 0) pairCount.delete(k);
      else pairCount.set(k, c);
      if (delta > 0) {
        grown.add(k);
        let set = where.get(k);
        if (!set) where.set(k, (set = new Set()));
        set.add(w);
      }
    };
    for (const w of where.get(key) ?? []) {
      const s = wordSymbols[w];
      const f = freq[w];
      if (scratch.length < s.length) scratch = new Uint8Array(2 * s.length);
      // Occurrences left to right, never overlapping ("a a a" with (a, a) → "aa a").
      const out: number[] = [];
      let found = false;
      scratch.fill(0, 0, s.length);
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          for (const j of [i - 1, i, i + 1]) if (j >= 0 && j + 1 < s.length) scratch[j] = 1;
          out.push(x);
          found = true;
          i++;
        } else {
          out.push(s[i]);
        }
      }
      if (!found) continue; // the index keeps words whose pair was merged away
      // Pairs that touch a merged position go; pairs that touch a new symbol come.
      for (let j = 0; j + 1 < s.length; j++) if (scratch[j]) add(s[j], s[j + 1], -f, w);
      for (let j = 0; j + 1 < out.length; j++) {
        if (out[j] === x || out[j + 1] === x) add(out[j], out[j + 1], f, w);
      }
      wordSymbols[w] = Int32Array.from(out);
    }
    where.delete(key);
    pairCount.delete(key);
    for (const k of grown) {
      const c = pairCount.get(k);
      if (c !== undefined) heap.push(c, Math.floor(k / PAIR_SHIFT), k % PAIR_SHIFT);
    }
    options.onProgress?.(merges.length, wanted);
  }

  let tokens = 0;
  wordSymbols.forEach((s, w) => (tokens += s.length * freq[w]));
  const vocabSize = specials.length + strings.length;
  return {
    json: tokenizerJson(specials, bos, strings, merges),
    vocabSize,
    requestedVocabSize: options.vocabSize,
    merges: merges.length,
    stopReason:
      stopReason === null
        ? null
        : `${stopReason}: the vocabulary has ${vocabSize} of the ${options.vocabSize} entries asked for (train on more text or lower minFrequency)`,
    chars,
    truncated,
    words,
    uniqueWords: wordSymbols.length,
    tokens,
  };
}

/** The `tokenizer.json` object of a trained vocabulary (see the file header). */
function tokenizerJson(
  specials: readonly string[],
  bos: string | null,
  strings: readonly string[],
  merges: readonly [number, number][],
): TokenizerJson {
  const vocab: Record<string, number> = {};
  specials.forEach((t, id) => (vocab[t] = id));
  strings.forEach((t, i) => (vocab[t] = specials.length + i));
  const added: AddedTokenJson[] = specials.map((t, id) => addedTokenJson(id, t, true));
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
    post_processor:
      bos === null
        ? { type: 'ByteLevel', ...byteLevel, trim_offsets: false }
        : bosTemplateProcessing(bos, specials.indexOf(bos)),
    decoder: { type: 'ByteLevel', ...byteLevel },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map(([a, b]) => [strings[a], strings[b]]),
    },
  };
}

/** Options of `tokenizerFolderFiles` and `saveTokenizerFolder`. */
export interface TokenizerFolderOptions {
  /** @default the token the post-processor adds, else `<s>` when it is a special token, else null */
  bosToken?: string | null;
  /** @default `</s>` when it is a special token, else null */
  eosToken?: string | null;
  /** @default `<unk>` when it is a special token, else null */
  unkToken?: string | null;
  /** @default null */
  padToken?: string | null;
  /** `model_max_length` (the model's context); left out when not given. */
  modelMaxLength?: number;
}

function addedTokensOf(json: TokenizerJson): AddedTokenJson[] {
  const added = json.added_tokens;
  if (!Array.isArray(added)) throw new ConfigError('tokenizer.json has no added_tokens list');
  return added as AddedTokenJson[];
}

/** The special token the post-processor puts before each text, if any. */
function templateBos(json: TokenizerJson): string | null {
  const post = json.post_processor as { type?: unknown; single?: unknown } | null;
  if (post?.type !== 'TemplateProcessing' || !Array.isArray(post.single)) return null;
  const first = post.single[0] as { SpecialToken?: { id?: unknown } } | undefined;
  const id = first?.SpecialToken?.id;
  return typeof id === 'string' ? id : null;
}

/**
 * The three files of a tokenizer folder as text: `tokenizer.json`,
 * `tokenizer_config.json` (a generic `PreTrainedTokenizerFast`, which uses the
 * post-processor as it is) and `special_tokens_map.json`.
 */
export function tokenizerFolderFiles(
  json: TokenizerJson,
  options: TokenizerFolderOptions = {},
): LlamaTokenizerFiles {
  const added = addedTokensOf(json);
  const names = new Set(added.map((t) => t.content));
  const bosAdded = templateBos(json);
  const pick = (value: string | null | undefined, fallback: string | null, flag: string) => {
    const token =
      value === undefined ? (fallback !== null && names.has(fallback) ? fallback : null) : value;
    if (token !== null && !names.has(token)) {
      throw new ConfigError(
        `${flag} ${JSON.stringify(token)} is not an added token of the tokenizer`,
        `added tokens: ${JSON.stringify([...names])}`,
      );
    }
    return token;
  };
  const config: Record<string, unknown> = {
    add_bos_token: bosAdded !== null,
    add_eos_token: false,
    added_tokens_decoder: addedTokensDecoder(added),
    bos_token: pick(options.bosToken, bosAdded ?? '<s>', 'bosToken'),
    eos_token: pick(options.eosToken, '</s>', 'eosToken'),
    unk_token: pick(options.unkToken, '<unk>', 'unkToken'),
    pad_token: pick(options.padToken, null, 'padToken'),
    clean_up_tokenization_spaces: false,
  };
  if (options.modelMaxLength !== undefined) {
    const n = options.modelMaxLength;
    if (!Number.isInteger(n) || n <= 0) {
      throw new ConfigError(`modelMaxLength must be a positive integer, got ${String(n)}`);
    }
    config.model_max_length = n;
  }
  config.tokenizer_class = 'PreTrainedTokenizerFast';
  return tokenizerFileTexts(json, config);
}

/**
 * Write `tokenizer.json`, `tokenizer_config.json` and `special_tokens_map.json`
 * into `dir` (created if missing; other files in it are left alone), each file
 * replaced atomically. Returns the names written.
 */
export async function saveTokenizerFolder(
  dir: string,
  json: TokenizerJson,
  options: TokenizerFolderOptions = {},
): Promise<string[]> {
  const files = tokenizerFolderFiles(json, options);
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFileAtomic(join(dir, name), text);
  return Object.keys(files);
}
