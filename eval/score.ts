// Log-likelihood scoring of tokenized requests with a causal LM (the `CausalLM` contract
// of src/generate/types.ts). Three paths give the same numbers (up to float rounding):
//  - `batched`: requests sorted by length (longest first, as the harness does), right-
//    padded into batches of `batchSize` rows, one `forward` per batch. Padding comes after
//    every scored position, so a causal model's scored logits do not see it.
//  - `prefix`: requests that share their context tokens (the choices of one question) run
//    the context ONCE through `decode` on a one-row KV cache; the cached keys/values are
//    copied to a K-row cache and the K continuations are decoded from it together. Only for
//    models whose decoding state is a KV cache (the softmax teachers); others use `batched`.
//  - `single`: one `forward` per request, no batching or sharing (the reference/baseline).
// A request's score is the sum of log-softmax probabilities of its continuation tokens,
// and `greedy` says whether every continuation token was the argmax.
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { KVCache } from '../src/attention/index.js';
import type { KVCacheLayer } from '../src/attention/index.js';
import { checkPositiveInt, unreachable } from '../src/errors.js';
import type { CausalLM } from '../src/generate/types.js';
import { KVDecodeState } from '../models/index.js';
import { truncateRequest } from './requests.js';
import type { TokenizedRequest } from './requests.js';

/** Score of one request. */
export interface ScoreResult {
  /** Sum of log-probabilities of the continuation tokens (natural log). */
  ll: number;
  /** True when every continuation token is the model's most likely next token. */
  greedy: boolean;
}

export const SCORING_PATHS = ['auto', 'prefix', 'batched', 'single'] as const;
export type ScoringPath = (typeof SCORING_PATHS)[number];

/** Options of `scoreRequests`. */
export interface ScoreOptions {
  /** Rows per forward pass (`batched`) or most choices decoded together (`prefix`). @default 16 */
  batchSize?: number;
  /** @default 'auto' (`prefix` for KV-cache models, else `batched`) */
  path?: ScoringPath;
  /**
   * `batched`: most tokens (rows × padded length) per forward; long rows go in smaller
   * batches so memory stays bounded. @default 4096
   */
  maxBatchTokens?: number;
  /** Called with the number of requests scored so far. */
  onProgress?: (done: number) => void;
  /** Receives the count of token positions fed to the model (padding included). */
  stats?: ScoreStats;
}

/** Work counters of a scoring run. */
export interface ScoreStats {
  /** Token positions fed to `forward`/`decode`, padding included. */
  fedTokens: number;
}

/** Default token budget of one batched forward. */
export const DEFAULT_BATCH_TOKENS = 4096;

/** Token id used to pad batch rows (never scored). */
const PAD_ID = 0;

/** The path `auto` resolves to for `model`. */
export function resolvePath(
  model: CausalLM,
  path: ScoringPath = 'auto',
): Exclude<ScoringPath, 'auto'> {
  if (path !== 'auto') return path;
  const probe = model.initState(1);
  const kv = probe instanceof KVDecodeState;
  probe.dispose();
  return kv ? 'prefix' : 'batched';
}

/** Score every request; results come back in request order. */
export function scoreRequests(
  model: CausalLM,
  requests: readonly TokenizedRequest[],
  options: ScoreOptions = {},
): ScoreResult[] {
  const batchSize = options.batchSize ?? 16;
  checkPositiveInt(batchSize, 'batch size');
  const budget = options.maxBatchTokens ?? DEFAULT_BATCH_TOKENS;
  checkPositiveInt(budget, 'maxBatchTokens');
  const path = resolvePath(model, options.path);
  const out = new Array<ScoreResult>(requests.length);
  const stats = options.stats ?? { fedTokens: 0 };
  let done = 0;
  const progress = (n: number) => {
    done += n;
    options.onProgress?.(done);
  };
  switch (path) {
    case 'single':
      requests.forEach((r, i) => {
        out[i] = scoreBatch(model, [truncateRequest(r, model.maxPositions)], stats)[0];
        progress(1);
      });
      break;
    case 'batched':
      scoreBatched(
        model,
        requests.map((_, i) => i),
        requests,
        batchSize,
        budget,
        out,
        progress,
        stats,
      );
      break;
    case 'prefix':
      scoreByPrefix(model, requests, batchSize, budget, out, progress, stats);
      break;
    default:
      unreachable(path, 'scoring path');
  }
  return out;
}

function scoreBatched(
  model: CausalLM,
  which: number[],
  requests: readonly TokenizedRequest[],
  batchSize: number,
  budget: number,
  out: ScoreResult[],
  progress: (n: number) => void,
  stats: ScoreStats,
): void {
  const items = which.map((i) => ({ i, ...truncateRequest(requests[i], model.maxPositions) }));
  items.sort((a, b) => b.input.length - a.input.length || a.i - b.i);
  for (let s = 0; s < items.length;) {
    // Sorted longest first: the first row sets the padded length of its batch.
    const rows = Math.max(1, Math.min(batchSize, Math.floor(budget / items[s].input.length)));
    const chunk = items.slice(s, s + rows);
    s += rows;
    scoreBatch(model, chunk, stats).forEach((r, k) => (out[chunk[k].i] = r));
    progress(chunk.length);
  }
}

/** One right-padded forward over `rows`; each row's targets are its last input positions. */
function scoreBatch(
  model: CausalLM,
  rows: readonly { input: number[]; targets: number[] }[],
  stats: ScoreStats,
): ScoreResult[] {
  const B = rows.length;
  const N = Math.max(...rows.map((r) => r.input.length));
  stats.fedTokens += B * N;
  const ids = new Int32Array(B * N).fill(PAD_ID);
  const positions: number[] = [];
  const targets: number[] = [];
  rows.forEach((r, b) => {
    ids.set(r.input, b * N);
    const start = r.input.length - r.targets.length;
    r.targets.forEach((t, k) => {
      positions.push(b * N + start + k);
      targets.push(t);
    });
  });
  const [lp, am] = tf.tidy(() => {
    const logits = model.forward(tf.tensor2d(ids, [B, N], 'int32')).logits; // [B, N, V]
    const V = logits.shape[2] as number;
    const picked = tf.gather(tf.reshape(logits, [B * N, V]), tf.tensor1d(positions, 'int32')); // [M, V]
    return targetLogProbs(picked, targets);
  });
  const lps = lp.dataSync();
  const ams = am.dataSync();
  tf.dispose([lp, am]);
  let m = 0;
  return rows.map((r) => {
    let ll = 0;
    let greedy = true;
    for (const t of r.targets) {
      ll += lps[m];
      if (ams[m] !== t) greedy = false;
      m++;
    }
    return { ll, greedy };
  });
}

/** Log-probabilities of `targets` under `logits` `[M, V]`, and the argmax of each row. */
function targetLogProbs(logits: Tensor, targets: number[]): [Tensor, Tensor] {
  const [M, V] = logits.shape as [number, number];
  const lsm = tf.logSoftmax(logits); // [M, V]
  const flat = targets.map((t, m) => m * V + t);
  const lp = tf.gather(tf.reshape(lsm, [M * V]), tf.tensor1d(flat, 'int32')); // [M]
  return [lp, tf.argMax(logits, 1)]; // [M], [M]
}

/** A KV cache that keeps a copy of the keys/values appended to each layer. */
class CapturingCache extends KVCache {
  readonly captured: ([Tensor, Tensor] | null)[];

  constructor(layers: number, maxPositions: number) {
    super({ layers, batch: 1, maxPositions, blockSize: 1 });
    this.captured = new Array<[Tensor, Tensor] | null>(layers).fill(null);
  }

  override layer(i: number): KVCacheLayer {
    const handle = super.layer(i);
    return {
      get length() {
        return handle.length;
      },
      append: (k, v) => {
        this.captured[i]?.forEach((t) => t.dispose());
        this.captured[i] = [tf.keep(tf.clone(k)), tf.keep(tf.clone(v))];
        return handle.append(k, v);
      },
    };
  }

  override dispose(): void {
    for (const c of this.captured) c?.forEach((t) => t.dispose());
    this.captured.fill(null);
    super.dispose();
  }
}

function scoreByPrefix(
  model: CausalLM,
  requests: readonly TokenizedRequest[],
  batchSize: number,
  budget: number,
  out: ScoreResult[],
  progress: (n: number) => void,
  stats: ScoreStats,
): void {
  const probe = model.initState(1);
  const layers = probe instanceof KVDecodeState ? probe.cache.layers : 0;
  probe.dispose();
  if (layers === 0) {
    scoreBatched(
      model,
      requests.map((_, i) => i),
      requests,
      batchSize,
      budget,
      out,
      progress,
      stats,
    );
    return;
  }
  // Group by context tokens; a group that would not fit the context goes the batched way.
  const groups = new Map<string, number[]>();
  const rest: number[] = [];
  requests.forEach((r, i) => {
    const longest = r.contextIds.length + r.continuationIds.length - 1;
    if (longest > model.maxPositions || r.continuationIds.length === 0) {
      rest.push(i);
      return;
    }
    const key = r.contextIds.join(',');
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  for (const group of groups.values()) {
    for (let s = 0; s < group.length; s += batchSize) {
      const part = group.slice(s, s + batchSize);
      scoreGroup(
        model,
        layers,
        part.map((i) => requests[i]),
        stats,
      ).forEach((r, k) => (out[part[k]] = r));
      progress(part.length);
    }
  }
  if (rest.length > 0) scoreBatched(model, rest, requests, batchSize, budget, out, progress, stats);
}

/** Requests with one shared context: decode it once, then the K continuations together. */
function scoreGroup(
  model: CausalLM,
  layers: number,
  reqs: readonly TokenizedRequest[],
  stats: ScoreStats,
): ScoreResult[] {
  const ctx = reqs[0].contextIds;
  const K = reqs.length;
  stats.fedTokens += ctx.length;
  const capture = new CapturingCache(layers, model.maxPositions);
  const first = new KVDecodeState(model, capture);
  let fork: KVDecodeState | null = null;
  try {
    // Log-probs of every continuation's first token, from the context's last position.
    const [lp0, am0] = tf.tidy(() => {
      const logits = model.decode(tf.tensor2d(ctx, [1, ctx.length], 'int32'), first); // [1, C, V]
      const V = logits.shape[2] as number;
      const last = tf.reshape(tf.slice(logits, [0, ctx.length - 1, 0], [1, 1, V]), [1, V]); // [1, V]
      const rows = tf.tile(last, [K, 1]); // [K, V]
      return targetLogProbs(
        rows,
        reqs.map((r) => r.continuationIds[0]),
      );
    });
    const lps0 = lp0.dataSync();
    const ams0 = am0.dataSync();
    tf.dispose([lp0, am0]);
    const results: ScoreResult[] = reqs.map((r, k) => ({
      ll: lps0[k],
      greedy: ams0[k] === r.continuationIds[0],
    }));
    const maxCont = Math.max(...reqs.map((r) => r.continuationIds.length));
    if (maxCont === 1) return results;
    // Copy the context's cache to K rows and decode continuation tokens 0..n-2.
    const cache = new KVCache({ layers, batch: K, maxPositions: model.maxPositions, blockSize: 1 });
    fork = new KVDecodeState(model, cache);
    tf.tidy(() => {
      capture.captured.forEach((kv, i) => {
        const [k, v] = kv!;
        cache.layer(i).append(tf.tile(k, [K, 1, 1, 1]), tf.tile(v, [K, 1, 1, 1])); // [K, Hkv, C, d]
      });
    });
    const n = maxCont - 1;
    stats.fedTokens += K * n;
    const ids = new Int32Array(K * n).fill(PAD_ID);
    const positions: number[] = [];
    const targets: number[] = [];
    reqs.forEach((r, k) => {
      const c = r.continuationIds;
      ids.set(c.slice(0, -1), k * n);
      for (let j = 1; j < c.length; j++) {
        positions.push(k * n + j - 1);
        targets.push(c[j]);
      }
    });
    const state = fork;
    const [lp, am] = tf.tidy(() => {
      const logits = model.decode(tf.tensor2d(ids, [K, n], 'int32'), state); // [K, n, V]
      const V = logits.shape[2] as number;
      const picked = tf.gather(tf.reshape(logits, [K * n, V]), tf.tensor1d(positions, 'int32')); // [M, V]
      return targetLogProbs(picked, targets);
    });
    const lps = lp.dataSync();
    const ams = am.dataSync();
    tf.dispose([lp, am]);
    let m = 0;
    reqs.forEach((r, k) => {
      for (let j = 1; j < r.continuationIds.length; j++) {
        results[k].ll += lps[m];
        if (ams[m] !== r.continuationIds[j]) results[k].greedy = false;
        m++;
      }
    });
    return results;
  } finally {
    first.dispose();
    fork?.dispose();
  }
}
