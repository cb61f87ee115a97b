// `matmul_routes`: tf.matMul against the routed `matMul` of src/ops, forward and
// forward + backward (gradients w.r.t. both operands), on the products that
// dominate our models: a Linear layer `x W^T`, a wide feed-forward product whose
// backward needs the transposed products, and a batched attention product.
// `speedup` = tf.matMul time / routed time (> 1: the router is faster).
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { matMul, planMatMul } from '../src/ops/index.js';
import { round, time } from './timing.js';

interface Product {
  name: string;
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
}

const PRODUCTS: Product[] = [
  {
    name: 'linear_x[128,768]_Wt[768,768]',
    a: [128, 768],
    b: [768, 768],
    transposeA: false,
    transposeB: true,
  },
  {
    name: 'ffn_x[4096,256]_W[256,1024]',
    a: [4096, 256],
    b: [256, 1024],
    transposeA: false,
    transposeB: false,
  },
  {
    name: 'attention_[64,128,32]x[64,32,128]',
    a: [64, 128, 32],
    b: [64, 32, 128],
    transposeA: false,
    transposeB: false,
  },
];

export interface RouteTiming {
  tf_ms: number;
  routed_ms: number;
  speedup: number;
}

export interface MatmulRouteResult {
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
  /** Layout and route the router takes on this backend (wasm: see src/ops/matmul-plan.ts). */
  plan: string;
  forward: RouteTiming;
  forward_backward: RouteTiming;
}

type MatMulFn = (a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean) => Tensor;

/** Median times of `product` through `f`: forward, and forward + both gradients. */
async function measure(p: Product, f: MatMulFn, reps: number, a: Tensor, b: Tensor) {
  const forward = await time(() => {
    const y = f(a, b, p.transposeA, p.transposeB);
    y.dataSync();
    y.dispose();
  }, reps);
  const backward = await time(
    () => {
      const grads = tf.grads((x: Tensor, y: Tensor) => tf.sum(f(x, y, p.transposeA, p.transposeB)));
      const [ga, gb] = grads([a, b]);
      ga.dataSync();
      gb.dataSync();
      tf.dispose([ga, gb]);
    },
    reps,
    1,
  );
  return { forward: forward.median_ms, backward: backward.median_ms };
}

/**
 * Time every product with tf.matMul and with the router (`reps` repetitions each;
 * the tf.matMul backward on wasm takes seconds, so it gets at most 3).
 */
export async function benchMatmulRoutes(reps = 7): Promise<Record<string, MatmulRouteResult>> {
  const out: Record<string, MatmulRouteResult> = {};
  for (const p of PRODUCTS) {
    const a = tf.randomNormal(p.a, 0, 1, 'float32', 1);
    const b = tf.randomNormal(p.b, 0, 1, 'float32', 2);
    const plan = planMatMul(p.a, p.b, p.transposeA, p.transposeB);
    const base = await measure(
      p,
      (x, y, tA, tB) => tf.matMul(x, y, tA, tB),
      Math.min(reps, 3),
      a,
      b,
    );
    const routed = await measure(p, matMul, reps, a, b);
    const timing = (t: number, r: number): RouteTiming => ({
      tf_ms: t,
      routed_ms: r,
      speedup: round(t / r, 2),
    });
    out[p.name] = {
      a: p.a,
      b: p.b,
      transposeA: p.transposeA,
      transposeB: p.transposeB,
      plan: tf.getBackend() === 'wasm' ? `${plan.layout}/${plan.route}` : 'tf.matMul',
      forward: timing(base.forward, routed.forward),
      forward_backward: timing(base.backward, routed.backward),
    };
    tf.dispose([a, b]);
  }
  return out;
}
