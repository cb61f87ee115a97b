// How `matMul` (matmul.ts) runs a product on the wasm backend: the layout of the
// batch, the kernel route and a cost model, as pure functions of the shapes, so
// tests and benchmarks can see which route a shape takes.
//
// NOTE (measured, tfjs-backend-wasm 4.22, Node 20, one thread, SIMD):
// - `BatchMatMul` reaches XNNPACK (20-30 GFLOP/s) only for ONE 2-D product WITHOUT
//   transposes; with `transposeA`/`transposeB`, or a batch > 1, it runs a blocked
//   scalar loop at ~2 GFLOP/s (0.95 ns per multiply-add, plus ~4 ns per output):
//   [128,768]x[768,768]^T: 66 ms with `transposeB`, 6.0 ms as `(W x^T)^T`, 5.5 ms
//   against a stored transpose; [4096,256]x[1024,256]^T: 1.5 s, 0.12 s transposed.
// - XNNPACK packs the right operand when it first meets it (~1-2 ns per element,
//   more for small operands) and keeps the packing per tensor DATA until disposed
//   (matmul.ts copies data met before under another shape). `tf.transpose` costs
//   3-4 ns per element (up to 9 for tall-thin matrices), so a route picks which
//   operand to transpose, and whether to swap the product, by element counts.
// - XNNPACK sums each output as one sequential float32 sum over k, whatever the
//   number of rows and whichever operand is on the left; the loop sums blocks of
//   48 along k (`LOOP_BLOCK`). So every XNNPACK route gives the same bits, and the
//   loop gives them too when k <= 48 (checked bit for bit in test/ops).
// - Slicing a wasm tensor copies the WHOLE tensor first (`readSync`): `tf.unstack`
//   of 64 items of [128,128] takes ~100 ms. Per-item products here split once
//   through `dataSync` (~1.5 ns per element with the stack of the results), and
//   each item pays ~8 us of tensor and kernel overhead.
// Routes, cheapest by the cost model (`MATMUL_COST`):
// - a 2-D product (and a batched one whose other operand is shared, folded into
//   one 2-D product): XNNPACK as `op(A) op(B)` ('xnn') or as `(op(B)^T op(A)^T)^T`
//   ('xnn-swapped', which never transposes the weight `[N, K]` of `x W^T`); the
//   loop only when k <= LOOP_BLOCK (same bits) and cheaper (tiny products);
// - a batched product (both operands batched): one loop call ('loop'), or one
//   XNNPACK product per item ('items' / 'items-swapped'). Per-item products win
//   from ~8 rows per item, but with k > LOOP_BLOCK the forward takes them only
//   from LOOP_MIN_ROWS rows: decoding steps (few query rows) and prompts shorter
//   than that then run the same kernel, so a decoded sequence equals the full
//   forward bit for bit (test/models); above it they agree to ~1e-6. That floor
//   costs 2.5-3.5x on such products of 8-47 rows (e.g. [64,32,128]x[64,128,128]^T:
//   31 ms loop, 9 ms per item); the backward has no decoding twin and skips it.
// Calibration: 461 shapes (2-D with M 1-1024 and K, N 8-1024 under all four
// transpose pairs; batches of 8-256 items of 1-128 rows), every route timed: the
// planned route is on average within 4% of the fastest one in total time (worst
// 2-D case 1.4x, on products under 0.3 ms), the floor apart.
import { tf } from '../tf.js';
import { ShapeError } from '../errors.js';

/** Rows of the left operand from which wasm may run one product per batch item (k > LOOP_BLOCK). */
export const LOOP_MIN_ROWS = 48;

/** Block of the wasm loop along k: up to this inner size it sums exactly as XNNPACK. */
export const LOOP_BLOCK = 48;

/**
 * The cost model of the routes, nanoseconds (tfjs-backend-wasm 4.22, one thread,
 * SIMD; fitted to the NOTE's calibration; only their ratios matter).
 */
export const MATMUL_COST: MatMulCost = {
  /** Loop kernel, per multiply-add. */
  loopPerMac: 0.95,
  /** Loop kernel, per output element and block of LOOP_BLOCK along k. */
  loopPerOutput: 4,
  /** XNNPACK, per multiply-add of the padded product (columns padded to 8). */
  xnnPerMac: 0.07,
  /** XNNPACK packing of a right operand, per element. */
  packPerElement: 2,
  /** `tf.transpose`, per element. */
  transposePerElement: 3,
  /** Splitting a batch into items and stacking the results, per element. */
  copyPerElement: 1.5,
  /** Any kernel call. */
  perOp: 5000,
  /** Each item of a per-item product (two tensors and one kernel call). */
  perItem: 8000,
};

/** Constants of the cost model, ns (see `MATMUL_COST`). */
export interface MatMulCost {
  loopPerMac: number;
  loopPerOutput: number;
  xnnPerMac: number;
  packPerElement: number;
  transposePerElement: number;
  copyPerElement: number;
  perOp: number;
  perItem: number;
}

/** Options of the planners. */
export interface PlanOptions {
  /** Cost constants; default `MATMUL_COST`. */
  cost?: MatMulCost;
  /**
   * Fewest rows of a batched product with k > LOOP_BLOCK that may run per item;
   * default LOOP_MIN_ROWS (exact decoding, see the NOTE). The backward passes 0:
   * no decoding step has to match its sums.
   */
  minRows?: number;
}

/** The kernel route of a product on wasm (see the NOTE above). */
export type MatMulRoute =
  /** One 2-D XNNPACK product `op(A) op(B)` on materialised operands. */
  | 'xnn'
  /** One 2-D XNNPACK product `(op(B)^T op(A)^T)^T`. */
  | 'xnn-swapped'
  /** One `tf.matMul` call with its transposes: the wasm loop. */
  | 'loop'
  /** One XNNPACK product `op(A_i) op(B_i)` per batch item. */
  | 'items'
  /** One XNNPACK product `(op(B_i)^T op(A_i)^T)^T` per batch item. */
  | 'items-swapped';

/** How the batch dimensions are laid out for the kernels. */
export type MatMulLayout =
  /** No batch (or a batch of one): one 2-D product. */
  | 'single'
  /** B shared by every item: A's items stacked as rows of one 2-D product. */
  | 'fold-rows'
  /** A shared by every item: B's items stacked as columns of one 2-D product. */
  | 'fold-columns'
  /** Both batched: the loop or per-item products. */
  | 'batched';

/** The route `matMul` takes for one pair of shapes. */
export interface MatMulPlan {
  /** Broadcast batch shape of the result (`[]` for 2-D operands). */
  batch: number[];
  /** Batch items of the result (product of `batch`). */
  items: number;
  /** Rows `M`, inner size `K` and columns `N` of each item's product. */
  m: number;
  k: number;
  n: number;
  layout: MatMulLayout;
  route: MatMulRoute;
  /** Whether a partly broadcast operand is first copied to the full batch (`batched` only). */
  broadcast: boolean;
  /** Modelled time of the route, ns. */
  costNs: number;
}

/** A transpose of an `r x c` matrix (n of them): free (a reshape) when a side is 1. */
function transposeCost(C: MatMulCost, r: number, c: number, count = 1): number {
  return r === 1 || c === 1 ? 0 : C.perOp + C.transposePerElement * r * c * count;
}

/** One XNNPACK product `[rows, inner] x [inner, cols]`, packing a fresh right operand. */
function xnnCost(C: MatMulCost, rows: number, inner: number, cols: number): number {
  return (
    C.perOp + C.xnnPerMac * rows * inner * Math.ceil(cols / 8) * 8 + C.packPerElement * inner * cols
  );
}

/** One loop call over `items` products `[m, k] x [k, n]`. */
function loopCost(C: MatMulCost, items: number, m: number, k: number, n: number): number {
  const blocks = Math.ceil(k / LOOP_BLOCK);
  return C.perOp + items * m * n * (C.loopPerMac * k + C.loopPerOutput * blocks);
}

/** The cheapest route of one 2-D product `op(A) [M, K] x op(B) [K, N]`. */
export function plan2d(
  m: number,
  k: number,
  n: number,
  transposeA: boolean,
  transposeB: boolean,
  C: MatMulCost = MATMUL_COST,
): { route: 'xnn' | 'xnn-swapped' | 'loop'; costNs: number } {
  const direct =
    (transposeA ? transposeCost(C, k, m) : 0) +
    (transposeB ? transposeCost(C, n, k) : 0) +
    xnnCost(C, m, k, n);
  const swapped =
    (transposeB ? 0 : transposeCost(C, k, n)) +
    (transposeA ? 0 : transposeCost(C, m, k)) +
    xnnCost(C, n, k, m) +
    transposeCost(C, n, m);
  let best: { route: 'xnn' | 'xnn-swapped' | 'loop'; costNs: number } =
    swapped < direct ? { route: 'xnn-swapped', costNs: swapped } : { route: 'xnn', costNs: direct };
  if (k <= LOOP_BLOCK) {
    const loop = loopCost(C, 1, m, k, n);
    if (loop < best.costNs) best = { route: 'loop', costNs: loop };
  }
  return best;
}

/** The cheapest route of `items` products `op(A_i) [M, K] x op(B_i) [K, N]`. */
export function planBatched(
  items: number,
  m: number,
  k: number,
  n: number,
  transposeA: boolean,
  transposeB: boolean,
  options: PlanOptions = {},
): { route: 'loop' | 'items' | 'items-swapped'; costNs: number } {
  const C = options.cost ?? MATMUL_COST;
  const minRows = options.minRows ?? LOOP_MIN_ROWS;
  const loop = loopCost(C, items, m, k, n);
  if (items <= 1 || (k > LOOP_BLOCK && m < minRows)) return { route: 'loop', costNs: loop };
  const moved = C.copyPerElement * items * (m * k + k * n + m * n) + 3 * C.perOp;
  const direct =
    (transposeA ? transposeCost(C, k, m, items) : 0) +
    (transposeB ? transposeCost(C, n, k, items) : 0) +
    moved +
    items * (xnnCost(C, m, k, n) - C.perOp + C.perItem);
  const swapped =
    (transposeB ? 0 : transposeCost(C, k, n, items)) +
    (transposeA ? 0 : transposeCost(C, m, k, items)) +
    moved +
    items * (xnnCost(C, n, k, m) - C.perOp + C.perItem) +
    transposeCost(C, n, m, items);
  const best = Math.min(loop, direct, swapped);
  if (best === loop) return { route: 'loop', costNs: loop };
  return best === direct
    ? { route: 'items', costNs: direct }
    : { route: 'items-swapped', costNs: swapped };
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** `[M, K, N]` of `op(A) op(B)` and the broadcast batch shape; throws a ShapeError on a mismatch. */
export function matMulShapes(
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
): { batch: number[]; m: number; k: number; n: number } {
  const what = () =>
    `matMul: A ${fmt(aShape)}${transposeA ? '^T' : ''} x B ${fmt(bShape)}${transposeB ? '^T' : ''}`;
  if (aShape.length < 2 || bShape.length < 2) {
    throw new ShapeError(`${what()}: both operands need rank >= 2`);
  }
  const [ra, ca] = aShape.slice(-2);
  const [rb, cb] = bShape.slice(-2);
  const [m, k] = transposeA ? [ca, ra] : [ra, ca];
  const [k2, n] = transposeB ? [cb, rb] : [rb, cb];
  if (k !== k2) throw new ShapeError(`${what()}: inner sizes ${k} and ${k2} differ`);
  let batch: number[];
  try {
    batch = tf.broadcast_util.assertAndGetBroadcastShape(aShape.slice(0, -2), bShape.slice(0, -2));
  } catch {
    throw new ShapeError(`${what()}: batch dimensions do not broadcast`);
  }
  return { batch, m, k, n };
}

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** The route of `op(A) op(B)` for these shapes on wasm. Throws a ShapeError when they do not fit. */
export function planMatMul(
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA = false,
  transposeB = false,
  options: PlanOptions = {},
): MatMulPlan {
  const C = options.cost ?? MATMUL_COST;
  const { batch, m, k, n } = matMulShapes(aShape, bShape, transposeA, transposeB);
  const items = size(batch);
  const [nA, nB] = [size(aShape.slice(0, -2)), size(bShape.slice(0, -2))];
  const base = { batch, items, m, k, n, broadcast: false };
  if (items === 1)
    return { ...base, layout: 'single', ...plan2d(m, k, n, transposeA, transposeB, C) };
  if (nB === 1) {
    // Rows of every item stacked: [items*M, K] x op(B); A^T items are transposed first.
    const p = plan2d(items * m, k, n, false, transposeB, C);
    const pre = transposeA ? transposeCost(C, k, m, items) : 0;
    return { ...base, layout: 'fold-rows', route: p.route, costNs: p.costNs + pre };
  }
  if (nA === 1) {
    // Columns of every item side by side: op(A) x [K, items*N], then [M, items, N] -> [items, M, N].
    const p = plan2d(m, k, items * n, transposeA, transposeB, C);
    const pre = transposeB || k === 1 ? 0 : C.perOp + C.transposePerElement * items * k * n;
    const post = m === 1 ? 0 : C.perOp + C.transposePerElement * items * m * n;
    return { ...base, layout: 'fold-columns', route: p.route, costNs: p.costNs + pre + post };
  }
  const broadcast = nA !== items || nB !== items;
  const p = planBatched(items, m, k, n, transposeA, transposeB, options);
  return { ...base, layout: 'batched', broadcast, ...p };
}

/**
 * True when `items` products of `rows` rows each may run one by one on the active
 * backend (wasm, `rows >= LOOP_MIN_ROWS`), for callers that split a computation
 * around products themselves. (`matMul` decides this on its own; sdpa.ts, its
 * former caller, now leaves it to `matMul`.)
 */
export function preferPerItem(items: number, rows: number): boolean {
  return items > 1 && rows >= LOOP_MIN_ROWS && tf.getBackend() === 'wasm';
}
