// The data record of a run: what corpus (by content hash), which tokenizer
// (by hash), how it was packed and split, and how big each part is. It goes
// into `distill_config.json` so that every result traces back to its data;
// keys are snake_case like the rest of the Hugging Face-style config files.
import type { PackedManifest, SplitStats } from './pack-corpus.js';
import type { TokenManifest } from './tokenize-corpus.js';

/** The `data` block of `distill_config.json`. */
export interface DataSummary {
  /** The corpus spec as given (`builtin:moby-dick`, `data/*.jsonl:text`). */
  corpus: string;
  /** Content hash of the corpus files (`sha256:…`). */
  corpus_hash: string;
  tokenizer_hash: string;
  files: number;
  documents: number;
  characters: number;
  tokens: number;
  vocab_size: number;
  /** How documents were joined: `bos`, `eos`, `both` or `none`. */
  separator: string;
  seq_len: number;
  split: PackedManifest['split'];
  train: SplitStats;
  val: SplitStats;
}

/** Build the summary from the manifests of the two cache entries. */
export function dataSummary(
  corpus: string,
  files: number,
  tokens: TokenManifest,
  packed: PackedManifest,
): DataSummary {
  return {
    corpus,
    corpus_hash: tokens.corpus_hash,
    tokenizer_hash: tokens.tokenizer_hash,
    files,
    documents: tokens.documents,
    characters: tokens.characters,
    tokens: tokens.tokens,
    vocab_size: tokens.vocab_size,
    separator: tokens.separator,
    seq_len: packed.seq_len,
    split: { ...packed.split },
    train: { ...packed.train },
    val: { ...packed.val },
  };
}

/** One human line for logs: `moby-dick: 139 docs, 1.2M tokens → 4,512 train / 240 val sequences`. */
export function formatDataSummary(s: DataSummary): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  return (
    `${s.corpus}: ${n(s.documents)} documents, ${n(s.tokens)} tokens, ` +
    `${n(s.train.sequences)} train / ${n(s.val.sequences)} val sequences of ${s.seq_len} ` +
    `(split by ${s.split.by})`
  );
}
