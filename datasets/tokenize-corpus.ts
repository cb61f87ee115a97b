// Tokenizes a corpus into the token cache: one stream of ids for the whole
// corpus (documents in reading order, joined by the separator convention) in
// `tokens.bin`, the start of every document in `documents.bin` (float64
// offsets), and a manifest. The entry is keyed by the corpus content hash, the
// tokenizer hash and the tokenization parameters; a second run with the same
// key reads the entry and never calls the tokenizer.
//
// NOTE: a text document longer than `maxChunkChars` is tokenized in pieces cut
// at line breaks; at each cut a sentencepiece tokenizer adds its dummy-prefix
// space, so the ids can differ there from tokenizing the document whole.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../src/errors.js';
import { buildCacheEntry, datasetCacheRoot, readCacheEntry } from './cache-entry.js';
import type { ManifestBase } from './cache-entry.js';
import { hashKey } from './hash.js';
import { readCorpusFiles } from './read-corpus.js';
import { TokenWriter, bytesPerToken, dtypeFor } from './token-file.js';
import { DEFAULT_MAX_CHUNK_CHARS } from './types.js';
import type {
  CorpusFile,
  CorpusTokenizer,
  HashedTokenizer,
  SeparatorMode,
  TokenDtype,
} from './types.js';

/** Manifest of a token cache entry. */
export interface TokenManifest extends ManifestBase {
  corpus_hash: string;
  tokenizer_hash: string;
  /** The separator convention actually used (never `auto`). */
  separator: Exclude<SeparatorMode, 'auto'>;
  bos_id: number | null;
  eos_id: number | null;
  vocab_size: number;
  dtype: TokenDtype;
  max_chunk_chars: number;
  documents: number;
  tokens: number;
  characters: number;
}

/** Parameters of `tokenizeCorpus`. */
export interface TokenizeCorpusParams {
  files: readonly CorpusFile[];
  /** `hashCorpusFiles(files)`. */
  corpusHash: string;
  tokenizer: HashedTokenizer;
  /** @default 'auto' */
  separator?: SeparatorMode;
  /** Cache root (entries go to `<cacheDir>/datasets/`). @default '.snnlm-cache' */
  cacheDir?: string;
  /** @default DEFAULT_MAX_CHUNK_CHARS */
  maxChunkChars?: number;
  /** Called after every piece while tokenizing (for a progress line). */
  onProgress?: (p: { documents: number; tokens: number; characters: number }) => void;
}

/** A token cache entry. */
export interface TokenizedCorpus {
  dir: string;
  manifest: TokenManifest;
  tokensPath: string;
  documentsPath: string;
  /** True when the entry was already in the cache. */
  cacheHit: boolean;
}

export const TOKENS_FORMAT = 'snnlm-tokens';
export const TOKENS_VERSION = 1;

/** The ids put before and after each document under separator `mode`. */
export function resolveSeparator(
  mode: SeparatorMode,
  tok: CorpusTokenizer,
): { separator: Exclude<SeparatorMode, 'auto'>; bos: number | null; eos: number | null } {
  const separator =
    mode !== 'auto'
      ? mode
      : tok.bosId !== null && tok.bosId !== tok.eosId
        ? 'bos'
        : tok.eosId !== null
          ? 'eos'
          : 'none';
  const wantBos = separator === 'bos' || separator === 'both';
  const wantEos = separator === 'eos' || separator === 'both';
  if ((wantBos && tok.bosId === null) || (wantEos && tok.eosId === null)) {
    throw new ConfigError(
      `separator ${JSON.stringify(mode)} needs a ${wantBos && tok.bosId === null ? 'BOS' : 'EOS'} token, which the tokenizer lacks`,
      "use separator 'auto' or one the tokenizer supports",
    );
  }
  if (!['bos', 'eos', 'both', 'none'].includes(separator)) {
    throw new ConfigError(
      `unknown separator ${JSON.stringify(mode)}`,
      'use auto, bos, eos, both or none',
    );
  }
  return { separator, bos: wantBos ? tok.bosId : null, eos: wantEos ? tok.eosId : null };
}

function checkIds(ids: readonly number[], vocabSize: number, source: string): void {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new ConfigError(
        `the tokenizer gave id ${id} (vocabulary 0..${vocabSize - 1}) for ${source}`,
      );
    }
  }
}

async function writeTokens(
  tmp: string,
  params: TokenizeCorpusParams,
  key: string,
): Promise<TokenManifest> {
  const tok = params.tokenizer.tokenizer;
  const { separator, bos, eos } = resolveSeparator(params.separator ?? 'auto', tok);
  const dtype = dtypeFor(tok.vocabSize);
  const maxChunkChars = params.maxChunkChars ?? DEFAULT_MAX_CHUNK_CHARS;
  const writer = await TokenWriter.create(join(tmp, 'tokens.bin'), dtype);
  let offsets = new Float64Array(1024);
  let documents = 0;
  let characters = 0;
  try {
    for await (const piece of readCorpusFiles(params.files, { maxChunkChars })) {
      if (piece.first) {
        if (documents > 0 && eos !== null) await writer.write([eos]);
        if (documents === offsets.length) offsets = growTo(offsets, documents * 2);
        offsets[documents++] = writer.count;
        if (bos !== null) await writer.write([bos]);
      }
      const ids = tok.encode(piece.text, { addSpecialTokens: false });
      checkIds(ids, tok.vocabSize, piece.source);
      await writer.write(ids);
      characters += piece.text.length;
      params.onProgress?.({ documents, tokens: writer.count, characters });
    }
    if (eos !== null) await writer.write([eos]);
  } catch (e) {
    await writer.abort();
    throw e;
  }
  await writer.close();
  const docBytes = new Uint8Array(offsets.buffer, 0, documents * 8);
  const handle = await open(join(tmp, 'documents.bin'), 'w');
  try {
    await handle.writeFile(docBytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return {
    format: TOKENS_FORMAT,
    version: TOKENS_VERSION,
    key,
    files: { 'tokens.bin': writer.count * bytesPerToken(dtype), 'documents.bin': documents * 8 },
    corpus_hash: params.corpusHash,
    tokenizer_hash: params.tokenizer.hash,
    separator,
    bos_id: bos,
    eos_id: eos,
    vocab_size: tok.vocabSize,
    dtype,
    max_chunk_chars: maxChunkChars,
    documents,
    tokens: writer.count,
    characters,
  };
}

function growTo(a: Float64Array, length: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(length);
  b.set(a);
  return b;
}

/** The token cache entry of a corpus: read when present, else built (see the file header). */
export async function tokenizeCorpus(params: TokenizeCorpusParams): Promise<TokenizedCorpus> {
  const tok = params.tokenizer.tokenizer;
  const { separator, bos, eos } = resolveSeparator(params.separator ?? 'auto', tok);
  const key = hashKey({
    format: TOKENS_FORMAT,
    version: TOKENS_VERSION,
    corpus: params.corpusHash,
    tokenizer: params.tokenizer.hash,
    separator,
    bos,
    eos,
    vocab: tok.vocabSize,
    max_chunk_chars: params.maxChunkChars ?? DEFAULT_MAX_CHUNK_CHARS,
  });
  const dir = join(datasetCacheRoot(params.cacheDir), `tokens-${key}`);
  const paths = { tokensPath: join(dir, 'tokens.bin'), documentsPath: join(dir, 'documents.bin') };
  const hit = await readCacheEntry<TokenManifest>(dir, TOKENS_FORMAT, TOKENS_VERSION, key);
  if (hit) return { dir, manifest: hit, ...paths, cacheHit: true };
  const manifest = await buildCacheEntry(dir, (tmp) => writeTokens(tmp, params, key));
  return { dir, manifest, ...paths, cacheHit: false };
}
