// Data-parallel training (`train.workers` / `--workers N`): a run on 2 worker threads
// ends with the parameters of the same run in one thread (a `train` run and a `distill`
// run with learned SpAD projections), an interrupted 2-worker run resumes to the same
// parameters, and a bad worker count is refused with a message naming the flag.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveRunConfig } from '../../distill/config.js';
import { distillJob, trainJob } from '../../distill/jobs.js';
import { readSafetensors } from '../../src/io/index.js';
import { log } from '../../src/log.js';
import { readRunLog } from '../../src/progress.js';
import type { StopSignal } from '../../src/train/index.js';
import '../../distill/cli.js';
import { cli, setupBackend } from '../helpers.js';
import { tempFolder } from '../io/fixtures.js';
import { makeFixture, tinyRunConfig } from './fixtures.js';
import type { DistillFixture } from './fixtures.js';

const quiet = { write: () => true };
let fx: DistillFixture;
let cleanup = async (): Promise<void> => undefined;

beforeAll(async () => {
  await setupBackend();
  let dir: string;
  ({ dir, cleanup } = await tempFolder());
  fx = await makeFixture(dir);
  vi.spyOn(log, 'info').mockImplementation(() => undefined);
});
afterAll(async () => {
  vi.restoreAllMocks();
  await cleanup();
});

/** A stop flag that turns on at the `after`-th check (the loop checks before each step). */
function stopAfter(after: number): StopSignal {
  let checks = 0;
  const controller = new AbortController();
  return {
    get requested() {
      checks++;
      return checks > after;
    },
    reason: 'manual',
    signal: controller.signal,
    request: () => undefined,
    dispose: () => undefined,
  };
}

async function tensors(file: string): Promise<Map<string, Float32Array>> {
  const st = readSafetensors(await readFile(file));
  return new Map([...st.tensors].map(([n, t]) => [n, new Float32Array(t.data.slice().buffer)]));
}

/** Every tensor of `b` equals `a`'s within `tol`, and `a` moved from `init` (training happened). */
function expectSameParams(
  a: Map<string, Float32Array>,
  b: Map<string, Float32Array>,
  tol = 1e-5,
): void {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [name, va] of a) {
    const vb = b.get(name)!;
    let worst = 0;
    for (let i = 0; i < va.length; i++) worst = Math.max(worst, Math.abs(va[i] - vb[i]));
    expect(worst, name).toBeLessThan(tol);
  }
}

const config = (workers: number, steps = 3) => {
  const c = tinyRunConfig(fx.root, steps);
  c.data.batch_size = 3; // shards of 2 and 1 rows: the average must weight them by rows
  c.train.workers = workers;
  return c;
};

describe('train with --workers 2', () => {
  it('ends with the parameters of the one-thread run', async () => {
    const run = (workers: number) =>
      trainJob({
        model: 'llama:tiny',
        tokenizer: fx.tokenizerDir,
        data: fx.corpus,
        out: path.join(fx.root, `train-w${workers}`),
        config: config(workers),
        progress: quiet,
        echo: quiet,
      });
    const one = await run(1);
    const two = await run(2);
    expect(two.status).toBe('completed');
    expect(two.steps).toBe(3);
    expect(two.tokens).toBe(one.tokens);
    const [w1, w2] = [
      await tensors(path.join(one.modelDir!, 'model.safetensors')),
      await tensors(path.join(two.modelDir!, 'model.safetensors')),
    ];
    expectSameParams(w1, w2);
    // the loss of the same step is the same token mean
    const l1 = readRunLog(path.join(one.outDir, 'train_log.jsonl')).filter((e) => 'loss' in e);
    const l2 = readRunLog(path.join(two.outDir, 'train_log.jsonl')).filter((e) => 'loss' in e);
    expect(l2.length).toBe(l1.length);
    for (let i = 0; i < l1.length; i++) {
      expect(Math.abs((l2[i].loss as number) - (l1[i].loss as number))).toBeLessThan(1e-5);
      if ('tok_per_s' in l2[i]) expect(l2[i].tok_per_s as number).toBeGreaterThan(0);
    }
  }, 60_000);
});

describe('distill with --workers 2', () => {
  const distill = (out: string, workers: number, extra: Record<string, unknown> = {}) =>
    distillJob({
      teacher: fx.teacherDir,
      student: 'bispikclm:tiny',
      data: fx.corpus,
      out: path.join(fx.root, out),
      config: config(workers),
      progress: quiet,
      echo: quiet,
      ...extra,
    });
  let oneModel: string;

  it('ends with the student and projections of the one-thread run', async () => {
    const one = await distill('distill-w1', 1);
    const two = await distill('distill-w2', 2);
    expect(two.status).toBe('completed');
    oneModel = one.modelDir!;
    expectSameParams(
      await tensors(path.join(one.modelDir!, 'model.safetensors')),
      await tensors(path.join(two.modelDir!, 'model.safetensors')),
    );
    // the learned projections (student width 32 -> teacher 16) are trained in the workers too
    const proj = 'spad_projections.safetensors';
    expect(existsSync(path.join(one.modelDir!, proj))).toBe(true);
    const [p1, p2] = [
      await tensors(path.join(one.modelDir!, proj)),
      await tensors(path.join(two.modelDir!, proj)),
    ];
    expect(p1.size).toBeGreaterThan(0);
    expectSameParams(p1, p2);
  }, 60_000);

  it('an interrupted 2-worker run resumes (with 2 workers) to the same parameters', async () => {
    const a = await distill('distill-part', 2, { stop: stopAfter(2) });
    expect(a.status).toBe('stopped');
    expect(a.steps).toBe(2);
    const b = await distill('distill-part', 2, { resume: 'latest' });
    expect(b.status).toBe('completed');
    expect(b.startStep).toBe(2);
    expect(b.steps).toBe(3);
    expectSameParams(
      await tensors(path.join(oneModel, 'model.safetensors')),
      await tensors(path.join(b.modelDir!, 'model.safetensors')),
    );
  }, 60_000);
});

describe('a bad worker count', () => {
  it.each(['0', '1.5', '-2', 'two'])('--workers %s is refused, naming the flag', (text) => {
    expect(() => resolveRunConfig(null, [{ key: 'workers', text }], 'flags')).toThrow(
      /--workers.*train\.workers.*integer >= 1/,
    );
  });

  it('a config file with workers 0 is refused, naming the file and field', () => {
    expect(() => resolveRunConfig({ train: { workers: 0 } }, [], 'distill.json')).toThrow(
      /distill\.json.*train\.workers.*integer >= 1/,
    );
  });

  it('snnlm train --workers 0 exits 2 with the message, before any work', async () => {
    const out = path.join(fx.root, 'cli-bad-workers');
    const r = await cli([
      'train',
      '--model',
      'llama:tiny',
      '--tokenizer',
      fx.tokenizerDir,
      '--data',
      fx.corpus,
      '--out',
      out,
      '--workers',
      '0',
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--workers: "train\.workers" must be an integer >= 1, got 0/);
    expect(existsSync(path.join(out, 'run_config.json'))).toBe(false);
  });
});
