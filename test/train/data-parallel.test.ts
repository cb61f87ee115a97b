// Data-parallel gradients across worker threads: the token-weighted average of
// the shards equals the single-process gradient of the whole batch; k optimizer
// steps with 2 workers give the parameters of 1 worker and of one process; seeds
// make runs repeatable; a worker's exception, NaN or crash rejects with its
// message and closes the pool; close() leaves no worker thread alive.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdamW,
  DataParallelEngine,
  DataParallelError,
  optimizerStep,
  paramLayout,
  splitTokenBatch,
} from '../../src/train/index.js';
import type { DataParallelOptions, TokenBatch } from '../../src/train/index.js';
import { tf } from '../../src/tf.js';
import type { Variable } from '../../src/tf.js';
import { expectClose, rng, setupBackend } from '../helpers.js';
import { VOCAB, buildReplica } from './fixtures/data-parallel-task.js';

const TASK = new URL('./fixtures/data-parallel-task.ts', import.meta.url);

beforeAll(async () => {
  await setupBackend();
});

/** `rows` sequences of `n` ids drawn from `seed`. */
function tokens(rows: number, n: number, seed: number): TokenBatch {
  const r = rng(seed);
  const ids = Int32Array.from({ length: rows * n }, () => Math.floor(r() * VOCAB));
  return { ids, shape: [rows, n] };
}

async function snapshot(params: Iterable<readonly [string, Variable]>): Promise<number[][]> {
  const out: number[][] = [];
  for (const [, v] of params) out.push(Array.from(await v.data()));
  return out;
}

describe('splitTokenBatch and paramLayout', () => {
  it('splits whole rows as evenly as possible and never makes an empty shard', () => {
    const b = tokens(5, 3, 1);
    const parts = splitTokenBatch(b, 2);
    expect(parts.map((p) => p.shape)).toEqual([
      [3, 3],
      [2, 3],
    ]);
    expect([...parts[0].ids, ...parts[1].ids]).toEqual([...b.ids]);
    expect(splitTokenBatch(tokens(2, 3, 1), 4).map((p) => p.shape[0])).toEqual([1, 1]);
    expect(() => splitTokenBatch({ ids: new Int32Array(5), shape: [2, 3] }, 2)).toThrow(
      /5 ids do not fill shape \[2, 3\]/,
    );
  });

  it('lays trainable parameters end to end and skips the rest', () => {
    const a = tf.variable(tf.zeros([2, 3]));
    const frozen = tf.variable(tf.zeros([4]), false);
    const b = tf.variable(tf.zeros([5]));
    const layout = paramLayout([
      ['a', a],
      ['frozen', frozen],
      ['b', b],
    ]);
    expect(layout).toEqual([
      { name: 'a', shape: [2, 3], offset: 0, size: 6 },
      { name: 'b', shape: [5], offset: 6, size: 5 },
    ]);
    tf.dispose([a, frozen, b]);
  });
});

describe('DataParallelEngine', () => {
  let main: ReturnType<typeof buildReplica>;
  let two: DataParallelEngine;
  let one: DataParallelEngine;
  const opts = (workers: number): DataParallelOptions => ({ task: TASK, workers, seed: 11 });

  beforeAll(async () => {
    main = buildReplica();
    [two, one] = await Promise.all([
      DataParallelEngine.create(main.params, opts(2)),
      DataParallelEngine.create(main.params, opts(1)),
    ]);
  });

  afterAll(async () => {
    await Promise.all([two?.close(), one?.close()]);
    main?.dispose?.();
  });

  it('averages 2 uneven shards into the single-process gradient of the whole batch', async () => {
    const before = tf.memory().numTensors;
    const batch = tokens(5, 7, 2); // shards of 3 and 2 rows: weights 18 and 12
    const ref = await main.grads(batch, { step: 0, shard: 0, shards: 1, seed: 0 });
    const refValue = (await (ref.value as tf.Tensor).data())[0];
    const res = await two.valueAndGrads(splitTokenBatch(batch, 2));
    expect(res.shards.map((s) => s.weight)).toEqual([18, 12]);
    expect(res.weight).toBe(30);
    expect(res.finite).toBe(true);
    expect(res.value).toBeCloseTo(refValue, 5);
    // the shards' losses differ, so a plain mean would be wrong
    expect(Math.abs(res.shards[0].value - res.shards[1].value)).toBeGreaterThan(1e-3);
    const refGrads = ref.grads as Map<string, tf.Tensor>;
    expect([...res.grads.keys()].sort()).toEqual([...refGrads.keys()].sort());
    for (const [name, g] of refGrads) {
      expect(res.grads.get(name)?.shape).toEqual(g.shape);
      expectClose(await res.grads.get(name)!.data(), await g.data(), 1e-5, 1e-4);
    }
    tf.dispose([ref.value as tf.Tensor, ...refGrads.values(), ...res.grads.values()]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the parameters of 1 worker and of one process after 3 AdamW steps', async () => {
    const start = await snapshot(main.params);
    const batches = [0, 1, 2].map((s) => tokens(4, 6, 10 + s));
    const run = async (how: 'process' | DataParallelEngine): Promise<number[][]> => {
      main.model.namedParameters().forEach(([, v], i) => v.assign(tf.tensor(start[i], v.shape)));
      const opt = new AdamW(main.params, { lr: 0.05, weightDecay: 0.01 });
      for (let step = 0; step < batches.length; step++) {
        let grads: Map<string, tf.Tensor>;
        if (how === 'process') {
          const r = await main.grads(batches[step], { step, shard: 0, shards: 1, seed: 0 });
          tf.dispose(r.value as tf.Tensor);
          grads = r.grads as Map<string, tf.Tensor>;
        } else {
          const shards = splitTokenBatch(batches[step], how.world);
          grads = (await how.valueAndGrads(shards, { step })).grads;
        }
        await optimizerStep(opt, grads, { maxGradNorm: 1 });
        tf.dispose([...grads.values()]);
      }
      opt.dispose();
      return snapshot(main.params);
    };
    const inProcess = await run('process');
    const withOne = await run(one);
    const withTwo = await run(two);
    const moved = inProcess.flat().map((x, i) => Math.abs(x - start.flat()[i]));
    expect(Math.max(...moved)).toBeGreaterThan(1e-2);
    expectClose(withOne.flat(), inProcess.flat(), 1e-5, 0);
    expectClose(withTwo.flat(), withOne.flat(), 1e-5, 0);
  });

  it('is deterministic given the seed, and the seed reaches the shards', async () => {
    const batch = splitTokenBatch(tokens(2, 5, 3), 2).map((b) => ({ ...b, noise: true }));
    const a = await two.valueAndGrads(batch, { step: 4 });
    const b = await two.valueAndGrads(batch, { step: 4 });
    const c = await two.valueAndGrads(batch, { step: 5 });
    expect(b.value).toBe(a.value);
    expect(c.value).not.toBe(a.value);
    // no tensors leak in the workers from step to step
    expect(c.shards.map((s) => s.tensors)).toEqual(a.shards.map((s) => s.tensors));
    for (const [name, g] of a.grads) {
      expect(Array.from(await b.grads.get(name)!.data())).toEqual(Array.from(await g.data()));
    }
    tf.dispose([a, b, c].flatMap((r) => [...r.grads.values()]));
  });

  it('rejects more shards than workers', async () => {
    await expect(one.valueAndGrads(splitTokenBatch(tokens(2, 4, 1), 2))).rejects.toThrow(
      /got 2 shards; give 1 to 1/,
    );
  });

  it('rejects a non-finite shard by name, or flags it, and stays usable', async () => {
    const batch = splitTokenBatch(tokens(2, 4, 5), 2);
    const nan = [batch[0], { ...batch[1], fail: 'nan' }];
    const err = await two.valueAndGrads(nan, { step: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataParallelError);
    expect((err as Error).message).toMatch(
      /shard 1 of 2 at step 3: non-finite loss NaN and gradients of .*embed\.weight/,
    );
    const flagged = await two.valueAndGrads(nan, { onNonFinite: 'flag' });
    expect(flagged.finite).toBe(false);
    expect(flagged.value).toBeNaN();
    const ok = await two.valueAndGrads(batch);
    expect(ok.finite).toBe(true);
    tf.dispose([...flagged.grads.values(), ...ok.grads.values()]);
  });

  it("surfaces a worker's exception with its message and closes the pool", async () => {
    const batch = splitTokenBatch(tokens(2, 4, 5), 2);
    const bad = [batch[0], { ...batch[1], fail: 'throw' }];
    expect(two.liveWorkers).toBe(2);
    const err = await two.valueAndGrads(bad, { step: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataParallelError);
    expect((err as DataParallelError).message).toMatch(
      /failed on shard 1 of 2 at step 1: fixture failure at step 1/,
    );
    expect((err as DataParallelError).shard).toBe(1);
    expect(two.closed).toBe(true);
    expect(two.liveWorkers).toBe(0);
    await expect(two.valueAndGrads(batch)).rejects.toThrow(/fixture failure at step 1/);
  });

  it('surfaces a crashed worker and a task module without setup()', async () => {
    const noSetup = new URL('../../src/errors.ts', import.meta.url);
    const [crashing, failed] = await Promise.all([
      DataParallelEngine.create(main.params, opts(1)),
      DataParallelEngine.create(main.params, { task: noSetup, workers: 1 }).catch(
        (e: unknown) => e,
      ),
    ]);
    expect((failed as Error).message).toMatch(/exports no setup\(options, info\) function/);
    const err = await crashing
      .valueAndGrads([{ ...tokens(1, 4, 1), fail: 'exit' }], { step: 2 })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/shard 0 of 1 at step 2: worker exited with code: 7/);
    expect(crashing.liveWorkers).toBe(0);
  });

  it('close() ends every worker thread', async () => {
    expect(one.liveWorkers).toBe(1);
    await one.close();
    expect(one.liveWorkers).toBe(0);
    await expect(one.valueAndGrads([tokens(1, 4, 1)])).rejects.toThrow(/engine is closed/);
  });
});
