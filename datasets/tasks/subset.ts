// `--limit N`: a seeded random subset of a task's documents, kept in file order.
// NOTE: lm-evaluation-harness's `--limit` takes the first N documents; files are often
// sorted (by source or difficulty), so we draw a seeded sample instead and record the
// seed and the chosen indices' count in the results.
import { createRng } from '../../src/generate/rng.js';
import { ConfigError } from '../../src/errors.js';
import { sampleIndices } from '../shuffle.js';

/** Default seed of subsets (lm-evaluation-harness's `numpy_seed`). */
export const SUBSET_SEED = 1234;

/** A subset and the original indices of its documents. */
export interface Subset<T> {
  docs: T[];
  /** 0-based index in the full list of each kept document, ascending. */
  indices: number[];
}

/**
 * `limit` documents of `docs` drawn with `seed` (all of them when `limit` is undefined
 * or at least their number), in their original order.
 */
export function takeSubset<T>(docs: readonly T[], limit?: number, seed = SUBSET_SEED): Subset<T> {
  if (limit === undefined || limit >= docs.length) {
    if (limit !== undefined && (!Number.isInteger(limit) || limit <= 0)) {
      throw new ConfigError(`--limit must be a positive integer, got ${String(limit)}`);
    }
    return { docs: docs.slice(), indices: docs.map((_, i) => i) };
  }
  if (!Number.isInteger(limit) || limit <= 0) {
    throw new ConfigError(`--limit must be a positive integer, got ${String(limit)}`);
  }
  const chosen = Array.from(sampleIndices(docs.length, limit, createRng(seed))).sort(
    (a, b) => a - b,
  );
  return { docs: chosen.map((i) => docs[i]), indices: chosen };
}
