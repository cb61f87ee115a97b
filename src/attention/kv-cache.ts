// The key/value cache of softmax attention for incremental decoding (the
// `past_key_values` of Hugging Face, the `key_cache`/`value_cache` of llama2.c),
// one entry per layer, bounded by the model's context.
//
// tfjs tensors are immutable, so a cache cannot be written in place. Appending a
// token to one `[B, Hkv, L, d]` tensor copies the whole history at every step
// (`O(L)` per token per layer; for GPT-2 small at L = 1024, 12 MB per layer per
// step). Each layer therefore may keep two segments: a long `main` segment and a
// short `tail` that new positions are appended to; when the tail reaches
// `blockSize` positions it is merged into `main`. Per step the copy is at most
// `blockSize` positions plus, every `blockSize` steps, one merge of the history:
// amortised `O(blockSize + L / blockSize)` instead of `O(L)`. Attention reads the
// segments as they are (sdpa.ts accepts segment lists).
// Segments cost a few more kernels per layer and step, which outweighs the copy
// while the history is small (stories260K: 1.5 ms per step with one segment, 2.1
// with two), so by default (`blockSize: 'auto'`) a layer keeps ONE segment while
// its keys hold at most `SEGMENT_MIN_ELEMENTS` numbers, and a 64-position tail after.
// NOTE: summing `P V` per segment rounds differently from one product over all
// keys (~1 ulp per layer). With one segment, a decoding step reproduces the same
// row of a batched forward bit for bit; `blockSize: 1` forces that at any size.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { checkPositiveInt, ConfigError, ShapeError } from '../errors.js';

/** Constructor arguments of `KVCache`. */
export interface KVCacheArgs {
  /** Number of attention layers. */
  layers: number;
  /** Batch size `B` of every appended tensor. */
  batch: number;
  /** Most positions the cache may hold (the model's context). */
  maxPositions: number;
  /**
   * Tail length at which the tail is merged into the main segment; `1` = always
   * one segment. Default `'auto'`: one segment while small, then 64 (see above).
   */
  blockSize?: number | 'auto';
}

/** Keys per layer (`B * Hkv * L * d`) up to which `'auto'` keeps a single segment. */
export const SEGMENT_MIN_ELEMENTS = 65536;
const AUTO_BLOCK = 64;

/** Cached keys and values of one layer, as segments along the key axis. */
export interface KVSegments {
  /** Each `[B, Hkv, Nk_i, d]`, oldest first. */
  readonly keys: Tensor[];
  /** Each `[B, Hkv, Nk_i, dv]`, matching `keys`. */
  readonly values: Tensor[];
}

interface Entry {
  main: [Tensor, Tensor] | null;
  tail: [Tensor, Tensor] | null;
  length: number;
}

/** One layer's view of a `KVCache`, handed to that layer's attention. */
export interface KVCacheLayer {
  /** Positions this layer has stored. */
  readonly length: number;
  /**
   * Store `k` `[B, Hkv, n, d]` and `v` `[B, Hkv, n, dv]` (the cache keeps its own
   * copies) and return every cached segment, the new positions included.
   */
  append(k: Tensor, v: Tensor): KVSegments;
}

function concatKept(a: Tensor | null, b: Tensor): Tensor {
  const t = a ? tf.concat([a, b], 2) : tf.clone(b); // [B, Hkv, La + Lb, d]
  tf.keep(t);
  if (a) a.dispose();
  return t;
}

/** A per-layer key/value cache for a batch of sequences. Dispose it when done. */
export class KVCache {
  readonly layers: number;
  readonly batch: number;
  readonly maxPositions: number;
  readonly blockSize: number | 'auto';
  readonly #entries: Entry[];
  #disposed = false;

  constructor(args: KVCacheArgs) {
    checkPositiveInt(args.layers, 'layers');
    checkPositiveInt(args.batch, 'batch');
    checkPositiveInt(args.maxPositions, 'maxPositions');
    this.blockSize = args.blockSize ?? 'auto';
    if (this.blockSize !== 'auto') checkPositiveInt(this.blockSize, 'blockSize');
    this.layers = args.layers;
    this.batch = args.batch;
    this.maxPositions = args.maxPositions;
    this.#entries = Array.from({ length: args.layers }, () => ({
      main: null,
      tail: null,
      length: 0,
    }));
  }

  /** Positions stored by every layer (the position of the next token). */
  get length(): number {
    return Math.min(...this.#entries.map((e) => e.length));
  }

  /**
   * Check that `n` more positions fit, before any layer runs; returns the current
   * length (the position offset of the new tokens). A ConfigError past the context.
   */
  reserve(n: number): number {
    this.#checkAlive();
    checkPositiveInt(n, 'tokens');
    const lengths = this.#entries.map((e) => e.length);
    if (lengths.some((l) => l !== lengths[0])) {
      throw new ConfigError(
        `KV cache is inconsistent (layer lengths ${lengths.join(', ')}): a previous step failed midway`,
        'start again with a fresh decoding state',
      );
    }
    const have = lengths[0];
    if (have + n > this.maxPositions) {
      throw new ConfigError(
        `context exceeded: ${have} cached + ${n} new tokens = ${have + n} positions, but the model context is ${this.maxPositions} (max_position_embeddings)`,
        'shorten the prompt or the generation, or start a new sequence',
      );
    }
    return have;
  }

  /** The handle of layer `i`. */
  layer(i: number): KVCacheLayer {
    if (!Number.isInteger(i) || i < 0 || i >= this.layers) {
      throw new ConfigError(`KV cache has layers 0..${this.layers - 1}, got ${i}`);
    }
    const entry = this.#entries[i];
    return {
      get length() {
        return entry.length;
      },
      append: (k, v) => this.#append(entry, i, k, v),
    };
  }

  #append(e: Entry, i: number, k: Tensor, v: Tensor): KVSegments {
    this.#checkAlive();
    const n = k.shape[2] as number;
    if (k.rank !== 4 || v.rank !== 4 || k.shape[0] !== this.batch || v.shape[2] !== n) {
      throw new ShapeError(
        `KV cache layer ${i}: expected k [${this.batch}, Hkv, n, d] and v [${this.batch}, Hkv, n, dv], got [${k.shape.join(', ')}] and [${v.shape.join(', ')}]`,
      );
    }
    if (e.length + n > this.maxPositions) {
      throw new ConfigError(
        `context exceeded in layer ${i}: ${e.length} + ${n} positions > ${this.maxPositions}`,
      );
    }
    const ref = e.main ?? e.tail;
    if (ref && (ref[0].shape[1] !== k.shape[1] || ref[0].shape[3] !== k.shape[3])) {
      throw new ShapeError(
        `KV cache layer ${i}: new keys [${k.shape.join(', ')}] do not match cached [${ref[0].shape.join(', ')}]`,
      );
    }
    e.tail = [concatKept(e.tail?.[0] ?? null, k), concatKept(e.tail?.[1] ?? null, v)];
    if ((e.tail[0].shape[2] as number) >= this.mergeAt(e)) {
      const [tk, tv] = e.tail;
      e.main = [concatKept(e.main?.[0] ?? null, tk), concatKept(e.main?.[1] ?? null, tv)];
      tf.dispose([tk, tv]);
      e.tail = null;
    }
    e.length += n;
    const segs = [e.main, e.tail].filter((s): s is [Tensor, Tensor] => s !== null);
    return { keys: segs.map((s) => s[0]), values: segs.map((s) => s[1]) };
  }

  /** Tail length that triggers a merge for entry `e`. */
  private mergeAt(e: Entry): number {
    if (this.blockSize !== 'auto') return this.blockSize;
    return e.main === null || e.main[0].size <= SEGMENT_MIN_ELEMENTS ? 1 : AUTO_BLOCK;
  }

  /** Free every cached tensor. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    for (const e of this.#entries) {
      tf.dispose([...(e.main ?? []), ...(e.tail ?? [])]);
      e.main = null;
      e.tail = null;
    }
    this.#disposed = true;
  }

  #checkAlive(): void {
    if (this.#disposed) throw new ConfigError('KV cache has been disposed');
  }
}
