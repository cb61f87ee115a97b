// Metrics of the evaluation tasks with lm-evaluation-harness semantics (conventions.md
// 2.1): acc / acc_norm from per-choice log-likelihoods, binary F1, Matthews correlation,
// Pearson and Spearman (average ranks for ties), SQuAD v1.1 exact match and F1 with the
// official answer normalisation, and the harness's standard errors: sample std / √n for
// means, bootstrap for F1 and MCC.
import { ConfigError } from '../src/errors.js';
import { createRng } from '../src/generate/rng.js';

/** Index of the largest value; the first one on ties (numpy's argmax). */
export function argmax(xs: readonly number[]): number {
  if (xs.length === 0) throw new ConfigError('argmax of an empty list');
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/** `acc` of one document: 1 when the highest log-likelihood is the gold choice. */
export function accItem(loglikelihoods: readonly number[], gold: number): number {
  return argmax(loglikelihoods) === gold ? 1 : 0;
}

/** Length of a choice in characters (Unicode code points, Python's `len`). */
export function charLength(s: string): number {
  return [...s].length;
}

/** Length of a choice in UTF-8 bytes. */
export function byteLength(s: string): number {
  return new TextEncoder().encode(s).length;
}

/**
 * `acc_norm` of one document: argmax of `ll_i / len(choice_i)`, the length in characters
 * of the choice string without the target delimiter (the harness's current rule; equal to
 * the byte length for ASCII text). `acc_bytes` uses `byteLength` instead.
 */
export function accNormItem(
  loglikelihoods: readonly number[],
  choices: readonly string[],
  gold: number,
  length: (s: string) => number = charLength,
): number {
  if (choices.length !== loglikelihoods.length) {
    throw new ConfigError(`${choices.length} choices but ${loglikelihoods.length} log-likelihoods`);
  }
  return argmax(loglikelihoods.map((ll, i) => ll / length(choices[i]))) === gold ? 1 : 0;
}

/** Arithmetic mean (NaN for an empty list). */
export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Sample standard deviation (n − 1 in the denominator); NaN below two values. */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Standard error of a mean, the harness's `mean_stderr`: sample std / √n. */
export function meanStderr(xs: readonly number[]): number {
  return sampleStd(xs) / Math.sqrt(xs.length);
}

/** A (gold, prediction) pair of a binary classification. */
export type LabelPair = readonly [gold: number, pred: number];

function confusion(pairs: readonly LabelPair[]): {
  tp: number;
  tn: number;
  fp: number;
  fn: number;
} {
  let tp = 0;
  let tn = 0;
  let fp = 0;
  let fn = 0;
  for (const [g, p] of pairs) {
    if (p === 1) {
      if (g === 1) tp++;
      else fp++;
    } else if (g === 1) fn++;
    else tn++;
  }
  return { tp, tn, fp, fn };
}

/**
 * F1 of the positive class 1 (sklearn's `f1_score`, binary): `2tp / (2tp + fp + fn)`;
 * 0 when there are no true and no predicted positives (sklearn's zero_division default).
 */
export function f1Score(pairs: readonly LabelPair[]): number {
  const { tp, fp, fn } = confusion(pairs);
  const d = 2 * tp + fp + fn;
  return d === 0 ? 0 : (2 * tp) / d;
}

/**
 * Matthews correlation coefficient of binary labels (sklearn's `matthews_corrcoef`):
 * `(tp·tn − fp·fn) / √((tp+fp)(tp+fn)(tn+fp)(tn+fn))`, 0 when a margin is empty.
 */
export function matthewsCorrelation(pairs: readonly LabelPair[]): number {
  const { tp, tn, fp, fn } = confusion(pairs);
  const d = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn);
  return d === 0 ? 0 : (tp * tn - fp * fn) / Math.sqrt(d);
}

/** Pearson correlation; NaN when either side is constant or lengths differ below 2. */
export function pearson(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new ConfigError(`pearson: ${x.length} vs ${y.length} values`);
  if (x.length < 2) return NaN;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

/** 1-based ranks with ties sharing the average of their positions (scipy's `rankdata`). */
export function averageRanks(xs: readonly number[]): number[] {
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const ranks = new Array<number>(xs.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && xs[order[j + 1]] === xs[order[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

/** Spearman rank correlation: Pearson of average ranks (scipy's `spearmanr`). */
export function spearman(x: readonly number[], y: readonly number[]): number {
  return pearson(averageRanks(x), averageRanks(y));
}

/** Default resamples of bootstrap standard errors (the harness's `bootstrap_iters`). */
export const BOOTSTRAP_ITERS = 100_000;
/** Seed of bootstrap resampling [P] (the harness seeds Python's `random` per chunk instead). */
export const BOOTSTRAP_SEED = 1234;

/**
 * Bootstrap standard error of a corpus-level metric, as the harness computes it for
 * F1 and MCC: the sample std of `metric` over `iters` resamples (with replacement, same
 * size) of the items. Seeded, so a result is reproducible; NaN below two items or iters.
 */
export function bootstrapStderr<T>(
  metric: (items: readonly T[]) => number,
  items: readonly T[],
  iters = BOOTSTRAP_ITERS,
  seed = BOOTSTRAP_SEED,
): number {
  if (items.length < 2 || iters < 2) return NaN;
  const rng = createRng(seed);
  const values: number[] = new Array(iters);
  const sample: T[] = new Array(items.length);
  for (let it = 0; it < iters; it++) {
    for (let i = 0; i < items.length; i++) sample[i] = items[Math.floor(rng.next() * items.length)];
    values[it] = metric(sample);
  }
  return sampleStd(values);
}

// SQuAD v1.1 official evaluation (evaluate-v1.1.py): lower-case, drop ASCII punctuation
// (Python's string.punctuation), drop the articles a/an/the, collapse white space.
const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/** The official SQuAD answer normalisation. */
export function normalizeAnswer(s: string): string {
  const lower = s.toLowerCase();
  const noPunc = [...lower].filter((c) => !PUNCTUATION.has(c)).join('');
  const noArticles = noPunc.replace(/\b(a|an|the)\b/g, ' ');
  return noArticles
    .split(/\s+/)
    .filter((w) => w !== '')
    .join(' ');
}

/** 1 when the normalised prediction equals the normalised reference. */
export function squadExactMatch(prediction: string, reference: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(reference) ? 1 : 0;
}

/** Token-overlap F1 of normalised prediction and reference (0 without common tokens). */
export function squadF1(prediction: string, reference: string): number {
  const p = normalizeAnswer(prediction)
    .split(' ')
    .filter((w) => w !== '');
  const r = normalizeAnswer(reference)
    .split(' ')
    .filter((w) => w !== '');
  const counts = new Map<string, number>();
  for (const w of r) counts.set(w, (counts.get(w) ?? 0) + 1);
  let common = 0;
  for (const w of p) {
    const c = counts.get(w) ?? 0;
    if (c > 0) {
      common++;
      counts.set(w, c - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / p.length;
  const recall = common / r.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Best score of a prediction over several references (the official `max_over_ground_truths`). */
export function maxOverReferences(
  score: (prediction: string, reference: string) => number,
  prediction: string,
  references: readonly string[],
): number {
  if (references.length === 0)
    throw new ConfigError('a SQuAD question needs at least one reference answer');
  return Math.max(...references.map((r) => score(prediction, r)));
}

/** Corpus `exact_match` and `f1` in percent, as evaluate-v1.1.py prints them. */
export function squadScores(
  items: readonly { prediction: string; references: readonly string[] }[],
): { exact_match: number; f1: number } {
  const em = items.map((it) => maxOverReferences(squadExactMatch, it.prediction, it.references));
  const f1 = items.map((it) => maxOverReferences(squadF1, it.prediction, it.references));
  return { exact_match: 100 * mean(em), f1: 100 * mean(f1) };
}
