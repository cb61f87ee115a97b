import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../vision/cli.js';
import { tf } from '../../src/tf.js';
import { encodeIdx } from '../../datasets/vision/index.js';
import {
  SpikingVisionNet,
  loadVisionModel,
  parseVisionConfig,
  saveVisionModel,
} from '../../models/vision/index.js';
import { runConfig, trainVision } from '../../vision/train.js';
import { registerVisionMethod, visionMethod, visionMethodNames } from '../../vision/methods.js';
import { SGD, onlineTrainStep } from '../../src/train/index.js';
import { cli, setupBackend, values } from '../helpers.js';

beforeAll(async () => {
  await setupBackend();
});

const tiny = {
  dataDir: 'builtin',
  limitTrain: 48,
  limitTest: 40,
  batchSize: 16,
  timeSteps: 2,
  progress: null,
};

describe('vision nets', () => {
  it('rejects bad configs, naming the field', () => {
    expect(() => parseVisionConfig({ arch: 'rnn' })).toThrow(
      /arch must be one of mlp, cnn, got "rnn"/,
    );
    expect(() => parseVisionConfig({ hidden: [0] })).toThrow(
      /hidden\[0\] must be a positive integer/,
    );
    expect(() => parseVisionConfig({ neuron: { neuron: 'ternary' } })).toThrow(
      /neuron "ternary" cannot run in a vision net/,
    );
    expect(() => parseVisionConfig({ depth: 3 })).toThrow(/unknown field\(s\) depth/);
    expect(() => parseVisionConfig({ norm: 'layer' })).toThrow(
      /norm must be one of none, batch, sws/,
    );
  });

  it('round-trips through a model folder with identical predictions (CNN, sWS, trainable threshold)', async () => {
    const net = new SpikingVisionNet({
      arch: 'cnn',
      channels: [4],
      hidden: [8],
      norm: 'sws',
      time_steps: 2,
      seed: 4,
      neuron: {
        neuron: 'lif',
        decay: 0.5,
        v_threshold: 0.5,
        v_reset: null,
        trainable_threshold: true,
      },
    });
    const dir = join(await mkdtemp(join(tmpdir(), 'vnet-')), 'model');
    await saveVisionModel(net, dir);
    const back = await loadVisionModel(dir);
    const x = tf.randomNormal([3, 784], 0, 1, 'float32', 1);
    const a = net.predictLogits(x);
    const b = back.predictLogits(x);
    expect(values(b)).toEqual(values(a));
    expect(back.getConfig()).toEqual(net.getConfig());
    tf.dispose([x, a, b]);
    net.dispose();
    back.dispose();
  });
});

describe('method registry', () => {
  it('lists the methods and rejects unknown ones and unsupported networks with the reason', () => {
    expect(visionMethodNames()).toEqual(
      expect.arrayContaining(['bptt', 'dsr', 'opzo', 'ottt', 'ottt-o', 'sltt', 'sltt-k']),
    );
    expect(() => visionMethod('backprop')).toThrow(/unknown method "backprop"; known: .*bptt/);
    expect(() => runConfig({ method: 'opzo', dataset: 'mnist', arch: 'cnn', epochs: 1 })).toThrow(
      /method opzo does not support this network: .*fully connected/,
    );
    expect(() => runConfig({ method: 'ottt', dataset: 'mnist', neuron: 'asn', epochs: 1 })).toThrow(
      /method ottt does not support this network: it needs IF or LIF neurons, got asn/,
    );
    expect(() => runConfig({ method: 'dsr', dataset: 'mnist', neuron: 'asn', epochs: 1 })).toThrow(
      /method dsr does not support this network/,
    );
    expect(
      runConfig({ method: 'bptt', dataset: 'mnist', neuron: 'asn', epochs: 1 }).neuronSpec.neuron,
    ).toBe('asn');
  });

  it('a method can bring its own arch through buildNet; other methods reject that arch', async () => {
    registerVisionMethod<SpikingVisionNet>({
      name: 'test-own-net',
      summary: 'a registered method that builds its net itself',
      costRule: null,
      defaultT: 2,
      archs: ['wide'],
      buildNet: (req) =>
        new SpikingVisionNet({ hidden: [40], time_steps: req.timeSteps, seed: req.seed }),
      netDefaults: () => ({}),
      unsupported: () => null,
      createTrainer(net) {
        const optimizer = new SGD(net.namedParameters(), { lr: 0.05 });
        return {
          optimizer,
          trainBatch: (x, y) => onlineTrainStep(net, optimizer, x, y, { rule: 'sltt' }),
          dispose: () => optimizer.dispose(),
        };
      },
    });
    const r = await trainVision({
      ...tiny,
      method: 'test-own-net',
      dataset: 'mnist',
      arch: 'wide',
      epochs: 1,
      maxBatches: 1,
    });
    expect(r.arch).toBe('wide');
    expect((r.config as { hidden: number[] }).hidden).toEqual([40]);
    await expect(
      trainVision({ ...tiny, method: 'bptt', dataset: 'mnist', arch: 'wide', epochs: 1 }),
    ).rejects.toThrow(
      /method bptt does not support this network: arch "wide" \(it trains mlp, cnn\)/,
    );
  });

  it.each([
    ['bptt', 'cnn', undefined],
    ['ottt', 'cnn', undefined],
    ['sltt-k', 'mlp', 'if'],
    ['dsr', 'mlp', undefined],
    ['opzo', 'mlp', undefined],
    ['bptt', 'mlp', 'asn'],
  ] as const)(
    '%s trains a %s (%s neuron) one tiny epoch with finite loss',
    async (method, arch, neuron) => {
      const r = await trainVision({
        ...tiny,
        method,
        dataset: 'mnist',
        arch,
        epochs: 1,
        neuron,
        hidden: arch === 'mlp' ? [24] : [],
        channels: arch === 'cnn' ? [4] : undefined,
        maxBatches: 2,
      });
      expect(r.test_accuracy).toBeGreaterThanOrEqual(0);
      expect(r.firing_rates.length).toBeGreaterThan(0);
      expect(r.time_per_epoch_s.length).toBe(1);
    },
  );
});

describe('snnlm vision train', () => {
  it('writes checkpoints, the model folder, the JSONL log and results; the model reloads to the same accuracy', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'vtrain-')), 'run');
    const r = await cli([
      'vision',
      'train',
      '--method',
      'sltt',
      '--dataset',
      'mnist',
      '--data-dir',
      'builtin',
      '--epochs',
      '2',
      '--T',
      '2',
      '--hidden',
      '32',
      '--batch-size',
      '16',
      '--limit-train',
      '64',
      '--limit-test',
      '40',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res.method).toBe('sltt');
    expect(res.test_accuracy_per_epoch.length).toBe(2);
    expect(res.training_cost.rule).toBe('sltt');
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).test_accuracy).toBe(
      res.test_accuracy,
    );
    const events = readFileSync(join(out, 'train_log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).event);
    expect(events).toEqual(expect.arrayContaining(['start', 'epoch', 'end']));
    expect(existsSync(join(out, 'checkpoints', 'checkpoint-8', 'manifest.json'))).toBe(true);
    const { loadVisionDataset } = await import('../../datasets/vision/index.js');
    const { evaluate } = await import('../../vision/train.js');
    const net = await loadVisionModel(join(out, 'model'));
    const ds = await loadVisionDataset('mnist', { dir: 'builtin', limitTest: 40, limitTrain: 1 });
    expect(evaluate(net, ds.test).accuracy).toBe(res.test_accuracy);
    net.dispose();
  });

  it('fails clearly on an unknown method, a bad network, bad flags and a truncated IDX file', async () => {
    let r = await cli(['vision', 'train', '--method', 'magic', '--dataset', 'mnist']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown method "magic"/);
    r = await cli(['vision', 'train', '--method', 'opzo', '--dataset', 'mnist', '--arch', 'cnn']);
    expect(r.err).toMatch(/method opzo does not support this network/);
    r = await cli(['vision', 'train', '--method', 'bptt', '--dataset', 'mnist', '--epochs', 'two']);
    expect(r.err).toMatch(/--epochs must be a positive integer, got "two"/);
    r = await cli(['vision', 'train', '--method', 'bptt']);
    expect(r.err).toMatch(/--dataset is required/);
    const dir = await mkdtemp(join(tmpdir(), 'vidx-'));
    for (const p of ['train', 't10k']) {
      await writeFile(
        join(dir, `${p}-images-idx3-ubyte`),
        encodeIdx([2, 28, 28], new Uint8Array(2 * 784)).subarray(0, 500),
      );
      await writeFile(join(dir, `${p}-labels-idx1-ubyte`), encodeIdx([2], new Uint8Array(2)));
    }
    r = await cli(['vision', 'train', '--method', 'bptt', '--dataset', 'mnist', '--data-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /train-images-idx3-ubyte: truncated: header \[2, 28, 28\] needs 1568 data bytes/,
    );
  });
});
