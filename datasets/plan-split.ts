// Choosing the held-out validation slice of a tokenized corpus, before
// packing. By document (the default for corpora of two or more documents):
// whole documents, chosen uniformly by a seeded sample, go to validation, so
// no text of a validation document is ever trained on. By sequence (the
// fallback for a single document, e.g. tiny-shakespeare): the last part of the
// token stream, as nanoGPT's first-90%/last-10% split; the two parts share no
// token position. Either way the split depends only on the corpus, the
// parameters and the seed.
import { ConfigError } from '../src/errors.js';
import { createRng } from '../src/generate/rng.js';
import { checkSeqLen, sequenceCount } from './pack.js';
import { sampleIndices } from './shuffle.js';
import type { SplitBy } from './types.js';

/** A run of the token stream that goes to one split. */
export interface SplitSegment {
  start: number;
  end: number;
  split: 'train' | 'val';
}

/** Parameters of `planSplit`. */
export interface PlanSplitParams {
  /** Start offset of every document in the stream (ascending, first is 0). */
  documentStarts: ArrayLike<number>;
  /** Length of the whole stream. */
  totalTokens: number;
  seqLen: number;
  /**
   * 0 for none; a fraction in (0, 1) (of documents, or of tokens by sequence);
   * an integer ≥ 1 for a count (of documents, or of sequences by sequence).
   */
  validation: number;
  /** @default 'auto' (document for ≥ 2 documents, else sequence) */
  splitBy?: SplitBy;
  /** Seed of the document sample. */
  seed: number;
}

/** What `planSplit` decided. */
export interface SplitPlan {
  by: 'none' | 'document' | 'sequence';
  /** Consecutive runs covering the stream, in order. */
  segments: SplitSegment[];
  /** Indices of the validation documents, ascending (empty unless by document). */
  valDocuments: Uint32Array;
  trainTokens: number;
  valTokens: number;
}

/** Check a `validation` value (see PlanSplitParams). */
export function checkValidation(validation: number): void {
  const ok =
    Number.isFinite(validation) &&
    validation >= 0 &&
    (validation < 1 || Number.isInteger(validation));
  if (!ok) {
    throw new ConfigError(
      `validation must be 0, a fraction in (0, 1) or a whole count, got ${String(validation)}`,
    );
  }
}

function byDocument(p: PlanSplitParams, n: number): SplitPlan {
  const k = p.validation >= 1 ? p.validation : Math.max(1, Math.round(p.validation * n));
  if (k >= n) {
    throw new ConfigError(
      `validation takes ${k} of the ${n} documents, leaving none for training`,
      'lower validation, or use splitBy: sequence',
    );
  }
  const valDocuments = sampleIndices(n, k, createRng(p.seed));
  const isVal = new Uint8Array(n);
  for (const d of valDocuments) isVal[d] = 1;
  const segments: SplitSegment[] = [];
  for (let d = 0; d < n; d++) {
    const start = p.documentStarts[d];
    const end = d + 1 < n ? p.documentStarts[d + 1] : p.totalTokens;
    const split = isVal[d] ? 'val' : 'train';
    const last = segments[segments.length - 1];
    if (last && last.split === split) last.end = end;
    else segments.push({ start, end, split });
  }
  return finish('document', segments, valDocuments);
}

function bySequence(p: PlanSplitParams): SplitPlan {
  const total = p.totalTokens;
  const k =
    p.validation >= 1
      ? p.validation
      : Math.max(1, Math.floor((p.validation * (total - 1)) / p.seqLen));
  const cut = total - (k * p.seqLen + 1);
  if (cut < p.seqLen + 1) {
    throw new ConfigError(
      `validation of ${k} sequence(s) of ${p.seqLen} tokens leaves ${Math.max(cut, 0)} of ${total} tokens for training, fewer than one sequence`,
      'lower validation or seq_len, or use a larger corpus',
    );
  }
  const segments: SplitSegment[] = [
    { start: 0, end: cut, split: 'train' },
    { start: cut, end: total, split: 'val' },
  ];
  return finish('sequence', segments, new Uint32Array(0));
}

function finish(
  by: SplitPlan['by'],
  segments: SplitSegment[],
  valDocuments: Uint32Array,
): SplitPlan {
  let trainTokens = 0;
  let valTokens = 0;
  for (const s of segments) {
    if (s.split === 'train') trainTokens += s.end - s.start;
    else valTokens += s.end - s.start;
  }
  return { by, segments, valDocuments, trainTokens, valTokens };
}

/** Decide the split (see the file header); errors when a split would hold no sequence. */
export function planSplit(p: PlanSplitParams): SplitPlan {
  checkSeqLen(p.seqLen);
  checkValidation(p.validation);
  const n = p.documentStarts.length;
  const mode = p.splitBy ?? 'auto';
  if (!['auto', 'document', 'sequence'].includes(mode)) {
    throw new ConfigError(
      `splitBy must be auto, document or sequence, got ${JSON.stringify(mode)}`,
    );
  }
  const plan =
    p.validation === 0
      ? finish('none', [{ start: 0, end: p.totalTokens, split: 'train' }], new Uint32Array(0))
      : mode === 'sequence' || (mode === 'auto' && n < 2)
        ? bySequence(p)
        : byDocument(p, n);
  if (sequenceCount(plan.trainTokens, p.seqLen) === 0) {
    throw new ConfigError(
      `the training split has ${plan.trainTokens} tokens, fewer than one sequence of seq_len + 1 = ${p.seqLen + 1}`,
      'lower seq_len or validation, or use a larger corpus',
    );
  }
  if (plan.by !== 'none' && sequenceCount(plan.valTokens, p.seqLen) === 0) {
    throw new ConfigError(
      `the validation documents hold ${plan.valTokens} tokens, fewer than one sequence of seq_len + 1 = ${p.seqLen + 1}`,
      'raise validation, lower seq_len, or use splitBy: sequence',
    );
  }
  return plan;
}
