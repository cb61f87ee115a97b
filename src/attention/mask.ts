// Attention masks for every attention family. Softmax attention takes an
// *additive bias* broadcastable to the scores `[B, H, Nq, Nk]`: 0 where a query may
// attend, `MASK_VALUE` where it may not. Adding float32's lowest value to any
// finite score rounds to exactly `MASK_VALUE`, so a masked key cannot influence an
// unmasked row, bit for bit. Spiking attentions (WSSA/CWSSA/SFSA) take the
// boolean `causalMask` for their `M_ij = 1[j <= i]`. Follows the Hugging Face
// convention that an `attention_mask` `[B, Nk]` is 1 for tokens and 0 for padding.
// NOTE: masks are built in JS and uploaded once per call rather than with
// broadcasting tfjs ops: on wasm (tfjs 4.22) a broadcast `greaterEqual` or `where`
// runs 50-300x slower than the element count suggests (it tiles its inputs).
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { checkPositiveInt, ConfigError, ShapeError } from '../errors.js';

/**
 * The bias of a masked score: float32's lowest finite value, as Hugging Face uses
 * (`torch.finfo(float32).min`). Finite rather than `-Infinity`, so a fully masked
 * row (a padding query under left padding) gives a uniform row instead of NaN.
 */
export const MASK_VALUE = -3.4028234663852886e38;

/**
 * Softmax attention pads the key axis to a multiple of this many positions
 * (masked zero keys). NOTE: the wasm softmax kernel (XNNPACK) sums a row in
 * SIMD lanes and treats the last `Nk mod 4` elements apart, so the same scores
 * followed by a different number of masked entries can round differently (1 ulp);
 * over 5 layers that grew to 1.7e-5 between decoding and the full forward of
 * stories260K. On rows padded to a common multiple the sums are identical, and a
 * decoding step reproduces the full forward's row bit for bit.
 */
export const KEY_BLOCK = 16;

/** `n` rounded up to a multiple of `KEY_BLOCK`. */
export function paddedKeys(n: number): number {
  return Math.ceil(n / KEY_BLOCK) * KEY_BLOCK;
}

/** Arguments of `buildAttentionBias`. */
export interface AttentionMaskArgs {
  /** Number of queries `Nq` (the tokens fed now). */
  queries: number;
  /** Number of keys `Nk` (cached positions plus the tokens fed now). */
  keys: number;
  /** Query `i` sits at absolute position `offset + i`. Default `keys - queries`. */
  offset?: number;
  /** Forbid keys after the query's own position. */
  causal: boolean;
  /** `[B, Nk]` 1 = token, 0 = padding (int32, float32 or bool); optional. */
  attentionMask?: Tensor | null;
  /**
   * Cover `paddedKeys(keys)` columns, the extra ones masked, as softmax attention
   * pads its keys (then the result is null only when no padding is needed).
   */
  padKeys?: boolean;
}

function checkCausal(queries: number, keys: number, offset: number): void {
  checkPositiveInt(queries, 'queries');
  checkPositiveInt(keys, 'keys');
  if (!Number.isInteger(offset) || offset < 0 || offset + queries > keys) {
    throw new ShapeError(
      `causal mask: ${queries} queries at offset ${offset} need an integer offset >= 0 and at least ${offset + queries} keys, got ${keys}`,
    );
  }
}

/**
 * Causal mask `[Nq, Nk]` (bool): query `i` (absolute position `offset + i`) may
 * attend to key `j` iff `j <= offset + i`. `offset` is the number of cached positions.
 */
export function causalMask(queries: number, keys: number, offset = keys - queries): Tensor {
  checkCausal(queries, keys, offset);
  const m = new Uint8Array(queries * keys);
  for (let i = 0; i < queries; i++) m.fill(1, i * keys, i * keys + offset + i + 1);
  return tf.tensor2d(m, [queries, keys], 'bool'); // [Nq, Nk]
}

/**
 * The additive form of `causalMask`: `[Nq, width]` float32, 0 or `MASK_VALUE`;
 * `width` (default `keys`) may exceed `keys`, the extra columns masked.
 */
export function causalBias(
  queries: number,
  keys: number,
  offset = keys - queries,
  width = keys,
): Tensor {
  checkCausal(queries, keys, offset);
  const b = new Float32Array(queries * width);
  for (let i = 0; i < queries; i++) b.fill(MASK_VALUE, i * width + offset + i + 1, (i + 1) * width);
  return tf.tensor2d(b, [queries, width]); // [Nq, width]
}

/** `[1, width]`: 0 on the first `keys` columns, `MASK_VALUE` after (key padding only). */
export function keyPaddingBias(keys: number, width: number): Tensor {
  const b = new Float32Array(width).fill(MASK_VALUE, keys);
  return tf.tensor2d(b, [1, width]); // [1, width]
}

/** Additive padding bias `[B, 1, 1, Nk]` from an `attention_mask` `[B, Nk]` (nonzero = token). */
export function paddingBias(attentionMask: Tensor): Tensor {
  if (attentionMask.rank !== 2) {
    throw new ShapeError(
      `attention_mask must be [B, Nk], got shape [${attentionMask.shape.join(', ')}]`,
    );
  }
  const [B, Nk] = attentionMask.shape as [number, number];
  return tf.tidy(() => {
    const keep = tf.cast(tf.notEqual(tf.cast(attentionMask, 'float32'), 0), 'float32'); // [B, Nk]
    return tf.reshape(toBias(keep), [B, 1, 1, Nk]); // [B, 1, 1, Nk]
  });
}

/** A boolean mask (true = attend) as an additive bias of the same shape. */
export function maskToBias(mask: Tensor): Tensor {
  if (mask.dtype !== 'bool') {
    throw new ConfigError(`maskToBias: mask must be bool (true = attend), got ${mask.dtype}`);
  }
  return tf.tidy(() => toBias(tf.cast(mask, 'float32')));
}

/** 1 -> +0, 0 -> MASK_VALUE (`(keep - 1) * -MASK_VALUE`, so no negative zeros). */
function toBias(keep: Tensor): Tensor {
  return tf.mul(tf.sub(keep, 1), -MASK_VALUE);
}

/**
 * The additive bias of one attention call, or `null` when every query may see
 * every key (bidirectional without padding, or a single causal query at the end
 * of the sequence: the common decoding step). Result `[Nq, Nk]` or `[B, 1, Nq, Nk]`.
 */
export function buildAttentionBias(args: AttentionMaskArgs): Tensor | null {
  const { queries, keys, causal } = args;
  const offset = args.offset ?? keys - queries;
  if (causal) checkCausal(queries, keys, offset);
  const pad = args.attentionMask ?? null;
  if (pad && (pad.rank !== 2 || pad.shape[1] !== keys)) {
    throw new ShapeError(
      `attention_mask must be [B, ${keys}] (cached + new positions), got [${pad.shape.join(', ')}]`,
    );
  }
  const seesAll = queries === 1 && offset === keys - 1; // the last query sees every key
  const needCausal = causal && !seesAll;
  const width = args.padKeys ? paddedKeys(keys) : keys;
  if (!needCausal && !pad && width === keys) return null;
  return tf.tidy(() => {
    const c = needCausal
      ? causalBias(queries, keys, offset, width) // [Nq, W]
      : width > keys
        ? keyPaddingBias(keys, width) // [1, W]
        : null;
    if (!pad) return c as Tensor;
    let p = paddingBias(pad); // [B, 1, 1, Nk]
    if (width > keys)
      p = tf.concat([p, tf.fill([pad.shape[0] as number, 1, 1, width - keys], MASK_VALUE)], 3); // [B, 1, 1, W]
    return c ? tf.minimum(c, p) : p; // [B, 1, Nq, W] | [B, 1, 1, W]
  });
}
