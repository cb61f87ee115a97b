// Shared types and named limits of the text data pipeline (corpus → tokens →
// packed sequences → batches). Every size read from outside has a named cap
// here, so a hostile or mistaken input fails with a clear error instead of
// exhausting memory.

/** How a file is read: plain text (one document per file) or JSON lines (one per line). */
export type CorpusFormat = 'text' | 'jsonl';

/** One parsed corpus source (see `parseCorpusSpec` for the string forms). */
export type CorpusSource =
  | { kind: 'file'; path: string; format: CorpusFormat; field: string }
  | { kind: 'glob'; pattern: string; field: string }
  | { kind: 'builtin'; name: string };

/** One file to read, after globs and built-in names are expanded. */
export interface CorpusFile {
  /** Absolute path. */
  path: string;
  format: CorpusFormat;
  /** Text field of a JSONL record (ignored for text files). */
  field: string;
  /** Name used in messages and document labels (as the user wrote it, or `builtin:…`). */
  label: string;
}

/**
 * A piece of a document's text. Text files are read in pieces of at most
 * `maxChunkChars` characters (cut at line breaks), so that a file larger than
 * memory streams; a short document is one piece.
 */
export interface CorpusPiece {
  text: string;
  /** Index of the document in the corpus (0-based, in reading order). */
  document: number;
  /** True for the first piece of a document. */
  first: boolean;
  /** Where it came from: `file`, `file:line` for JSONL, `builtin:name/file`. */
  source: string;
}

/** A whole document (see `readDocuments`). */
export interface CorpusDocument {
  text: string;
  document: number;
  source: string;
}

/** What the pipeline needs of a tokenizer; snnlm's `Tokenizer` fits. */
export interface CorpusTokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
}

/** A tokenizer with a hash of its files, the tokenizer's part of the cache key. */
export interface HashedTokenizer {
  tokenizer: CorpusTokenizer;
  /** e.g. `sha256:…` of tokenizer.json (+ config files); any string that changes with it. */
  hash: string;
}

/**
 * How documents are joined into one token stream:
 * `bos` puts BOS before each document (LLaMA / llama2.c), `eos` puts EOS after
 * each (GPT-2 `<|endoftext|>`), `both` does both, `none` nothing. `auto` is
 * `bos` when the tokenizer has a BOS distinct from its EOS, else `eos` when it
 * has an EOS, else `none`.
 */
export type SeparatorMode = 'auto' | 'bos' | 'eos' | 'both' | 'none';

/** How the validation slice is taken (see `planSplit`). */
export type SplitBy = 'auto' | 'document' | 'sequence';

/** Element type of token files: uint16 when every id fits, else uint32. */
export type TokenDtype = 'uint16' | 'uint32';

/** Default cache folder, relative to the current directory (gitignored). */
export const DEFAULT_CACHE_DIR = '.snnlm-cache';
/** Default JSONL text field. */
export const DEFAULT_JSONL_FIELD = 'text';
/**
 * Largest piece of text handed to the tokenizer at once. Tokenizers.js slows
 * down super-linearly on long inputs; 64 Ki characters keeps it near its best rate.
 */
export const DEFAULT_MAX_CHUNK_CHARS = 65_536;
/** Longest JSONL line accepted (a line is held in memory whole). */
export const MAX_JSONL_LINE_CHARS = 64 * 1024 * 1024;
/** Most files a glob may match. */
export const MAX_GLOB_FILES = 100_000;
/** Deepest folder nesting a glob walks (guards against symlink loops). */
export const MAX_GLOB_DEPTH = 32;
/** Bytes read from a file per system call when streaming. */
export const READ_CHUNK_BYTES = 256 * 1024;
/** Tokens buffered before a write to a token file. */
export const WRITE_CHUNK_TOKENS = 256 * 1024;
