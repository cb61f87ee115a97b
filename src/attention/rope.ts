// Rotary position embeddings (RoPE; Su et al. 2021, "RoFormer") in the two
// conventions checkpoints use:
// - `rotate_half` (Hugging Face `LlamaRotaryEmbedding` / `apply_rotary_pos_emb`):
//   dimension `i` pairs with `i + d/2` inside a head;
// - `interleaved` (llama2.c `run.c`, Meta's original `llama/model.py`): dimension
//   `2i` pairs with `2i + 1`.
// Pair `i` at position `p` is rotated by `p * theta^(-2i/d)`. Both are computed as
// `x * C + P(x) * S`, where `P` swaps the two members of every pair and `S` holds
// `-sin` on the first member and `+sin` on the second. `P(x)` is a product with a
// constant `[d, d]` permutation matrix (exact: one 1 per column).
// NOTE: on wasm (tfjs 4.22) `tf.reverse` costs ~40 ns per element and slice+concat
// more; the permutation product takes XNNPACK's path, 7x faster at d = 8. The
// conventions agree exactly after reordering the q/k projection
// rows of every head with `ropeRowsToHalf` (`[0, 2, 4, ..., 1, 3, 5, ...]`).
// NOTE: the angles are rounded as the references compute them in float32
// (`inv_freq = 1 / theta^(2i/d)`, then `p * inv_freq`, each rounded to float32);
// only cos/sin are taken in float64 and rounded once.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { matMul } from '../ops/index.js';
import { checkFinite, checkPositiveInt, ConfigError, ShapeError } from '../errors.js';

/** The pairing conventions of RoPE. */
export const ROPE_STYLES = ['rotate_half', 'interleaved'] as const;
/** `rotate_half` (Hugging Face) or `interleaved` (llama2.c, Meta). */
export type RopeStyle = (typeof ROPE_STYLES)[number];

/** Constructor arguments of `RotaryEmbedding` (also its `getConfig()`). */
export interface RotaryEmbeddingArgs {
  /** Head width `d` (even). */
  head_dim: number;
  /** Positions the tables cover (the model's context). */
  max_positions: number;
  /** Base of the frequencies (`rope_theta`). Default `10000`. */
  theta?: number;
  /** Pairing convention. Default `rotate_half`. */
  style?: RopeStyle;
}

/** Cos and signed-sin factors for the positions of one call. */
export interface RopeAngles {
  /** `[N, d]` (shared by the batch) or `[B, 1, N, d]` (per-row positions). */
  readonly cos: Tensor;
  /** Same shape as `cos`: `-sin` on the first member of each pair, `+sin` on the second. */
  readonly sin: Tensor;
  /** `[d, d]` pair-swap permutation, owned by the `RotaryEmbedding` (do not dispose). */
  readonly swap: Tensor;
  readonly style: RopeStyle;
}

/** `inv_freq[i] = 1 / theta^(2i/d)`, `i < d/2`, rounded as float32 references do. */
export function inverseFrequencies(headDim: number, theta: number): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const exponent = Math.fround((2 * i) / headDim);
    out[i] = Math.fround(1 / Math.fround(Math.pow(theta, exponent)));
  }
  return out;
}

/** Index of the pair and the member (0 first, 1 second) of dimension `j` in a head. */
function pairOf(j: number, headDim: number, style: RopeStyle): [number, number] {
  const half = headDim / 2;
  return style === 'rotate_half' ? [j % half, j < half ? 0 : 1] : [j >> 1, j & 1];
}

/** Cos/sin tables for RoPE, built once for `max_positions`. Call `dispose()` when done. */
export class RotaryEmbedding {
  readonly headDim: number;
  readonly maxPositions: number;
  readonly theta: number;
  readonly style: RopeStyle;
  /** `[P, d]` cos of every position's angles. */
  private readonly cosTable: Tensor;
  /** `[P, d]` signed sin. */
  private readonly sinTable: Tensor;
  /** `[d, d]`: `(x P)[j] = x[partner(j)]`. */
  private readonly swap: Tensor;

  constructor(args: RotaryEmbeddingArgs) {
    checkPositiveInt(args.head_dim, 'head_dim');
    checkPositiveInt(args.max_positions, 'max_positions');
    if (args.head_dim % 2 !== 0) {
      throw new ConfigError(`RoPE needs an even head_dim, got ${args.head_dim}`);
    }
    this.theta = args.theta ?? 10000;
    checkFinite(this.theta, 'rope_theta');
    if (this.theta <= 1) throw new ConfigError(`rope_theta must be > 1, got ${this.theta}`);
    this.style = args.style ?? 'rotate_half';
    if (!ROPE_STYLES.includes(this.style)) {
      throw new ConfigError(
        `RoPE style must be one of ${ROPE_STYLES.join(', ')}, got ${JSON.stringify(this.style)}`,
      );
    }
    this.headDim = args.head_dim;
    this.maxPositions = args.max_positions;
    const [P, d] = [this.maxPositions, this.headDim];
    const invFreq = inverseFrequencies(d, this.theta);
    const cos = new Float32Array(P * d);
    const sin = new Float32Array(P * d);
    for (let p = 0; p < P; p++) {
      for (let j = 0; j < d; j++) {
        const [pair, member] = pairOf(j, d, this.style);
        const angle = Math.fround(p * invFreq[pair]);
        cos[p * d + j] = Math.cos(angle);
        sin[p * d + j] = member === 0 ? -Math.sin(angle) : Math.sin(angle);
      }
    }
    this.cosTable = tf.tensor2d(cos, [P, d]); // [P, d]
    this.sinTable = tf.tensor2d(sin, [P, d]); // [P, d]
    const perm = new Float32Array(d * d);
    for (let j = 0; j < d; j++) {
      const [pair, member] = pairOf(j, d, this.style);
      const partner =
        this.style === 'rotate_half' ? pair + (1 - member) * (d / 2) : 2 * pair + 1 - member;
      perm[partner * d + j] = 1;
    }
    this.swap = tf.tensor2d(perm, [d, d]); // [d, d]
  }

  getConfig(): Required<RotaryEmbeddingArgs> {
    return {
      head_dim: this.headDim,
      max_positions: this.maxPositions,
      theta: this.theta,
      style: this.style,
    };
  }

  /** Angles of positions `offset .. offset + n - 1` (shared by the batch): `[n, d]`. */
  angles(offset: number, n: number): RopeAngles {
    checkPositiveInt(n, 'n');
    if (!Number.isInteger(offset) || offset < 0 || offset + n > this.maxPositions) {
      throw new ConfigError(
        `RoPE positions ${offset}..${offset + n - 1} are outside the table of ${this.maxPositions} positions`,
        'the sequence is longer than the model context (max_position_embeddings)',
      );
    }
    return {
      cos: tf.slice(this.cosTable, [offset, 0], [n, this.headDim]), // [n, d]
      sin: tf.slice(this.sinTable, [offset, 0], [n, this.headDim]), // [n, d]
      swap: this.swap,
      style: this.style,
    };
  }

  /** Angles of per-row positions `[B, N]` int32 (e.g. after left padding): `[B, 1, N, d]`. */
  anglesAt(positions: Tensor): RopeAngles {
    if (positions.rank !== 2 || positions.dtype !== 'int32') {
      throw new ShapeError(
        `RoPE positions must be int32 [B, N], got ${positions.dtype} [${positions.shape.join(', ')}]`,
      );
    }
    const [B, N] = positions.shape as [number, number];
    const d = this.headDim;
    return tf.tidy(() => {
      const flat = tf.clipByValue(tf.reshape(positions, [-1]), 0, this.maxPositions - 1); // [B*N]
      return {
        cos: tf.reshape(tf.gather(this.cosTable, flat), [B, 1, N, d]), // [B, 1, N, d]
        sin: tf.reshape(tf.gather(this.sinTable, flat), [B, 1, N, d]), // [B, 1, N, d]
        swap: this.swap,
        style: this.style,
      };
    });
  }

  /** Free the tables. */
  dispose(): void {
    tf.dispose([this.cosTable, this.sinTable, this.swap]);
  }
}

/** Swap the two members of every RoPE pair along the last axis of `x` `[..., d]`. */
function swapPairs(x: Tensor, swap: Tensor): Tensor {
  const d = x.shape[x.rank - 1] as number;
  const rows = tf.reshape(x, [-1, d]); // [M, d]
  return tf.reshape(matMul(rows, swap), x.shape as number[]); // [..., d]
}

/** Rotate `x` `[B, H, N, d]` by `angles` (from the same `RotaryEmbedding`). */
export function applyRotary(x: Tensor, angles: RopeAngles): Tensor {
  const d = angles.cos.shape[angles.cos.rank - 1];
  const n = angles.cos.shape[angles.cos.rank - 2];
  if (x.rank !== 4 || x.shape[3] !== d || x.shape[2] !== n) {
    throw new ShapeError(`applyRotary: expected [B, H, ${n}, ${d}], got [${x.shape.join(', ')}]`);
  }
  return tf.tidy(
    () => tf.add(tf.mul(x, angles.cos), tf.mul(swapPairs(x, angles.swap), angles.sin)), // [B, H, N, d]
  );
}

function permuteRows(w: Tensor, heads: number, headDim: number, toHalf: boolean): Tensor {
  if ((w.rank !== 1 && w.rank !== 2) || w.shape[0] !== heads * headDim || headDim % 2 !== 0) {
    throw new ShapeError(
      `RoPE row permutation: expected [${heads * headDim}] or [${heads * headDim}, in] with even head_dim, got [${w.shape.join(', ')}]`,
    );
  }
  const cols = w.rank === 2 ? (w.shape[1] as number) : 1;
  // toHalf: row (pair i, member m) = 2i + m moves to m * d/2 + i; the inverse undoes it.
  const from = toHalf ? [heads, headDim / 2, 2, cols] : [heads, 2, headDim / 2, cols];
  return tf.tidy(() => {
    const t = tf.transpose(tf.reshape(w, from), [0, 2, 1, 3]); // swap the two inner axes
    return tf.reshape(t, w.shape as number[]); // same shape as w
  });
}

/**
 * Reorder the rows of a q or k projection (`[H*d, in]` weight or `[H*d]` bias)
 * from the `interleaved` convention to `rotate_half`: inside every head, even
 * rows first, then odd rows (`[0, 2, 4, 6, 1, 3, 5, 7]` for `d = 8`). This is how
 * llama2.c weights become Hugging Face ones; attention scores are unchanged.
 */
export function ropeRowsToHalf(w: Tensor, heads: number, headDim: number): Tensor {
  return permuteRows(w, heads, headDim, true);
}

/** The inverse of `ropeRowsToHalf` (Hugging Face -> llama2.c row order). */
export function ropeRowsToInterleaved(w: Tensor, heads: number, headDim: number): Tensor {
  return permuteRows(w, heads, headDim, false);
}
