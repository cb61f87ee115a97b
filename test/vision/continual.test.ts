import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../vision/cli.js';
import { continualTable, trainContinual } from '../../vision/continual.js';
import { cli, setupBackend } from '../helpers.js';

beforeAll(async () => {
  await setupBackend();
});

const tiny = {
  dataset: 'mnist',
  dataDir: 'builtin',
  tasks: 2,
  limitTrain: 640,
  limitTest: 100,
  hidden: [32, 32],
  timeSteps: 2,
  batchSize: 16,
  progress: null,
};

describe('snnlm vision continual', () => {
  it('reports an accuracy matrix with ACC and BWT computed from it; HLOP leaves the first task unchanged', async () => {
    const plain = await trainContinual({ ...tiny, method: 'bptt' });
    const hlop = await trainContinual({ ...tiny, method: 'bptt', hlop: true });
    for (const r of [plain, hlop]) {
      const R = r.accuracy_matrix;
      expect(R.length).toBe(2);
      expect(R.every((row) => row.length === 2)).toBe(true);
      expect(r.acc).toBeCloseTo((R[1][0] + R[1][1]) / 2, 12);
      expect(r.bwt).toBeCloseTo(R[1][0] - R[0][0], 12);
      expect(R[0][0]).toBeGreaterThan(0.2); // chance is 0.1
      const table = continualTable(r);
      expect(table).toContain(`ACC ${(100 * r.acc).toFixed(2)}%`);
      expect(table).toContain(
        `| 2 | ${(100 * R[1][0]).toFixed(2)} | ${(100 * R[1][1]).toFixed(2)} |`,
      );
    }
    // Before any subspace is frozen the projection is the identity: task 1 trains alike.
    expect(hlop.accuracy_matrix[0]).toEqual(plain.accuracy_matrix[0]);
    // The second task changes the net differently once projected.
    expect(hlop.accuracy_matrix[1]).not.toEqual(plain.accuracy_matrix[1]);
    expect(plain.lateral_neurons).toBeNull();
    // 784-32-32-10: [80, 200*32/800, 100*32/800] = [80, 8, 4], then +70 scaled by 784/784 and 32/800.
    expect(hlop.lateral_neurons).toEqual({
      'blocks.0.fc.weight': 150,
      'blocks.1.fc.weight': 11,
      'readout.weight': 7,
    });
  });

  it('runs sltt through the CLI and writes the results JSON and log', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'vcont-')), 'run');
    const r = await cli([
      'vision',
      'continual',
      '--method',
      'sltt',
      '--hlop',
      '--tasks',
      '2',
      '--dataset',
      'mnist',
      '--data-dir',
      'builtin',
      '--limit-train',
      '128',
      '--limit-test',
      '50',
      '--hidden',
      '16,16',
      '--T',
      '2',
      '--batch-size',
      '32',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res.method).toBe('sltt');
    expect(res.hlop).toBe(true);
    expect(res.epochs_per_task).toBe(1);
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))).toEqual(res);
    expect(r.err).toMatch(/sltt \+ HLOP: ACC [\d.]+%, BWT -?[\d.]+ points/);
    const events = readFileSync(join(out, 'train_log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).event);
    expect(events.filter((e) => e === 'task').length).toBe(2);
  });

  it('rejects methods without a backpropagated gradient, other datasets and missing flags', async () => {
    let r = await cli([
      'vision',
      'continual',
      '--method',
      'ide',
      '--tasks',
      '2',
      '--dataset',
      'mnist',
      '--data-dir',
      'builtin',
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/method ide is not one/);
    r = await cli([
      'vision',
      'continual',
      '--method',
      'bptt',
      '--tasks',
      '2',
      '--dataset',
      'fashion-mnist',
    ]);
    expect(r.err).toMatch(/--dataset must be mnist/);
    r = await cli(['vision', 'continual', '--method', 'bptt', '--dataset', 'mnist']);
    expect(r.err).toMatch(/--tasks is required/);
    r = await cli([
      'vision',
      'continual',
      '--method',
      'bptt',
      '--dataset',
      'mnist',
      '--tasks',
      '0',
    ]);
    expect(r.err).toMatch(/--tasks must be a positive integer/);
  });
});
