// The one matrix product of snnlm: `matMul(a, b, transposeA, transposeB)`, with
// tf.matMul's meaning (rank >= 2, batch dimensions broadcast), routed to the fast
// kernel of the backend.
// - wasm: the route of matmul-plan.ts (explicit transposes and plain 2-D XNNPACK
//   products, shared operands folded into one 2-D product, per-item products for
//   large batched items), inside a `tf.customGrad` whose backward runs through
//   the same router: dA = dy op(B)^T and dB = op(A)^T dy, summed over broadcast
//   batch dimensions. tfjs's own gradient of BatchMatMul uses transposed products,
//   the slow loop on wasm.
// - other backends (cpu, tensorflow): tf.matMul itself, whose kernels take the
//   transposes at no cost (cpu, measured: [128,768]x[768,768]^T 178 ms with
//   `transposeB`, 177 ms plain, 203 ms after an explicit transpose), so neither the
//   routes nor a custom gradient help there.
// On every backend the router also fixes two tfjs 4.22 gaps with broadcast batch
// dimensions: a partly broadcast product ([2,1,M,K] x [1,3,K,N]) gives wrong
// values, and the gradient of any broadcast product throws (shape mismatch). Here
// broadcast operands are folded, or copied to the full batch, and their gradients
// summed back.
// NOTE: tf.customGrad computes the gradients of both operands even when only one
// is needed (a constant operand costs one extra product in the backward).
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ConfigError } from '../errors.js';
import { matMulShapes, planMatMul } from './matmul-plan.js';
import type { MatMulPlan, MatMulRoute } from './matmul-plan.js';

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** `x^T` of a 2-D `x` `[r, c]` -> `[c, r]`; a reshape when a side is 1. */
function t2(x: Tensor): Tensor {
  const [r, c] = x.shape as [number, number];
  return r === 1 || c === 1 ? tf.reshape(x, [c, r]) : tf.transpose(x);
}

/** `[B, r, c]` -> `[B, c, r]`; a reshape when `r` or `c` is 1. */
function t3(x: Tensor): Tensor {
  const [b, r, c] = x.shape as [number, number, number];
  return r === 1 || c === 1 ? tf.reshape(x, [b, c, r]) : tf.transpose(x, [0, 2, 1]);
}

/** The shape each tensor data was packed with as a right operand on wasm, by `dataId`. */
const packedAs = new WeakMap<object, string>();

/**
 * `x` ready to be the right operand of a plain XNNPACK product. NOTE: tfjs-backend-
 * wasm caches XNNPACK's packing of the right operand per tensor DATA, not per shape,
 * so data met before under another shape (a reshape: `dy [1, N]` is a right operand
 * as `[N, 1]` for dA and as `[1, N]` for dB) would be multiplied with the stale
 * packing and give wrong values. Such an operand is copied first.
 */
function rightOperand(x: Tensor): Tensor {
  if (tf.getBackend() !== 'wasm') return x;
  const key = x.shape.join(',');
  const seen = packedAs.get(x.dataId);
  if (seen === key) return x;
  const y = seen === undefined ? x : tf.mul(x, 1); // a copy with data of its own
  packedAs.set(y.dataId, key);
  return y;
}

/** One plain 2-D product on XNNPACK (wasm). */
function xnn(a: Tensor, b: Tensor): Tensor {
  return tf.matMul(a, rightOperand(b));
}

/** One 2-D product `op(a) op(b)` by a 2-D route. */
function run2d(a: Tensor, b: Tensor, tA: boolean, tB: boolean, route: MatMulRoute): Tensor {
  switch (route) {
    case 'xnn':
      return xnn(tA ? t2(a) : a, tB ? t2(b) : b); // [M, N]
    case 'xnn-swapped':
      return t2(xnn(tB ? b : t2(b), tA ? a : t2(a))); // ([N, M])^T = [M, N]
    default:
      return tf.matMul(a, b, tA, tB); // [M, N], the loop (k <= LOOP_BLOCK)
  }
}

/**
 * The items of `x` `[n, r, c]` as n tensors `[r, c]`, read once: slicing a wasm
 * tensor copies all of it per slice (matmul-plan.ts). No gradient (runs inside
 * the custom gradient of `matMulRouted`).
 */
function splitItems(x: Tensor): Tensor[] {
  const [n, r, c] = x.shape as [number, number, number];
  const values = x.dataSync() as Float32Array; // wasm: a copy, so views of it are safe
  const view = tf.getBackend() === 'wasm';
  const step = r * c;
  return Array.from({ length: n }, (_, i) => {
    const [from, to] = [i * step, (i + 1) * step];
    return tf.tensor2d(
      view ? values.subarray(from, to) : values.slice(from, to),
      [r, c],
      'float32',
    );
  });
}

/** `[n, r, k] x [n, k, c]` -> `[n, r, c]`, one plain 2-D (XNNPACK) product per item. */
function runItems(l: Tensor, r: Tensor): Tensor {
  const ls = splitItems(l);
  const rs = splitItems(r);
  return tf.stack(ls.map((li, i) => tf.matMul(li, rs[i]))); // [n, r, c]; fresh right operands
}

/** `x` as a 2-D `[r, c]` (x has leading 1s at most). */
function to2d(x: Tensor, r: number, c: number): Tensor {
  return x.rank === 2 ? x : tf.reshape(x, [r, c]);
}

/** `op(a) op(b)` `[...batch, M, N]` by `plan`, without a gradient of its own. */
function forward(a: Tensor, b: Tensor, tA: boolean, tB: boolean, plan: MatMulPlan): Tensor {
  const { batch, items, m, k, n, route } = plan;
  const [ra, ca] = a.shape.slice(-2) as [number, number];
  const [rb, cb] = b.shape.slice(-2) as [number, number];
  const out = [...batch, m, n];
  switch (plan.layout) {
    case 'single': {
      const y = run2d(to2d(a, ra, ca), to2d(b, rb, cb), tA, tB, route); // [M, N]
      return batch.length === 0 ? y : tf.reshape(y, out); // [...1, M, N]
    }
    case 'fold-rows': {
      const a3 = tf.reshape(a, [items, ra, ca]); // [items, ra, ca]
      const rows = tf.reshape(tA ? t3(a3) : a3, [items * m, k]); // [items*M, K]
      return tf.reshape(run2d(rows, to2d(b, rb, cb), false, tB, route), out);
    }
    case 'fold-columns': {
      const b3 = tf.reshape(b, [items, rb, cb]); // [items, rb, cb]
      const cols = tB
        ? tf.reshape(b3, [items * n, k]) // rows of every B_i: [items*N, K], used transposed
        : tf.reshape(k === 1 ? b3 : tf.transpose(b3, [1, 0, 2]), [k, items * n]); // [K, items*N]
      const y = tf.reshape(run2d(to2d(a, ra, ca), cols, tA, tB, route), [m, items, n]);
      return tf.reshape(m === 1 ? y : tf.transpose(y, [1, 0, 2]), out); // [...batch, M, N]
    }
    case 'batched': {
      const full = (x: Tensor, r: number, c: number) =>
        tf.reshape(size(x.shape.slice(0, -2)) === items ? x : tf.broadcastTo(x, [...batch, r, c]), [
          items,
          r,
          c,
        ]);
      const a3 = full(a, ra, ca); // [items, ra, ca]
      const b3 = full(b, rb, cb); // [items, rb, cb]
      let y: Tensor;
      if (route === 'items') y = runItems(tA ? t3(a3) : a3, tB ? t3(b3) : b3);
      else if (route === 'items-swapped') y = t3(runItems(tB ? b3 : t3(b3), tA ? a3 : t3(a3)));
      else y = tf.matMul(a3, b3, tA, tB); // the loop
      return tf.reshape(y, out); // [...batch, M, N]
    }
  }
}

/** Sum `g` over the axes `shape` broadcast from, then give it `shape`. */
function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return tf.reshape(axes.length > 0 ? tf.sum(g, axes) : g, shape as number[]);
}

/** A product of the backward: routed, without the LOOP_MIN_ROWS floor of exact decoding. */
function backwardProduct(a: Tensor, b: Tensor, tA: boolean, tB: boolean): Tensor {
  return routed(a, b, tA, tB, planMatMul(a.shape, b.shape, tA, tB, { minRows: 0 }));
}

/** Gradients of `op(a) op(b)` w.r.t. a and b, every product routed. */
function gradients(dy: Tensor, a: Tensor, b: Tensor, tA: boolean, tB: boolean, plan: MatMulPlan) {
  const mm = backwardProduct;
  const da = tA ? mm(b, dy, tB, true) : mm(dy, b, false, !tB);
  let db: Tensor;
  if (plan.layout === 'fold-rows' && !tA && size(b.shape.slice(0, -2)) === 1) {
    // B shared by every item: sum_i A_i^T dy_i is one product over the stacked rows.
    const rows = tf.reshape(a, [-1, plan.k]); // [items*M, K]
    const dys = tf.reshape(dy, [-1, plan.n]); // [items*M, N]
    db = tB ? mm(dys, rows, true, false) : mm(rows, dys, true, false);
  } else {
    db = tB ? mm(dy, a, true, tA) : mm(a, dy, !tA, false);
  }
  return [sumTo(da, a.shape), sumTo(db, b.shape)];
}

/**
 * `op(a) op(b)` by `plan`, inside a custom gradient whose products are routed too
 * while gradients are being recorded (without a tape, the custom gradient's ~15 us
 * per call are saved).
 */
function routed(a: Tensor, b: Tensor, tA: boolean, tB: boolean, plan: MatMulPlan): Tensor {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.size === 0 || b.size === 0) {
    return matMulDirect(a, b, tA, tB);
  }
  if (!tf.engine().isTapeOn()) return tf.tidy(() => forward(a, b, tA, tB, plan));
  const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const [x, y, save] = args as [Tensor, Tensor, tf.GradSaveFunc];
    save([x, y]);
    return {
      value: forward(x, y, tA, tB, plan),
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => gradients(dy, saved[0], saved[1], tA, tB, plan)),
    };
  });
  return op(a, b);
}

/** tf.matMul, with broadcast batch dimensions made right (values and gradients). */
function matMulDirect(a: Tensor, b: Tensor, tA: boolean, tB: boolean): Tensor {
  const { batch, m, k, n } = matMulShapes(a.shape, b.shape, tA, tB);
  const [batchA, batchB] = [a.shape.slice(0, -2), b.shape.slice(0, -2)];
  if (sameShape(batchA, batchB)) return tf.matMul(a, b, tA, tB);
  const items = size(batch);
  const [ra, ca] = a.shape.slice(-2) as [number, number];
  const [rb, cb] = b.shape.slice(-2) as [number, number];
  if (size(batchB) === 1 && !tA) {
    const y = tf.matMul(tf.reshape(a, [items * m, k]), tf.reshape(b, [rb, cb]), false, tB);
    return tf.reshape(y, [...batch, m, n]); // [...batch, M, N]
  }
  const full = (x: Tensor, r: number, c: number, xBatch: number[]) =>
    size(xBatch) === items ? tf.reshape(x, [...batch, r, c]) : tf.broadcastTo(x, [...batch, r, c]);
  return tf.matMul(full(a, ra, ca, batchA), full(b, rb, cb, batchB), tA, tB);
}

const ROUTES_2D: readonly MatMulRoute[] = ['xnn', 'xnn-swapped', 'loop'];
const ROUTES_BATCHED: readonly MatMulRoute[] = ['loop', 'items', 'items-swapped'];

/**
 * The wasm route of `op(a) op(b)` on any backend (`matMul` calls it on wasm; tests
 * and benchmarks call it directly), with a custom gradient that routes the
 * backward. Same contract as `matMul`. `route` forces the forward's route (one of
 * `xnn`, `xnn-swapped`, `loop` for a 2-D or folded layout, `loop`, `items`,
 * `items-swapped` for a batched one; the backward plans its own). Non-float32 or
 * empty operands go to tf.matMul.
 */
export function matMulRouted(
  a: Tensor,
  b: Tensor,
  transposeA = false,
  transposeB = false,
  route?: MatMulRoute,
): Tensor {
  let plan = planMatMul(a.shape, b.shape, transposeA, transposeB);
  if (route !== undefined) {
    const allowed = plan.layout === 'batched' ? ROUTES_BATCHED : ROUTES_2D;
    if (!allowed.includes(route)) {
      throw new ConfigError(
        `matMulRouted: route ${JSON.stringify(route)} does not fit the ${plan.layout} layout of [${a.shape.join(', ')}] x [${b.shape.join(', ')}]; use one of ${allowed.join(', ')}`,
      );
    }
    plan = { ...plan, route };
  }
  return routed(a, b, transposeA, transposeB, plan);
}

/**
 * `op(a) op(b)` as `tf.matMul(a, b, transposeA, transposeB)`: a `[..., M, K]` (or
 * `[..., K, M]` with `transposeA`), b `[..., K, N]` (or `[..., N, K]` with
 * `transposeB`), batch dimensions broadcast -> `[...batch, M, N]`. Routed to the
 * fast kernels on wasm (forward and backward, see the header); tf.matMul
 * elsewhere. Throws a ShapeError when the shapes do not fit.
 */
export function matMul(a: Tensor, b: Tensor, transposeA = false, transposeB = false): Tensor {
  if (tf.getBackend() === 'wasm') return matMulRouted(a, b, transposeA, transposeB);
  return matMulDirect(a, b, transposeA, transposeB);
}
