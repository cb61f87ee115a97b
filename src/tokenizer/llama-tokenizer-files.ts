// Builds the Hugging Face tokenizer files of a sentencepiece BPE vocabulary
// (llama2.c's tok512/tok4096, LLaMA's), the way transformers' LlamaConverter
// does: a BPE model with byte fallback whose merges are every split of a piece
// into two pieces, ranked by the score of the merged piece; a normalizer that
// prepends `▁` and turns spaces into `▁`; the decoder chain Replace `▁`→space,
// ByteFallback, Fuse, Strip one leading space; a TemplateProcessing that adds
// BOS. The result encodes like sentencepiece / llama2.c's BPE encoder.
import { ConfigError } from '../errors.js';
import { SPACE_MARKER } from './sentencepiece-vocab.js';
import type { VocabPiece } from './sentencepiece-vocab.js';

/** Options of `llamaTokenizerFiles`. */
export interface LlamaTokenizerOptions {
  /** `model_max_length` of tokenizer_config.json (the model's context). */
  modelMaxLength: number;
}

/** The three files, as text ready to write (`tokenizer.json` uses 1-space indentation). */
export interface LlamaTokenizerFiles {
  'tokenizer.json': string;
  'tokenizer_config.json': string;
  'special_tokens_map.json': string;
}

type Merge = { left: string; right: string; rank: [number, number, number, number] };

/**
 * Every way of writing a normal piece as two normal pieces, sorted by the score
 * of the merged piece (highest first), then by the ids of the two parts.
 */
export function bpeMerges(vocab: readonly VocabPiece[]): [string, string][] {
  const ids = new Map<string, number>();
  vocab.forEach((p, id) => {
    if (p.kind === 'normal') ids.set(p.piece, id);
  });
  const merges: Merge[] = [];
  vocab.forEach((p, id) => {
    if (p.kind !== 'normal') return;
    const chars = Array.from(p.piece); // split between code points, never inside one
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      const l = ids.get(left);
      const r = ids.get(right);
      if (l !== undefined && r !== undefined) {
        merges.push({ left, right, rank: [-p.score, id, l, r] });
      }
    }
  });
  merges.sort((a, b) => {
    for (let i = 0; i < 4; i++) if (a.rank[i] !== b.rank[i]) return a.rank[i] - b.rank[i];
    return 0;
  });
  return merges.map((m) => [m.left, m.right]);
}

/** An entry of tokenizer.json's `added_tokens`: matched verbatim, never normalized. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: false;
  lstrip: false;
  rstrip: false;
  normalized: false;
  special: boolean;
}

/** The `added_tokens` entry of token `content` with id `id`. */
export function addedTokenJson(id: number, content: string, special: boolean): AddedTokenJson {
  return {
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special,
  };
}

/** tokenizer_config.json's `added_tokens_decoder`: the same tokens keyed by id. */
export function addedTokensDecoder(tokens: readonly AddedTokenJson[]): Record<string, unknown> {
  const decoder: Record<string, unknown> = {};
  for (const t of tokens) {
    decoder[String(t.id)] = {
      content: t.content,
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: t.special,
    };
  }
  return decoder;
}

/** A TemplateProcessing post-processor that puts `bos` (id `bosId`) before each text. */
export function bosTemplateProcessing(bos: string, bosId: number): Record<string, unknown> {
  const bosToken = { SpecialToken: { id: bos, type_id: 0 } };
  return {
    type: 'TemplateProcessing',
    single: [bosToken, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [
      bosToken,
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: bos, type_id: 1 } },
      { Sequence: { id: 'B', type_id: 1 } },
    ],
    special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
  };
}

/**
 * The three tokenizer files as text: `tokenizer.json` (1-space indentation, as
 * the Rust library writes it), `tokenizer_config.json`, and
 * `special_tokens_map.json` (the config's non-null bos/eos/unk/pad tokens).
 */
export function tokenizerFileTexts(
  tokenizerJson: object,
  config: Record<string, unknown>,
): LlamaTokenizerFiles {
  const map = Object.fromEntries(
    (['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const)
      .filter((k) => config[k] !== null && config[k] !== undefined)
      .map((k) => [k, config[k]]),
  );
  return {
    'tokenizer.json': `${JSON.stringify(tokenizerJson, null, 1)}\n`,
    'tokenizer_config.json': `${JSON.stringify(config, null, 2)}\n`,
    'special_tokens_map.json': `${JSON.stringify(map, null, 2)}\n`,
  };
}

function specialPiece(vocab: readonly VocabPiece[], piece: string): number | null {
  const id = vocab.findIndex((p) => p.piece === piece && p.kind !== 'normal');
  return id < 0 ? null : id;
}

/** The `tokenizer.json` object (see the file header). */
export function llamaTokenizerJson(vocab: readonly VocabPiece[]): Record<string, unknown> {
  const seen = new Set<string>();
  const vocabObject: Record<string, number> = {};
  vocab.forEach((p, id) => {
    if (seen.has(p.piece)) throw new ConfigError(`piece ${JSON.stringify(p.piece)} occurs twice`);
    seen.add(p.piece);
    vocabObject[p.piece] = id;
  });
  const bos = specialPiece(vocab, '<s>');
  const unk = specialPiece(vocab, '<unk>');
  if (bos === null) throw new ConfigError('the vocabulary has no <s> (BOS) control piece');
  const added = vocab.flatMap((p, id) =>
    ['unknown', 'control', 'user_defined'].includes(p.kind)
      ? [addedTokenJson(id, p.piece, p.kind !== 'user_defined')]
      : [],
  );
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPACE_MARKER },
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE_MARKER },
      ],
    },
    pre_tokenizer: null,
    post_processor: bosTemplateProcessing('<s>', bos),
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE_MARKER }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unk === null ? null : '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: vocabObject,
      merges: bpeMerges(vocab),
    },
  };
}

/** `tokenizer_config.json` of a LLaMA sentencepiece tokenizer (LlamaTokenizer, BOS added). */
export function llamaTokenizerConfig(
  vocab: readonly VocabPiece[],
  options: LlamaTokenizerOptions,
): Record<string, unknown> {
  const decoder = addedTokensDecoder(
    vocab.flatMap((p, id) =>
      p.kind === 'unknown' || p.kind === 'control' || p.kind === 'user_defined'
        ? [addedTokenJson(id, p.piece, p.kind !== 'user_defined')]
        : [],
    ),
  );
  const has = (piece: string): string | null =>
    specialPiece(vocab, piece) === null ? null : piece;
  return {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: decoder,
    bos_token: has('<s>'),
    eos_token: has('</s>'),
    unk_token: has('<unk>'),
    pad_token: null,
    clean_up_tokenization_spaces: false,
    legacy: true,
    model_max_length: options.modelMaxLength,
    padding_side: 'left',
    sp_model_kwargs: {},
    spaces_between_special_tokens: false,
    tokenizer_class: 'LlamaTokenizer',
    use_default_system_prompt: false,
  };
}

/** All three tokenizer files of a sentencepiece BPE vocabulary, as text. */
export function llamaTokenizerFiles(
  vocab: readonly VocabPiece[],
  options: LlamaTokenizerOptions,
): LlamaTokenizerFiles {
  return tokenizerFileTexts(llamaTokenizerJson(vocab), llamaTokenizerConfig(vocab, options));
}
