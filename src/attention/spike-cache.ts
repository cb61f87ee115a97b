// Key/value spike cache for incremental CWSSA decoding (methods-language.md 1(b),
// "cache K and V spikes for all past positions and time steps"). Holds `[T, B, H, L, d]`
// key and `[T, B, H, L, dv]` value spikes; each `append` copies the history once
// (O(L) per token, the same order as the `T·H·L·d` coincidence additions of the step).
// The softmax KV cache (kv-cache.ts) is for `[B, Hkv, L, d]` real tensors; spikes keep
// their time axis, so they get this small holder of their own.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { checkPositiveInt, ShapeError } from '../errors.js';

/** Cached spikes: every position so far, new ones included. */
export interface SpikeSegments {
  /** `[T, B, H, L, d]` key spikes. */
  keys: Tensor;
  /** `[T, B, H, L, dv]` value spikes. */
  values: Tensor;
}

function shapeOf(t: Tensor): string {
  return `[${t.shape.join(', ')}]`;
}

/** Growing cache of K and V spikes for one attention layer, bounded by `maxPositions`. */
export class SpikeKVCache {
  readonly maxPositions: number;
  private k: Tensor | null = null;
  private v: Tensor | null = null;

  constructor(maxPositions: number) {
    checkPositiveInt(maxPositions, 'maxPositions');
    this.maxPositions = maxPositions;
  }

  /** Positions stored. */
  get length(): number {
    return this.k ? (this.k.shape[3] as number) : 0;
  }

  /**
   * Store `k` `[T, B, H, n, d]` and `v` `[T, B, H, n, dv]` (the cache keeps its own copies)
   * and return every cached position. The returned tensors belong to the cache: valid until
   * the next `append` or `dispose`, never dispose them yourself.
   */
  append(k: Tensor, v: Tensor): SpikeSegments {
    const fits =
      k.rank === 5 &&
      v.rank === 5 &&
      k.shape.slice(0, 4).every((s, i) => s === v.shape[i]) &&
      (!this.k ||
        (k.shape.slice(0, 3).every((s, i) => s === this.k?.shape[i]) &&
          k.shape[4] === this.k.shape[4] &&
          v.shape[4] === this.v?.shape[4]));
    if (!fits) {
      throw new ShapeError(
        `SpikeKVCache.append: k ${shapeOf(k)} and v ${shapeOf(v)} must be [T, B, H, n, d] / [T, B, H, n, dv]` +
          (this.k ? ` matching the cache's ${shapeOf(this.k)} / ${shapeOf(this.v as Tensor)}` : ''),
      );
    }
    const n = k.shape[3] as number;
    if (this.length + n > this.maxPositions) {
      throw new ShapeError(
        `SpikeKVCache.append: ${this.length} + ${n} positions exceed maxPositions ${this.maxPositions}`,
      );
    }
    const grow = (old: Tensor | null, add: Tensor): Tensor => {
      const t = tf.keep(old ? tf.concat([old, add], 3) : tf.clone(add)); // [T, B, H, L + n, c]
      if (old) old.dispose();
      return t;
    };
    this.k = grow(this.k, k);
    this.v = grow(this.v, v);
    return { keys: this.k, values: this.v };
  }

  /** Free the cached tensors; the cache is empty afterwards. */
  dispose(): void {
    this.k?.dispose();
    this.v?.dispose();
    this.k = null;
    this.v = null;
  }
}
