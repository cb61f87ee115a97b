// Splits a tokenized corpus into training and validation streams and records
// their packing: `train.bin` and `val.bin` (token streams, read as windows of
// seq_len + 1 by `openPackedSplit`) and a manifest with the split and its
// statistics, in a cache entry keyed by the token entry and the packing
// parameters. The token file is scanned once in chunks.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildCacheEntry, datasetCacheRoot, readCacheEntry } from './cache-entry.js';
import type { ManifestBase } from './cache-entry.js';
import { hashKey } from './hash.js';
import { packedTokenCount, sequenceCount } from './pack.js';
import { planSplit } from './plan-split.js';
import type { SplitPlan } from './plan-split.js';
import { TokenWriter, bytesPerToken, readTokenChunks } from './token-file.js';
import type { TokenizedCorpus } from './tokenize-corpus.js';
import type { SplitBy, TokenDtype } from './types.js';

/** Size of one split. */
export interface SplitStats {
  /** Documents with at least one token in the split. */
  documents: number;
  /** Tokens of the split's stream. */
  tokens: number;
  /** Windows of seq_len + 1 tokens. */
  sequences: number;
  /** Tokens the windows use (the rest of the stream is the dropped tail). */
  packed_tokens: number;
}

/** Manifest of a packed entry. */
export interface PackedManifest extends ManifestBase {
  tokens_key: string;
  seq_len: number;
  dtype: TokenDtype;
  split: { by: SplitPlan['by']; requested: SplitBy; validation: number; seed: number };
  train: SplitStats;
  val: SplitStats;
}

/** Parameters of `packCorpus`. */
export interface PackCorpusParams {
  tokens: TokenizedCorpus;
  seqLen: number;
  /** See `PlanSplitParams.validation`. @default 0 */
  validation?: number;
  /** @default 'auto' */
  splitBy?: SplitBy;
  /** Seed of the validation sample. @default 0 */
  seed?: number;
  /** @default '.snnlm-cache' */
  cacheDir?: string;
}

/** A packed cache entry. */
export interface PackedCorpus {
  dir: string;
  manifest: PackedManifest;
  trainPath: string;
  valPath: string;
  cacheHit: boolean;
}

export const PACKED_FORMAT = 'snnlm-packed';
export const PACKED_VERSION = 1;

/** Documents whose range overlaps each split (documents and segments are both in stream order). */
function countDocuments(starts: Float64Array, total: number, plan: SplitPlan): [number, number] {
  let train = 0;
  let val = 0;
  let s = 0;
  for (let d = 0; d < starts.length; d++) {
    const [a, b] = [starts[d], d + 1 < starts.length ? starts[d + 1] : total];
    while (plan.segments[s].end <= a && s + 1 < plan.segments.length) s++;
    let [inTrain, inVal] = [false, false];
    for (let i = s; i < plan.segments.length && plan.segments[i].start < b; i++) {
      if (plan.segments[i].split === 'train') inTrain = true;
      else inVal = true;
    }
    train += inTrain ? 1 : 0;
    val += inVal ? 1 : 0;
  }
  return [train, val];
}

async function writeSplits(
  tmp: string,
  p: PackCorpusParams,
  plan: SplitPlan,
  key: string,
  starts: Float64Array,
): Promise<PackedManifest> {
  const m = p.tokens.manifest;
  const writers = {
    train: await TokenWriter.create(join(tmp, 'train.bin'), m.dtype),
    val: await TokenWriter.create(join(tmp, 'val.bin'), m.dtype),
  };
  try {
    let pos = 0;
    let seg = 0;
    for await (const chunk of readTokenChunks(p.tokens.tokensPath, m.dtype, m.tokens)) {
      let i = 0;
      while (i < chunk.length) {
        while (plan.segments[seg].end <= pos + i) seg++;
        const take = Math.min(chunk.length, plan.segments[seg].end - pos);
        await writers[plan.segments[seg].split].write(chunk.subarray(i, take));
        i = take;
      }
      pos += chunk.length;
    }
  } catch (e) {
    await Promise.all([writers.train.abort(), writers.val.abort()]);
    throw e;
  }
  await writers.train.close();
  await writers.val.close();
  const [trainDocs, valDocs] = countDocuments(starts, m.tokens, plan);
  const stats = (tokens: number, documents: number): SplitStats => ({
    documents,
    tokens,
    sequences: sequenceCount(tokens, p.seqLen),
    packed_tokens: packedTokenCount(tokens, p.seqLen),
  });
  const bytes = bytesPerToken(m.dtype);
  return {
    format: PACKED_FORMAT,
    version: PACKED_VERSION,
    key,
    files: { 'train.bin': writers.train.count * bytes, 'val.bin': writers.val.count * bytes },
    tokens_key: m.key,
    seq_len: p.seqLen,
    dtype: m.dtype,
    split: {
      by: plan.by,
      requested: p.splitBy ?? 'auto',
      validation: p.validation ?? 0,
      seed: p.seed ?? 0,
    },
    train: stats(writers.train.count, trainDocs),
    val: stats(writers.val.count, valDocs),
  };
}

/** The packed entry of a tokenized corpus: read when present, else built. */
export async function packCorpus(p: PackCorpusParams): Promise<PackedCorpus> {
  const m = p.tokens.manifest;
  const raw = await readFile(p.tokens.documentsPath);
  const starts = new Float64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8).slice();
  // Plan first: a bad seq_len or validation fails before anything is written.
  const plan = planSplit({
    documentStarts: starts,
    totalTokens: m.tokens,
    seqLen: p.seqLen,
    validation: p.validation ?? 0,
    splitBy: p.splitBy,
    seed: p.seed ?? 0,
  });
  const key = hashKey({
    format: PACKED_FORMAT,
    version: PACKED_VERSION,
    tokens: m.key,
    seq_len: p.seqLen,
    validation: p.validation ?? 0,
    split_by: p.splitBy ?? 'auto',
    seed: p.seed ?? 0,
  });
  const dir = join(datasetCacheRoot(p.cacheDir), `packed-${key}`);
  const paths = { trainPath: join(dir, 'train.bin'), valPath: join(dir, 'val.bin') };
  const hit = await readCacheEntry<PackedManifest>(dir, PACKED_FORMAT, PACKED_VERSION, key);
  if (hit) return { dir, manifest: hit, ...paths, cacheHit: true };
  const manifest = await buildCacheEntry(dir, (tmp) => writeSplits(tmp, p, plan, key, starts));
  return { dir, manifest, ...paths, cacheHit: false };
}
