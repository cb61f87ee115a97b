// The routed matrix product (src/ops): values equal tf.matMul (on explicitly
// broadcast operands) for every transpose combination, ranks 2-4, broadcast batch
// dimensions and every route and layout; gradients w.r.t. both operands equal
// tf.grads of that reference and finite differences; the planner crosses every
// threshold; on wasm every XNNPACK route gives the same bits; the stored weight
// transpose; shape errors; no leaks. Runs on any backend (`matMulRouted` forces
// the wasm routes everywhere).
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { ConfigError, ShapeError } from '../../src/errors.js';
import {
  LOOP_BLOCK,
  LOOP_MIN_ROWS,
  TransposeCache,
  matMul,
  matMulRouted,
  matMulShapes,
  matMulWeightT,
  planMatMul,
} from '../../src/ops/index.js';
import type { MatMulRoute } from '../../src/ops/index.js';
import { expectClose, expectNoLeak, setupBackend, values } from '../helpers.js';

let backend = '';
beforeAll(async () => {
  backend = await setupBackend();
});

/** `[...batch, M, K]` x `[...batch, K, N]` as stored for the transpose flags. */
interface Case {
  a: number[];
  b: number[];
  tA: boolean;
  tB: boolean;
}

/** Operand shapes of `op(A) [..aBatch, M, K] x op(B) [..bBatch, K, N]` for all four flag pairs. */
function cases(aBatch: number[], bBatch: number[], m: number, k: number, n: number): Case[] {
  return [false, true].flatMap((tA) =>
    [false, true].map((tB) => ({
      a: [...aBatch, ...(tA ? [k, m] : [m, k])],
      b: [...bBatch, ...(tB ? [n, k] : [k, n])],
      tA,
      tB,
    })),
  );
}

const SHAPES: [string, Case[]][] = [
  ['2-D tiny', cases([], [], 1, 8, 8)],
  ['2-D inner 1', cases([], [], 3, 1, 4)],
  ['2-D vector result', cases([], [], 1, 70, 1)],
  ['2-D k > LOOP_BLOCK', cases([], [], 5, 64, 7)],
  ['2-D larger', cases([], [], 130, 96, 60)],
  ['batched small (loop)', cases([4], [4], 5, 8, 6)],
  ['batched, k <= LOOP_BLOCK, many items', cases([40], [40], 32, 16, 32)],
  ['batched, k > LOOP_BLOCK, rows >= LOOP_MIN_ROWS', cases([3], [3], 64, 80, 40)],
  ['batched, k > LOOP_BLOCK, rows < LOOP_MIN_ROWS', cases([3], [3], 20, 80, 40)],
  ['rank 4', cases([2, 3], [2, 3], 50, 16, 50)],
  ['rank 4 x rank 2 (fold rows)', cases([2, 3], [], 5, 8, 6)],
  ['rank 2 x rank 4 (fold columns)', cases([], [2, 3], 5, 8, 6)],
  ['rank 3 x batch-1 rank 3', cases([4], [1], 5, 60, 6)],
  ['batch-1 rank 3 x rank 3', cases([1], [4], 1, 60, 6)],
  ['partly broadcast rank 4', cases([2, 1], [1, 3], 5, 8, 6)],
  ['rank 3 x rank 4, broadcast', cases([3], [2, 3], 4, 8, 5)],
];

/** tf.matMul on operands broadcast to the full batch (tfjs 4.22 gets partial broadcasts wrong). */
function reference(a: Tensor, b: Tensor, tA: boolean, tB: boolean): Tensor {
  const { batch } = matMulShapes(a.shape, b.shape, tA, tB);
  const full = (x: Tensor) =>
    batch.length === 0 ? x : tf.broadcastTo(x, [...batch, ...(x.shape.slice(-2) as number[])]);
  return tf.matMul(full(a), full(b), tA, tB);
}

function operands(c: Case, seed: number): [Tensor, Tensor] {
  return [
    tf.randomNormal(c.a, 0, 1, 'float32', seed),
    tf.randomNormal(c.b, 0, 1, 'float32', seed + 1),
  ];
}

/** Routes `matMulRouted` accepts for a case. */
function routesOf(c: Case): MatMulRoute[] {
  const p = planMatMul(c.a, c.b, c.tA, c.tB);
  return p.layout === 'batched'
    ? ['loop', 'items', 'items-swapped']
    : ['xnn', 'xnn-swapped', 'loop'];
}

const label = (c: Case) => `[${c.a}]${c.tA ? 'ᵀ' : ''} x [${c.b}]${c.tB ? 'ᵀ' : ''}`;

describe('matMul values', () => {
  for (const [name, list] of SHAPES) {
    it(`${name}: matMul and every route equal tf.matMul`, () => {
      list.forEach((c, i) => {
        tf.tidy(() => {
          const [a, b] = operands(c, 10 * i + 1);
          const ref = reference(a, b, c.tA, c.tB);
          const check = (y: Tensor, what: string) => {
            expect(y.shape, `${label(c)} ${what}`).toEqual(ref.shape);
            expectClose(values(y), values(ref), 1e-4, 1e-4);
          };
          check(matMul(a, b, c.tA, c.tB), 'matMul');
          check(matMulRouted(a, b, c.tA, c.tB), 'planned route');
          for (const r of routesOf(c)) check(matMulRouted(a, b, c.tA, c.tB, r), r);
        });
      });
    });
  }

  it('gives right values when the same data is a right operand under two shapes', () => {
    // tfjs-backend-wasm caches XNNPACK's packing per data, not per shape (matmul.ts):
    // tf.matMul itself would reuse the [8, 1] packing for the second product.
    tf.tidy(() => {
      const v = tf.randomNormal([1, 8], 0, 1, 'float32', 2);
      const [x, y] = [tf.randomNormal([3, 8]), tf.randomNormal([5, 1])];
      const first = matMul(x, tf.reshape(v, [8, 1])); // v's data as [8, 1]
      const second = matMul(y, v); // ... then as [1, 8]
      expectClose(values(first), values(tf.sum(tf.mul(x, v), 1, true)), 1e-5, 1e-5);
      expectClose(values(second), values(tf.mul(y, v)), 1e-5, 1e-5);
    });
  });

  it('multiplies a tensor by itself (the same tensor as both operands)', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([6, 70], 0, 1, 'float32', 3);
      expectClose(
        values(matMul(x, x, false, true)),
        values(tf.matMul(x, x, false, true)),
        1e-4,
        1e-4,
      );
      const g = tf.grad((t: Tensor) => tf.sum(matMul(t, t, false, true)))(x);
      const r = tf.grad((t: Tensor) => tf.sum(tf.matMul(t, t, false, true)))(x);
      expectClose(values(g), values(r), 1e-3, 1e-4);
    });
  });
});

describe('matMul gradients', () => {
  for (const [name, list] of SHAPES) {
    it(`${name}: d/dA and d/dB equal tf.grads of the reference (every route)`, () => {
      list.forEach((c, i) => {
        tf.tidy(() => {
          const [a, b] = operands(c, 10 * i + 3);
          const { batch, m, n } = matMulShapes(c.a, c.b, c.tA, c.tB);
          const w = tf.randomNormal([...batch, m, n], 0, 1, 'float32', 7); // a non-uniform dy
          const loss = (f: (x: Tensor, y: Tensor) => Tensor) => (x: Tensor, y: Tensor) =>
            tf.sum(tf.mul(f(x, y), w));
          const [rA, rB] = tf.grads(loss((x, y) => reference(x, y, c.tA, c.tB)))([a, b]);
          const check = (f: (x: Tensor, y: Tensor) => Tensor, what: string) => {
            const [gA, gB] = tf.grads(loss(f))([a, b]);
            expect([gA.shape, gB.shape], `${label(c)} ${what}`).toEqual([c.a, c.b]);
            expectClose(values(gA), values(rA), 1e-3, 1e-4);
            expectClose(values(gB), values(rB), 1e-3, 1e-4);
          };
          check((x, y) => matMul(x, y, c.tA, c.tB), 'matMul');
          for (const r of routesOf(c)) check((x, y) => matMulRouted(x, y, c.tA, c.tB, r), r);
        });
      });
    });
  }

  it('match finite differences on small cases (2-D and broadcast)', () => {
    const small: Case[] = [...cases([], [], 2, 3, 4), ...cases([2, 1], [3], 2, 3, 2)];
    for (const c of small) {
      const [a, b] = operands(c, 5);
      const { batch, m, n } = matMulShapes(c.a, c.b, c.tA, c.tB);
      const w = tf.randomNormal([...batch, m, n], 0, 1, 'float32', 9);
      const loss = (x: Tensor, y: Tensor) => tf.sum(tf.mul(matMulRouted(x, y, c.tA, c.tB), w));
      const [gA, gB] = tf.grads(loss)([a, b]);
      const eps = 1e-2;
      const numeric = (t: Tensor, which: 0 | 1): number[] => {
        const base = t.dataSync().slice();
        return Array.from(base, (_, j) => {
          const at = (d: number) =>
            tf.tidy(() => {
              const v = base.slice();
              v[j] += d;
              const moved = tf.tensor(v, t.shape);
              return (which === 0 ? loss(moved, b) : loss(a, moved)).dataSync()[0];
            });
          return (at(eps) - at(-eps)) / (2 * eps);
        });
      };
      expectClose(values(gA), numeric(a, 0), 2e-3, 2e-3);
      expectClose(values(gB), numeric(b, 1), 2e-3, 2e-3);
      tf.dispose([a, b, w, gA, gB]);
    }
  });
});

describe('route planning', () => {
  it('crosses every layout and route over the test shapes', () => {
    const seen = new Set<string>();
    for (const [, list] of SHAPES) {
      for (const c of list) {
        const p = planMatMul(c.a, c.b, c.tA, c.tB);
        seen.add(p.layout);
        seen.add(`${p.layout === 'batched' ? 'batched' : '2d'}:${p.route}`);
      }
    }
    for (const want of [
      'single',
      'fold-rows',
      'fold-columns',
      'batched',
      '2d:xnn',
      '2d:xnn-swapped',
      '2d:loop',
      'batched:loop',
    ]) {
      expect(seen, want).toContain(want);
    }
    expect(seen.has('batched:items') || seen.has('batched:items-swapped')).toBe(true);
  });

  it('takes per-item products for k > LOOP_BLOCK only from LOOP_MIN_ROWS rows', () => {
    const rows = (m: number) => planMatMul([8, m, 64], [8, 64, 64]).route;
    expect(LOOP_BLOCK).toBe(48);
    expect(rows(LOOP_MIN_ROWS - 1)).toBe('loop');
    expect(rows(128)).toMatch(/^items/);
    // With k <= LOOP_BLOCK the loop sums as XNNPACK does, so the cost alone decides.
    expect(planMatMul([64, 16, 32], [64, 32, 128]).route).toMatch(/^items/);
    expect(planMatMul([64, 1, 32], [64, 32, 128]).route).toBe('loop');
  });

  it('never transposes the weight of x W^T (the swapped route) and uses XNNPACK for 2-D k > LOOP_BLOCK', () => {
    for (const m of [1, 4, 16, 128]) {
      expect(planMatMul([m, 768], [768, 768], false, true).route).toBe('xnn-swapped');
    }
    for (const c of cases([], [], 1, 49, 3))
      expect(planMatMul(c.a, c.b, c.tA, c.tB).route).not.toBe('loop');
    expect(planMatMul([128, 768], [768, 768]).route).toBe('xnn');
    expect(planMatMul([2, 3, 5, 8], [8, 6]).layout).toBe('fold-rows');
    expect(planMatMul([5, 8], [2, 3, 8, 6]).layout).toBe('fold-columns');
    expect(planMatMul([2, 1, 5, 8], [1, 3, 8, 6])).toMatchObject({
      layout: 'batched',
      broadcast: true,
    });
  });

  it('rejects shapes that do not fit, and routes that do not fit the layout', () => {
    const [a, b, v] = [tf.zeros([2, 3]), tf.zeros([4, 5]), tf.zeros([3])];
    expect(() => matMul(a, b)).toThrow(ShapeError);
    expect(() => matMul(v, a)).toThrow(ShapeError);
    expect(() => planMatMul([2, 3, 4], [5, 4, 6])).toThrow(/broadcast/);
    const c = tf.zeros([3, 2]);
    expect(() => matMulRouted(a, c, false, false, 'items')).toThrow(ConfigError);
    tf.dispose([a, b, v, c]);
  });
});

describe('matMul numerics on wasm', () => {
  it('every XNNPACK route (and the loop for k <= LOOP_BLOCK) gives the same bits', () => {
    if (backend !== 'wasm') return;
    tf.tidy(() => {
      for (const c of [...cases([6], [6], 50, 70, 30), ...cases([6], [6], 50, 40, 30)]) {
        const [a, b] = operands(c, 11);
        const k = c.tA ? c.a[1] : c.a[2];
        const routes: MatMulRoute[] =
          k <= LOOP_BLOCK ? ['items', 'items-swapped', 'loop'] : ['items', 'items-swapped'];
        const all = routes.map((r) => values(matMulRouted(a, b, c.tA, c.tB, r)));
        for (const v of all.slice(1)) expect(v).toEqual(all[0]);
        // One 2-D product of item 0 by either 2-D route: the same bits again.
        const [a0, b0] = [tf.slice(a, [0, 0, 0], [1, -1, -1]), tf.slice(b, [0, 0, 0], [1, -1, -1])];
        for (const r of ['xnn', 'xnn-swapped'] as const) {
          const y = matMulRouted(tf.squeeze(a0, [0]), tf.squeeze(b0, [0]), c.tA, c.tB, r);
          expect(values(y)).toEqual(all[0].slice(0, y.size));
        }
      }
    });
  });

  it('a row of x W^T does not depend on the other rows (decoding = forward)', () => {
    if (backend !== 'wasm') return;
    tf.tidy(() => {
      const x = tf.randomNormal([40, 96], 0, 1, 'float32', 1);
      const w = tf.randomNormal([80, 96], 0, 1, 'float32', 2);
      const full = values(matMul(x, w, false, true));
      for (const [from, rows] of [
        [0, 1],
        [7, 1],
        [3, 6],
        [0, 40],
      ]) {
        const part = values(matMul(tf.slice(x, [from, 0], [rows, 96]), w, false, true));
        expect(part).toEqual(full.slice(from * 80, (from + rows) * 80));
      }
    });
  });
});

describe('matMulWeightT and TransposeCache', () => {
  it('equals matMul(x, w, false, true) with and without the cache, values and gradients', () => {
    const cache = new TransposeCache();
    const w = tf.tidy(() => tf.variable(tf.randomNormal([30, 70], 0, 1, 'float32', 4)));
    const x = tf.randomNormal([2, 5, 70], 0, 1, 'float32', 5);
    tf.tidy(() => {
      const ref = tf.reshape(tf.matMul(tf.reshape(x, [10, 70]), w, false, true), [2, 5, 30]);
      const plain = matMulWeightT(x, w);
      const cached = matMulWeightT(x, w, cache);
      expect(cached.shape).toEqual([2, 5, 30]);
      expectClose(values(cached), values(ref), 1e-4, 1e-4);
      if (backend === 'wasm') expect(values(cached)).toEqual(values(plain));
      const loss = (f: (a: Tensor, b: Tensor) => Tensor) => (a: Tensor, b: Tensor) =>
        tf.sum(tf.square(f(a, b)));
      const [rx, rw] = tf.grads(loss((a, b) => tf.matMul(tf.reshape(a, [10, 70]), b, false, true)))(
        [x, w],
      );
      const [gx, gw] = tf.grads(loss((a, b) => matMulWeightT(a, b, cache)))([x, w]);
      expectClose(values(gx), values(tf.reshape(rx, [2, 5, 70])), 1e-3, 1e-4);
      expectClose(values(gw), values(rw), 1e-3, 1e-4);
    });
    // The cache follows the weight's data: after assign the new values are used.
    tf.tidy(() => w.assign(tf.mul(w, 2)));
    tf.tidy(() => {
      const again = matMulWeightT(x, w, cache);
      expectClose(values(again), values(matMul(x, w, false, true)), 1e-4, 1e-4);
    });
    cache.dispose();
    tf.dispose([w, x]);
  });
});

describe('matMul memory', () => {
  it('leaks no tensors: forward, every route, gradients, the cache', async () => {
    const [a, b] = [tf.randomNormal([3, 64, 80]), tf.randomNormal([3, 40, 80])];
    const w = tf.randomNormal([30, 80]);
    await expectNoLeak(() => {
      tf.dispose(matMul(a, b, false, true));
      for (const r of ['loop', 'items', 'items-swapped'] as const) {
        tf.dispose(matMulRouted(a, b, false, true, r));
      }
      tf.dispose(tf.grads((x: Tensor, y: Tensor) => tf.sum(matMul(x, y, false, true)))([a, b]));
      tf.dispose(
        tf.grads((x: Tensor, y: Tensor) => tf.sum(matMulRouted(x, y, false, true, 'items')))([
          a,
          b,
        ]),
      );
      const [x3, w2] = [tf.zeros([2, 5, 8]), tf.ones([8, 3])];
      tf.dispose(tf.grads((x: Tensor, y: Tensor) => tf.sum(matMul(x, y)))([x3, w2]));
      tf.dispose([x3, w2]);
      const cache = new TransposeCache();
      tf.dispose(tf.tidy(() => matMulWeightT(tf.reshape(a, [-1, 80]), w, cache)));
      cache.dispose();
    });
    tf.dispose([a, b, w]);
  });
});
