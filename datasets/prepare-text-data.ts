// The text data pipeline in one call: resolve the corpus, hash it, tokenize it
// into the cache (or reuse the cached tokens), split and pack it (or reuse the
// cached split), and hand back openers for the training and validation
// sequences plus the summary for `distill_config.json`.
//
// NOTE: the corpus is hashed before the cache is consulted, so a cache miss
// reads the files twice (hashing is far cheaper than tokenizing); content
// hashes, not modification times, decide what is stale.
//
//   const tok = await loadDataTokenizer('runs/teacher');
//   const data = await prepareTextData({ corpus: 'builtin:moby-dick', tokenizer: tok,
//     seqLen: 256, validation: 0.05 });
//   const batcher = new Batcher({ source: await data.openTrain(), batchSize: 8, seed: 1 });
import { log } from '../src/log.js';
import { formatCorpusSpec } from './corpus-spec.js';
import type { CorpusSpec } from './corpus-spec.js';
import { hashCorpusFiles } from './hash.js';
import { packCorpus } from './pack-corpus.js';
import type { PackedCorpus } from './pack-corpus.js';
import { checkSeqLen } from './pack.js';
import { checkValidation } from './plan-split.js';
import { checkChunkChars } from './read-text-file.js';
import { resolveCorpusFiles } from './resolve-corpus-files.js';
import { openPackedSplit } from './sequence-source.js';
import type { SequenceSource } from './sequence-source.js';
import { dataSummary, formatDataSummary } from './summary.js';
import type { DataSummary } from './summary.js';
import { tokenizeCorpus } from './tokenize-corpus.js';
import type { TokenizedCorpus } from './tokenize-corpus.js';
import { DEFAULT_MAX_CHUNK_CHARS } from './types.js';
import type { HashedTokenizer, SeparatorMode, SplitBy } from './types.js';

/** Parameters of `prepareTextData`. */
export interface PrepareTextDataParams {
  /** What to read (see `parseCorpusSpec`). */
  corpus: CorpusSpec;
  /** The model's tokenizer and its hash (`loadDataTokenizer(dir)`). */
  tokenizer: HashedTokenizer;
  /** Tokens per input row N; sequences hold N + 1. */
  seqLen: number;
  /** 0, a fraction in (0, 1) or a count (see `planSplit`). @default 0 */
  validation?: number;
  /** @default 'auto' (by document, or by sequence for a single document) */
  splitBy?: SplitBy;
  /** Seed of the validation sample. @default 0 */
  seed?: number;
  /** How documents are joined. @default 'auto' */
  separator?: SeparatorMode;
  /** Cache root. @default '.snnlm-cache' in the current directory */
  cacheDir?: string;
  /** Folder relative corpus paths start from. @default process.cwd() */
  baseDir?: string;
  /** JSONL text field when the spec names none. @default 'text' */
  field?: string;
  /** Largest piece of text tokenized at once. @default DEFAULT_MAX_CHUNK_CHARS */
  maxChunkChars?: number;
  /** Progress while tokenizing (only on a cache miss). */
  onProgress?: (p: { documents: number; tokens: number; characters: number }) => void;
}

/** A prepared corpus: cache entries, openers and summary. */
export interface PreparedTextData {
  corpusHash: string;
  tokens: TokenizedCorpus;
  packed: PackedCorpus;
  summary: DataSummary;
  /** Open the training sequences (close the source when done). */
  openTrain(): Promise<SequenceSource>;
  /** Open the validation sequences, or null when there is no validation split. */
  openVal(): Promise<SequenceSource | null>;
}

/** Run the pipeline (see the file header). */
export async function prepareTextData(p: PrepareTextDataParams): Promise<PreparedTextData> {
  // Check cheap parameters before reading a possibly large corpus.
  checkSeqLen(p.seqLen);
  checkValidation(p.validation ?? 0);
  checkChunkChars(p.maxChunkChars ?? DEFAULT_MAX_CHUNK_CHARS);
  const files = await resolveCorpusFiles(p.corpus, { baseDir: p.baseDir, field: p.field });
  const corpusHash = await hashCorpusFiles(files);
  const corpus = formatCorpusSpec(p.corpus);
  const tokens = await tokenizeCorpus({
    files,
    corpusHash,
    tokenizer: p.tokenizer,
    separator: p.separator,
    cacheDir: p.cacheDir,
    maxChunkChars: p.maxChunkChars,
    onProgress: p.onProgress,
  });
  log.debug(`data: ${tokens.cacheHit ? 'reusing' : 'wrote'} tokens ${tokens.dir}`);
  const packed = await packCorpus({
    tokens,
    seqLen: p.seqLen,
    validation: p.validation,
    splitBy: p.splitBy,
    seed: p.seed,
    cacheDir: p.cacheDir,
  });
  const summary = dataSummary(corpus, files.length, tokens.manifest, packed.manifest);
  log.info(`data: ${formatDataSummary(summary)}${tokens.cacheHit ? ' [cached]' : ''}`);
  const m = packed.manifest;
  const open = (path: string, tokenCount: number): Promise<SequenceSource> =>
    openPackedSplit({ path, dtype: m.dtype, tokens: tokenCount, seqLen: m.seq_len });
  return {
    corpusHash,
    tokens,
    packed,
    summary,
    openTrain: () => open(packed.trainPath, m.train.tokens),
    openVal: async () => (m.split.by === 'none' ? null : open(packed.valPath, m.val.tokens)),
  };
}
