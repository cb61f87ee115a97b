// Public surface of snnlm's tokenizers: the Tokenizers.js wrapper loaded from a
// model folder, the streaming detokenizer, and the conversion of sentencepiece
// BPE vocabularies (llama2.c tokenizer files, `.model` files) to tokenizer.json,
// and training a byte-level BPE tokenizer from text.
export { Tokenizer } from './tokenizer.js';
export type { EncodeOptions, DecodeOptions, Encoded } from './tokenizer.js';
export { IncrementalDetokenizer } from './detokenizer.js';
export type { DetokenizerOptions } from './detokenizer.js';
export { SPACE_MARKER, vocabFromLlama2c, parseSentencePieceModel } from './sentencepiece-vocab.js';
export type { PieceKind, VocabPiece } from './sentencepiece-vocab.js';
export {
  bpeMerges,
  llamaTokenizerJson,
  llamaTokenizerConfig,
  llamaTokenizerFiles,
  addedTokenJson,
  addedTokensDecoder,
  bosTemplateProcessing,
  tokenizerFileTexts,
} from './llama-tokenizer-files.js';
export type {
  AddedTokenJson,
  LlamaTokenizerOptions,
  LlamaTokenizerFiles,
} from './llama-tokenizer-files.js';
export {
  DEFAULT_SPECIAL_TOKENS,
  GPT2_SPLIT_PATTERN,
  MAX_BPE_VOCAB,
  saveTokenizerFolder,
  tokenizerFolderFiles,
  trainBpeTokenizer,
} from './train-bpe.js';
export type {
  TokenizerFolderOptions,
  TokenizerJson,
  TrainBpeOptions,
  TrainBpeResult,
} from './train-bpe.js';
