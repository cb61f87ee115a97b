// Picking the next token from one row of logits: greedy (argmax), or sampling
// with temperature, top-k and top-p (nucleus, Holtzman et al. 2020) from a
// seeded generator, after an optional repetition penalty (Keskar et al. 2019,
// CTRL; the form transformers and llama.cpp use). Runs on plain arrays on the
// CPU: one row of V floats per step is cheap next to the model.
import { ConfigError } from '../errors.js';
import type { Rng } from './rng.js';

/** How to pick a token; field names follow the OpenAI/vLLM request (conventions.md 1.2). */
export interface SamplingOptions {
  /** 0 = greedy (argmax, no random draw). @default 1 */
  temperature?: number;
  /** Keep the k most likely tokens; 0 or -1 = off. @default 0 */
  top_k?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 = off. @default 1 */
  top_p?: number;
  /** Divide positive (multiply negative) logits of tokens already seen by this; 1 = off. @default 1 */
  repetition_penalty?: number;
}

/** Sampling options with every default filled in and checked. */
export type ResolvedSampling = Required<SamplingOptions>;

/** Fill in defaults and check ranges; a bad value is a ConfigError naming the field. */
export function resolveSampling(options: SamplingOptions = {}): ResolvedSampling {
  const r: ResolvedSampling = {
    temperature: options.temperature ?? 1,
    top_k: options.top_k ?? 0,
    top_p: options.top_p ?? 1,
    repetition_penalty: options.repetition_penalty ?? 1,
  };
  const bad = (field: string, value: unknown, want: string): never => {
    throw new ConfigError(`${field} must be ${want}, got ${JSON.stringify(value)}`);
  };
  if (typeof r.temperature !== 'number' || !(r.temperature >= 0) || r.temperature === Infinity) {
    bad('temperature', r.temperature, 'a finite number >= 0');
  }
  if (!Number.isInteger(r.top_k) || r.top_k < -1) bad('top_k', r.top_k, 'an integer >= -1');
  if (typeof r.top_p !== 'number' || !(r.top_p > 0 && r.top_p <= 1)) {
    bad('top_p', r.top_p, 'a number in (0, 1]');
  }
  const p = r.repetition_penalty;
  if (typeof p !== 'number' || !(p > 0) || p === Infinity) {
    bad('repetition_penalty', p, 'a finite number > 0');
  }
  return r;
}

/** Index of the largest value (the first one on ties, as torch.argmax and llama2.c). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Apply the repetition penalty in place to the logits of every id in `seen`. */
export function applyRepetitionPenalty(
  logits: Float32Array,
  seen: Iterable<number>,
  penalty: number,
): void {
  if (penalty === 1) return;
  for (const id of new Set(seen)) {
    const x = logits[id];
    logits[id] = x > 0 ? x / penalty : x * penalty;
  }
}

/** Candidate tokens and their renormalised probabilities, most likely first. */
export interface Candidates {
  readonly ids: number[];
  readonly probs: number[];
}

/**
 * The distribution sampling draws from: softmax(logits / temperature) cut to
 * the top k, then to the smallest prefix whose probability reaches top_p, then
 * renormalised. Needs temperature > 0. Ties keep the lower id first.
 */
export function candidates(logits: ArrayLike<number>, options: ResolvedSampling): Candidates {
  const { temperature, top_k, top_p } = options;
  if (!(temperature > 0)) throw new ConfigError('candidates() needs temperature > 0');
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[i]);
  const weights = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    weights[i] = Math.exp((logits[i] - max) / temperature);
    total += weights[i];
  }
  let ids = Array.from({ length: n }, (_, i) => i);
  ids.sort((a, b) => weights[b] - weights[a] || a - b);
  if (top_k > 0 && top_k < n) ids = ids.slice(0, top_k);
  if (top_p < 1) {
    let cumulative = 0;
    let keep = 0;
    while (keep < ids.length && (keep === 0 || cumulative < top_p * total)) {
      cumulative += weights[ids[keep++]];
    }
    ids = ids.slice(0, keep);
  }
  const kept = ids.reduce((s, id) => s + weights[id], 0);
  return { ids, probs: ids.map((id) => weights[id] / kept) };
}

/** Draw from `probs` (summing to 1) with one uniform number; returns an index. */
export function drawIndex(probs: ArrayLike<number>, u: number): number {
  let cumulative = 0;
  for (let i = 0; i < probs.length; i++) {
    cumulative += probs[i];
    if (u < cumulative) return i;
  }
  return probs.length - 1; // rounding left the sum a hair below 1
}

/**
 * Pick the next token from `logits` (one row, length V; not modified). Greedy
 * when temperature is 0 (no random number is drawn), else one draw from `rng`.
 */
export function sampleToken(
  logits: ArrayLike<number>,
  options: ResolvedSampling,
  rng: Rng,
): number {
  if (options.temperature === 0) return argmax(logits);
  const n = logits.length;
  if ((options.top_k <= 0 || options.top_k >= n) && options.top_p === 1) {
    // Plain softmax sampling: no sort needed, draw over ids in order.
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, logits[i]);
    const probs = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++)
      total += probs[i] = Math.exp((logits[i] - max) / options.temperature);
    for (let i = 0; i < n; i++) probs[i] /= total;
    return drawIndex(probs, rng.next());
  }
  const c = candidates(logits, options);
  return c.ids[drawIndex(c.probs, rng.next())];
}
