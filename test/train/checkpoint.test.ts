// Checkpoint folders: layout and exact resume (weights, optimizer, step, data
// cursor, RNG); atomicity (the disk state mid-write, a failed write); detection
// of incomplete, truncated and altered checkpoints with messages naming the
// file; rotation keeping the last k plus the best.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, truncate, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadModelFolder } from '../../src/io/index.js';
import { setLogSink } from '../../src/log.js';
import {
  CheckpointError,
  MANIFEST_FILE,
  OPTIMIZER_FILE,
  TRAINER_STATE_FILE,
  checkpointTensors,
  findLatestCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  saveCheckpoint,
} from '../../src/train/index.js';
import type { SaveCheckpointOptions } from '../../src/train/index.js';
import { tf } from '../../src/tf.js';
import { setupBackend } from '../helpers.js';
import { loadRng, makeToy, saveRng, trainSteps, weightBytes } from './toy.js';
import type { Toy } from './toy.js';

let root: string;
let run = 0;
let runDir: string;
const warnings: string[] = [];
let restoreSink: (line: string) => void;

beforeAll(async () => {
  await setupBackend();
  root = await mkdtemp(join(tmpdir(), 'snnlm-ckpt-'));
  restoreSink = setLogSink((line) => warnings.push(line));
});
afterAll(async () => {
  setLogSink(restoreSink);
  await rm(root, { recursive: true, force: true });
});
beforeEach(() => {
  warnings.length = 0;
  runDir = join(root, `run-${++run}`);
});

function options(toy: Toy, extra: Partial<SaveCheckpointOptions> = {}): SaveCheckpointOptions {
  return {
    model: { config: { model_type: 'toy', hidden_size: 3 }, tensors: new Map(toy.params) },
    optimizer: toy.opt,
    trainerState: {
      epoch: toy.opt.stepCount / 8,
      dataCursor: { row: toy.cursor },
      rngState: saveRng(toy.rng),
      logHistory: [{ step: toy.opt.stepCount, loss: 1.5 }],
    },
    ...extra,
  };
}

async function saveAt(toy: Toy, step: number, extra: Partial<SaveCheckpointOptions> = {}) {
  return saveCheckpoint(runDir, step, options(toy, extra));
}

describe('checkpoints', () => {
  it('writes the layout and resumes bit-identically (weights, optimizer, cursor, RNG)', async () => {
    const straight = makeToy();
    const lossesStraight = await trainSteps(straight, 10);

    const first = makeToy();
    const lossesA = await trainSteps(first, 5);
    const dir = await saveAt(first, 5);
    first.dispose();
    expect((await readdir(dir)).sort()).toEqual(
      [
        'config.json',
        MANIFEST_FILE,
        'model.safetensors',
        OPTIMIZER_FILE,
        TRAINER_STATE_FILE,
      ].sort(),
    );
    const folder = await loadModelFolder(dir); // the weights form a normal model folder
    expect(folder.config.model_type).toBe('toy');
    await folder.close();

    const latest = await findLatestCheckpoint(runDir);
    expect(latest?.step).toBe(5);
    const ckpt = await loadCheckpoint(latest!.dir);
    const resumed = makeToy('zeros');
    const tensors = checkpointTensors(ckpt);
    resumed.params.forEach(([name, v]) => v.assign(tensors.get(name)!));
    tf.dispose([...tensors.values()]);
    resumed.opt.loadState(ckpt.optimizer);
    resumed.rng = loadRng(ckpt.trainerState.rngState);
    resumed.cursor = (ckpt.trainerState.dataCursor as { row: number }).row;
    expect(ckpt.trainerState).toMatchObject({ step: 5, epoch: 5 / 8, bestMetric: null });
    expect(ckpt.trainerState.logHistory).toEqual([{ step: 5, loss: 1.5 }]);
    const lossesB = await trainSteps(resumed, 5);

    expect([...lossesA, ...lossesB]).toEqual(lossesStraight);
    const [a, b] = [await weightBytes(resumed), await weightBytes(straight)];
    a.forEach((bytes, i) => expect(bytes.equals(b[i])).toBe(true));
    straight.dispose();
    resumed.dispose();
  });

  it('never shows a partial checkpoint-<step> mid-write; the previous one stays loadable', async () => {
    const toy = makeToy();
    await saveAt(toy, 5);
    let release!: () => void;
    let reached!: () => void;
    const paused = new Promise<void>((r) => (release = r));
    const atOptimizer = new Promise<void>((r) => (reached = r));
    const saving = saveAt(toy, 7, {
      afterWrite: async (file) => {
        if (file !== OPTIMIZER_FILE) return;
        reached();
        await paused; // the disk now looks as a crash here would leave it
      },
    });
    await atOptimizer;
    const names = await readdir(runDir);
    expect(names).not.toContain('checkpoint-7');
    expect(names.some((n) => n.startsWith('.checkpoint-7.tmp-'))).toBe(true);
    expect((await findLatestCheckpoint(runDir))?.step).toBe(5);
    expect(warnings.join('\n')).toMatch(/\.checkpoint-7\.tmp-.*interrupted checkpoint write/);
    expect((await loadCheckpoint(join(runDir, 'checkpoint-5'))).step).toBe(5);
    release();
    await saving;
    expect((await findLatestCheckpoint(runDir))?.step).toBe(7);
    toy.dispose();
  });

  it('leaves no checkpoint and no temporary folder when a write fails', async () => {
    const toy = makeToy();
    await saveAt(toy, 5);
    const failing = saveAt(toy, 8, {
      afterWrite: (file) => {
        if (file === OPTIMIZER_FILE) throw new Error('disk full (simulated)');
      },
    });
    await expect(failing).rejects.toThrow(/disk full/);
    expect(await readdir(runDir)).toEqual(['checkpoint-5']);
    toy.dispose();
  });

  it('skips and refuses a checkpoint without its manifest, naming the file', async () => {
    const toy = makeToy();
    await saveAt(toy, 5);
    const partial = join(runDir, 'checkpoint-9'); // as a non-atomic copy would leave it
    await cp(join(runDir, 'checkpoint-5'), partial, { recursive: true });
    await rm(join(partial, MANIFEST_FILE));
    expect((await findLatestCheckpoint(runDir))?.step).toBe(5);
    expect(warnings.join('\n')).toMatch(
      /skipping checkpoint .*checkpoint-9.*manifest\.json: missing/,
    );
    await expect(loadCheckpoint(partial)).rejects.toThrow(
      /checkpoint-9[/\\]manifest\.json: missing: the checkpoint is incomplete/,
    );
    expect((await listCheckpoints(runDir)).map((c) => [c.step, c.complete])).toEqual([
      [5, true],
      [9, false],
    ]);
    toy.dispose();
  });

  it('detects a truncated file by size', async () => {
    const toy = makeToy();
    await saveAt(toy, 3);
    const dir = await saveAt(toy, 4);
    const weights = join(dir, 'model.safetensors');
    await truncate(weights, 20);
    await expect(loadCheckpoint(dir)).rejects.toThrow(CheckpointError);
    await expect(loadCheckpoint(dir)).rejects.toThrow(/model\.safetensors: is 20 bytes.*truncated/);
    expect((await findLatestCheckpoint(runDir, { verify: 'size' }))?.step).toBe(3);
    toy.dispose();
  });

  it('detects flipped bytes by hash', async () => {
    const toy = makeToy();
    await saveAt(toy, 3);
    const dir = await saveAt(toy, 4);
    const path = join(dir, OPTIMIZER_FILE);
    const bytes = await readFile(path);
    bytes[bytes.length - 3] ^= 0xff; // same size, different content
    await writeFile(path, bytes);
    await expect(loadCheckpoint(dir)).rejects.toThrow(
      /optimizer\.safetensors: content does not match its SHA-256/,
    );
    expect((await findLatestCheckpoint(runDir, { verify: 'size' }))?.step).toBe(4); // sizes cannot see it
    expect((await findLatestCheckpoint(runDir))?.step).toBe(3);
    await writeFile(join(dir, MANIFEST_FILE), '{"format": "snnlm-chec');
    await expect(loadCheckpoint(dir)).rejects.toThrow(/manifest\.json: corrupt manifest/);
    toy.dispose();
  });

  it('keeps the last k complete checkpoints plus the best, leaving incomplete ones alone', async () => {
    const toy = makeToy();
    await mkdir(join(runDir, 'checkpoint-0'), { recursive: true }); // incomplete, never counted
    for (const step of [1, 2, 3, 4, 5, 6]) {
      const bestStep = step >= 2 ? 2 : null;
      await saveAt(toy, step, {
        keepLast: 2,
        trainerState: { ...options(toy).trainerState, bestStep, bestMetric: bestStep && 0.5 },
      });
    }
    const left = await listCheckpoints(runDir);
    expect(left.map((c) => c.step)).toEqual([0, 2, 5, 6]);
    expect((await readdir(runDir)).filter((n) => n.startsWith('.'))).toEqual([]);
    const best = await loadCheckpoint(join(runDir, 'checkpoint-6'));
    expect(best.trainerState).toMatchObject({ bestStep: 2, bestMetric: 0.5 });
    toy.dispose();
  });

  it('replaces an existing folder of the same step and checks its inputs', async () => {
    const toy = makeToy();
    await saveAt(toy, 2);
    await trainSteps(toy, 1);
    await saveAt(toy, 2);
    expect((await loadCheckpoint(join(runDir, 'checkpoint-2'))).optimizer.tensors.size).toBe(5);
    expect(existsSync(join(runDir, 'checkpoint-2', MANIFEST_FILE))).toBe(true);
    await expect(
      saveCheckpoint(runDir, 3, { ...options(toy), trainerState: { step: 4, epoch: 0 } }),
    ).rejects.toThrow(/differs from the checkpoint step/);
    await expect(
      saveCheckpoint(runDir, 3, { ...options(toy), model: { config: {}, tensors: {} } }),
    ).rejects.toThrow(/model_type/);
    await expect(
      saveCheckpoint(runDir, 3, { ...options(toy), trainerState: { epoch: 0, bestMetric: NaN } }),
    ).rejects.toThrow(/bestMetric/);
    expect(await readdir(runDir)).toEqual(['checkpoint-2']);
    await expect(loadCheckpoint(join(runDir, 'nope'))).rejects.toThrow(/not a checkpoint folder/);
    expect(await findLatestCheckpoint(join(runDir, 'absent'))).toBeNull();
    toy.dispose();
  });
});
