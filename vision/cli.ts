// `snnlm vision train`: train a spiking MLP or CNN on MNIST / Fashion-MNIST with one
// of the registered methods, write checkpoints, the model folder, a JSONL log and a
// results JSON to --out, and print the results JSON on stdout.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend.js';
import { registerCommand } from '../src/cli.js';
import { ConfigError } from '../src/errors.js';
import { VISION_DATASETS } from '../datasets/vision/index.js';
import { visionMethod, visionMethodNames } from './all-methods.js';
import { trainVision } from './train.js';
import { continualTable, trainContinual } from './continual.js';

const TRAIN_USAGE =
  'snnlm vision train --method M --dataset mnist|fashion-mnist [--arch mlp|cnn|feedback] [--epochs E] [--T T] ' +
  '[--out DIR] [--batch-size 128] [--lr LR] [--seed 0] [--neuron lif|if|asn] [--hidden 400,400] ' +
  '[--channels 16,32] [--k 2] [--data-dir DIR|builtin] [--limit-train N] [--limit-test N] ' +
  '[--max-batches N] [--overwrite]';

const CONTINUAL_USAGE =
  'snnlm vision continual --method bptt|sltt|sltt-k|ottt|ottt-o --tasks N --dataset mnist [--hlop] ' +
  '[--epochs-per-task 1] [--T T] [--batch-size 64] [--lr LR] [--seed 0] [--neuron lif|if|asn] ' +
  '[--hidden 400,400] [--k 2] [--data-dir DIR|builtin] [--limit-train N] [--limit-test N] ' +
  '[--max-batches N] [--out DIR] [--overwrite]';

function intFlag(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n <= 0) {
    throw new ConfigError(`--${flag} must be a positive integer, got "${v}"`);
  }
  return n;
}

function numFlag(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new ConfigError(`--${flag} must be a number >= 0, got "${v}"`);
  }
  return n;
}

function listFlag(v: string | undefined, flag: string): number[] | undefined {
  if (v === undefined) return undefined;
  return v.split(',').map((p) => intFlag(p.trim(), flag) as number);
}

/** The data root beside the repository (`<repo>/../shared/datasets/vision`), when present. */
function defaultDataRoots(): string[] {
  let dir = import.meta.dirname;
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) {
      const root = resolve(dir, '..', 'shared', 'datasets', 'vision');
      return existsSync(root) ? [root] : [];
    }
    dir = dirname(dir);
  }
  return [];
}

async function train(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      method: { type: 'string' },
      dataset: { type: 'string' },
      arch: { type: 'string', default: 'mlp' },
      epochs: { type: 'string', default: '1' },
      T: { type: 'string' },
      out: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      neuron: { type: 'string' },
      hidden: { type: 'string' },
      channels: { type: 'string' },
      k: { type: 'string' },
      'data-dir': { type: 'string' },
      'limit-train': { type: 'string' },
      'limit-test': { type: 'string' },
      'max-batches': { type: 'string' },
      overwrite: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.method) {
    throw new ConfigError(
      `--method is required (one of ${visionMethodNames().join(', ')})`,
      TRAIN_USAGE,
    );
  }
  visionMethod(values.method); // unknown method: fail before loading anything
  if (!values.dataset)
    throw new ConfigError(`--dataset is required (${VISION_DATASETS.join(' or ')})`, TRAIN_USAGE);
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0)
    throw new ConfigError(`--seed must be an integer >= 0, got "${values.seed}"`);
  await initBackend();
  const results = await trainVision({
    method: values.method,
    dataset: values.dataset,
    arch: values.arch,
    epochs: intFlag(values.epochs, 'epochs') as number,
    timeSteps: intFlag(values.T, 'T'),
    out: values.out,
    overwrite: values.overwrite,
    batchSize: intFlag(values['batch-size'], 'batch-size'),
    lr: numFlag(values.lr, 'lr'),
    seed,
    neuron: values.neuron,
    hidden: listFlag(values.hidden, 'hidden'),
    channels: listFlag(values.channels, 'channels'),
    k: intFlag(values.k, 'k'),
    dataDir: values['data-dir'],
    searchRoots: defaultDataRoots(),
    limitTrain: intFlag(values['limit-train'], 'limit-train'),
    limitTest: intFlag(values['limit-test'], 'limit-test'),
    maxBatches: intFlag(values['max-batches'], 'max-batches'),
  });
  process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  return 0;
}

async function continual(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      method: { type: 'string' },
      dataset: { type: 'string' },
      tasks: { type: 'string' },
      hlop: { type: 'boolean', default: false },
      'epochs-per-task': { type: 'string', default: '1' },
      T: { type: 'string' },
      out: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      neuron: { type: 'string' },
      hidden: { type: 'string' },
      k: { type: 'string' },
      'data-dir': { type: 'string' },
      'limit-train': { type: 'string' },
      'limit-test': { type: 'string' },
      'max-batches': { type: 'string' },
      overwrite: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.method) throw new ConfigError('--method is required', CONTINUAL_USAGE);
  visionMethod(values.method);
  if (!values.tasks) throw new ConfigError('--tasks is required', CONTINUAL_USAGE);
  if (!values.dataset) throw new ConfigError('--dataset is required (mnist)', CONTINUAL_USAGE);
  if (values.dataset !== 'mnist') {
    throw new ConfigError(
      `--dataset must be mnist (permuted-MNIST tasks), got ${JSON.stringify(values.dataset)}`,
    );
  }
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0)
    throw new ConfigError(`--seed must be an integer >= 0, got "${values.seed}"`);
  await initBackend();
  const results = await trainContinual({
    method: values.method,
    dataset: values.dataset,
    tasks: intFlag(values.tasks, 'tasks') as number,
    hlop: values.hlop,
    epochsPerTask: intFlag(values['epochs-per-task'], 'epochs-per-task'),
    timeSteps: intFlag(values.T, 'T'),
    out: values.out,
    overwrite: values.overwrite,
    batchSize: intFlag(values['batch-size'], 'batch-size'),
    lr: numFlag(values.lr, 'lr'),
    seed,
    neuron: values.neuron,
    hidden: listFlag(values.hidden, 'hidden'),
    k: intFlag(values.k, 'k'),
    dataDir: values['data-dir'],
    searchRoots: defaultDataRoots(),
    limitTrain: intFlag(values['limit-train'], 'limit-train'),
    limitTest: intFlag(values['limit-test'], 'limit-test'),
    maxBatches: intFlag(values['max-batches'], 'max-batches'),
  });
  process.stderr.write(continualTable(results));
  process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  return 0;
}

registerCommand('vision', {
  summary:
    'train spiking vision nets (bptt, sltt, sltt-k, ottt, ottt-o, dsr, opzo, ide, spide) on MNIST / Fashion-MNIST; continual permuted-MNIST with HLOP',
  usage: `${TRAIN_USAGE}\n       ${CONTINUAL_USAGE}`,
  run: async (args) => {
    const [sub, ...rest] = args;
    if (sub === 'train') return train(rest);
    if (sub === 'continual') return continual(rest);
    throw new ConfigError(
      `unknown vision subcommand ${JSON.stringify(sub ?? '')}; use "train" or "continual"`,
      TRAIN_USAGE,
    );
  },
});
