// Moving between the token layout of projections `[B, N, H*d]` and the head
// layout of attention `[B, H, N, d]`, shared by every attention family. A single
// token (`N = 1`, the decoding step) needs no transpose, only a reshape.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ShapeError } from '../errors.js';

/** `[B, N, H*d]` -> `[B, H, N, d]` (head `h` owns columns `h*d .. h*d + d - 1`). */
export function splitHeads(x: Tensor, heads: number, headDim: number): Tensor {
  if (x.rank !== 3 || x.shape[2] !== heads * headDim) {
    throw new ShapeError(
      `splitHeads: expected [B, N, ${heads * headDim}] (${heads} heads x ${headDim}), got [${x.shape.join(', ')}]`,
    );
  }
  const [B, N] = x.shape as [number, number, number];
  if (N === 1) return tf.reshape(x, [B, heads, 1, headDim]); // [B, H, 1, d]
  const x4 = tf.reshape(x, [B, N, heads, headDim]); // [B, N, H, d]
  return tf.transpose(x4, [0, 2, 1, 3]); // [B, H, N, d]
}

/** `[B, H, N, d]` -> `[B, N, H*d]`, the inverse of `splitHeads`. */
export function mergeHeads(x: Tensor): Tensor {
  if (x.rank !== 4) {
    throw new ShapeError(`mergeHeads: expected [B, H, N, d], got [${x.shape.join(', ')}]`);
  }
  const [B, H, N, d] = x.shape as [number, number, number, number];
  if (N === 1) return tf.reshape(x, [B, 1, H * d]); // [B, 1, H*d]
  const t = tf.transpose(x, [0, 2, 1, 3]); // [B, N, H, d]
  return tf.reshape(t, [B, N, H * d]); // [B, N, H*d]
}

/**
 * Repeat each of `Hkv` key/value heads `groups` times along the head axis:
 * `[B, Hkv, N, d]` -> `[B, Hkv*groups, N, d]`, head `h` = kv head `floor(h / groups)`
 * (HF `repeat_kv`). The attention itself never needs this (it groups queries by
 * reshape); it exists to express GQA as MHA in tests and conversions.
 */
export function repeatKvHeads(x: Tensor, groups: number): Tensor {
  if (x.rank !== 4) {
    throw new ShapeError(`repeatKvHeads: expected [B, Hkv, N, d], got [${x.shape.join(', ')}]`);
  }
  if (groups === 1) return tf.clone(x);
  const [B, Hkv, N, d] = x.shape as [number, number, number, number];
  return tf.tidy(() => {
    const x5 = tf.reshape(x, [B, Hkv, 1, N, d]); // [B, Hkv, 1, N, d]
    const t = tf.tile(x5, [1, 1, groups, 1, 1]); // [B, Hkv, G, N, d]
    return tf.reshape(t, [B, Hkv * groups, N, d]); // [B, H, N, d]
  });
}
