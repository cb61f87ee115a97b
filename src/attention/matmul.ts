// Routing matrix products to the fast kernel of the active backend.
// NOTE (measured, tfjs-backend-wasm 4.22, Node 20, one thread): `BatchMatMul`
// reaches XNNPACK only for a batch of 1 *without transposes*; any other call runs
// a plain loop at ~0.8 GFLOP/s against ~15 for XNNPACK:
// - 12 x [256,64]x[64,256]: 52 ms batched, 11 ms as 12 separate products;
// - [128,768] x [768,768]^T: 70 ms with `transposeB`, 5.9 ms against a stored
//   transpose `[768,768]`.
// XNNPACK packs the right operand on first use (~50 ns per element, cached by
// tensor identity), so separate products only pay off when the left operand has
// `LOOP_MIN_ROWS` rows or more (prefill, full forward); decoding steps use one
// batched call. Large unstack/slice copies are slow too (~10 ns per element), so
// callers unstack only thin operands (q, k, v), never score matrices.
// Other backends always get one batched call.
import { tf } from '../tf.js';
import type { Tensor, Variable } from '../tf.js';

/** Rows of the left operand from which wasm runs one product per batch item. */
export const LOOP_MIN_ROWS = 48;

/** True when `items` products of `rows` rows each are faster one by one. */
export function preferPerItem(items: number, rows: number): boolean {
  return items > 1 && rows >= LOOP_MIN_ROWS && tf.getBackend() === 'wasm';
}

/**
 * A weight's transpose kept across calls, rebuilt when the weight's data
 * changes (`Variable.assign` gives it new data). Dispose it with its model.
 * Use it only outside gradient computations (the cached copy carries no tape).
 */
export class TransposeCache {
  #source: object | null = null;
  #value: Tensor | null = null;

  /** `w^T` for a 2-D `w` `[N, K]` -> `[K, N]`. */
  get(w: Variable | Tensor): Tensor {
    if (this.#value === null || this.#source !== w.dataId) {
      this.dispose();
      this.#value = tf.keep(tf.tidy(() => tf.transpose(w)));
      this.#source = w.dataId;
    }
    return this.#value;
  }

  /** Free the cached transpose. */
  dispose(): void {
    if (this.#value) this.#value.dispose();
    this.#value = null;
    this.#source = null;
  }
}

/**
 * `x` `[M, K]` times the transpose of a PyTorch-layout weight `w` `[N, K]`:
 * `[M, N]`. With a `cache` (inference) the stored transpose is used; without one,
 * wasm transposes per call when `M` is large and uses `transposeB` otherwise.
 */
export function matMulWeightT(x: Tensor, w: Tensor, cache: TransposeCache | null = null): Tensor {
  if (tf.getBackend() !== 'wasm') return tf.matMul(x, w, false, true); // [M, N]
  if (cache) return tf.matMul(x, cache.get(w)); // [M, N]
  const M = x.shape[0] as number;
  return M >= LOOP_MIN_ROWS ? tf.matMul(x, tf.transpose(w)) : tf.matMul(x, w, false, true); // [M, N]
}
