// Public surface of snnlm's datasets: text corpora (files, JSONL, globs,
// built-in npm corpora) read as streams, tokenized into an on-disk cache,
// split into training and validation, packed into fixed-length sequences and
// batched with a resumable cursor. Other folders import from here only.
export {
  DEFAULT_CACHE_DIR,
  DEFAULT_JSONL_FIELD,
  DEFAULT_MAX_CHUNK_CHARS,
  MAX_JSONL_LINE_CHARS,
  MAX_GLOB_FILES,
  MAX_GLOB_DEPTH,
} from './types.js';
export type {
  CorpusFormat,
  CorpusSource,
  CorpusFile,
  CorpusPiece,
  CorpusDocument,
  CorpusTokenizer,
  HashedTokenizer,
  SeparatorMode,
  SplitBy,
  TokenDtype,
} from './types.js';
export { parseCorpusSpec, formatCorpusSpec, formatOf } from './corpus-spec.js';
export type { CorpusSpec, CorpusSpecEntry, ParseCorpusSpecOptions } from './corpus-spec.js';
export { expandGlob, globToRegExp, hasGlobChars } from './glob.js';
export type { ExpandGlobOptions } from './glob.js';
export {
  BUILTIN_CORPORA,
  builtinCorpusNames,
  listBuiltinCorpora,
  getBuiltinCorpus,
  builtinCorpusFiles,
} from './builtin-corpora.js';
export type { BuiltinCorpus } from './builtin-corpora.js';
export { resolveCorpusFiles } from './resolve-corpus-files.js';
export type { ResolveCorpusOptions } from './resolve-corpus-files.js';
export { readTextFile, takePieces, checkChunkChars, MIN_CHUNK_CHARS } from './read-text-file.js';
export { readJsonlFile } from './read-jsonl-file.js';
export type { JsonlText, ReadJsonlOptions } from './read-jsonl-file.js';
export { readCorpus, readCorpusFiles, readDocuments } from './read-corpus.js';
export type { ReadCorpusOptions } from './read-corpus.js';
export {
  hashCorpusFiles,
  hashTokenizerFolder,
  hashKey,
  loadDataTokenizer,
  TOKENIZER_FILES,
} from './hash.js';
export { dtypeFor, bytesPerToken, readTokenChunks } from './token-file.js';
export { datasetCacheRoot } from './cache-entry.js';
export { tokenizeCorpus, resolveSeparator } from './tokenize-corpus.js';
export type { TokenManifest, TokenizeCorpusParams, TokenizedCorpus } from './tokenize-corpus.js';
export {
  MAX_SEQ_LEN,
  checkSeqLen,
  sequenceCount,
  sequenceStart,
  packedTokenCount,
  packTokens,
  shiftWindow,
} from './pack.js';
export { planSplit, checkValidation } from './plan-split.js';
export type { PlanSplitParams, SplitPlan, SplitSegment } from './plan-split.js';
export { packCorpus } from './pack-corpus.js';
export type { PackCorpusParams, PackedCorpus, PackedManifest, SplitStats } from './pack-corpus.js';
export {
  permutation,
  sampleIndices,
  randomBelow,
  initialShuffleState,
  shuffleEpoch,
} from './shuffle.js';
export type { ShuffleState } from './shuffle.js';
export { MemorySequenceSource, openPackedSplit } from './sequence-source.js';
export type { SequenceSource, PackedSplitFile } from './sequence-source.js';
export { Batcher, workerSlice, readBatch, sequentialBatches } from './batcher.js';
export type { Batch, BatcherOptions, DataCursor } from './batcher.js';
export { batchTensors } from './batch-tensors.js';
export { dataSummary, formatDataSummary } from './summary.js';
export type { DataSummary } from './summary.js';
export { prepareTextData } from './prepare-text-data.js';
export type { PrepareTextDataParams, PreparedTextData } from './prepare-text-data.js';
