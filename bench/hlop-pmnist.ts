// Permuted-MNIST continual learning with and without HLOP (methods-vision.md 8(d)-(f)):
// a small spiking MLP 784-H-10 without biases (LIF, lambda 0.5, soft reset, T steps,
// direct coding), trained by BPTT with plain SGD, one epoch per task, tasks in sequence.
// With HLOP, each weight's gradient is projected off the Hebbian subspaces of the old
// tasks' presynaptic activity (the image for the first layer, the per-step hidden spikes
// for the classifier); the baseline trains the same network without projection.
// Prints JSON: the accuracy matrix R[i][j] (task j after training task i), ACC and BWT
// for both runs. Usage:
//   node --import tsx bench/hlop-pmnist.ts [--tasks 3] [--train 60000] [--test 10000]
//     [--hidden 256] [--T 4] [--batch 64] [--lr 0.1] [--seed 1] [--data DIR] [--out FILE]
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadVisionDataset, batches, permutedTasks } from '../datasets/vision/index.js';
import type { VisionSplit, VisionTask } from '../datasets/vision/index.js';
import { initBackend } from '../src/backend.js';
import { Linear } from '../src/layers/index.js';
import { lifMultiStep, makeLIFParams } from '../src/neurons/index.js';
import { ProgressBar } from '../src/progress.js';
import { tf } from '../src/tf.js';
import type { Scalar, Tensor } from '../src/tf.js';
import {
  HLOP,
  SGD,
  continualMetrics,
  crossEntropyLoss,
  valueAndGrads,
} from '../src/train/index.js';
import type { Variable } from '../src/tf.js';

const { values: args } = parseArgs({
  options: {
    tasks: { type: 'string', default: '3' },
    train: { type: 'string', default: '60000' },
    test: { type: 'string', default: '10000' },
    hidden: { type: 'string', default: '256' },
    T: { type: 'string', default: '4' },
    batch: { type: 'string', default: '64' },
    lr: { type: 'string', default: '0.1' },
    seed: { type: 'string', default: '1' },
    data: { type: 'string' },
    out: { type: 'string' },
  },
});
const num = (name: keyof typeof args): number => {
  const v = Number(args[name]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
};
const K = num('tasks');
const H = num('hidden');
const T = num('T');
const BATCH = num('batch');
const LR = num('lr');
const SEED = num('seed');
// Lateral neurons per weight: first task, then per later task (HLOP PMNIST code uses
// [80, 200, 100] + 70 per task on 784-800-800-10; scaled here to the smaller net) [P].
const LATERAL = { first: { fc1: 80, head: 100 }, next: { fc1: 60, head: 40 } };

const repoRoot = path.resolve(import.meta.dirname, '..');
const dataDir = args.data ?? path.resolve(repoRoot, '../shared/datasets/vision/mnist');

/** The spiking MLP: fc1 [H, 784], head [10, H], no biases. */
function buildNet(): { fc1: Linear; head: Linear; params: [string, Variable][] } {
  const fc1 = new Linear({ in_features: 784, out_features: H, bias: false, seed: SEED });
  const head = new Linear({ in_features: H, out_features: 10, bias: false, seed: SEED + 1 });
  const params: [string, Variable][] = [
    ['fc1.weight', fc1.weight],
    ['head.weight', head.weight],
  ];
  return { fc1, head, params };
}

const neuron = makeLIFParams({
  charge: { form: 'lambda', lambda: 0.5, gain: 1 },
  vThreshold: 1,
  vReset: null,
});

/** Logits [B, 10] and the hidden spikes [T, B, H]. */
function forward(net: ReturnType<typeof buildNet>, x: Tensor): { logits: Tensor; spikes: Tensor } {
  const cur = net.fc1.forward(x); // [B, H], the same current at every step
  const seq = tf.broadcastTo(tf.expandDims(cur, 0), [T, x.shape[0], H]); // [T, B, H]
  const spikes = lifMultiStep(seq, neuron).spikes; // [T, B, H]
  const logits = tf.mean(net.head.forward(spikes), 0); // [B, 10]
  return { logits, spikes };
}

function accuracy(net: ReturnType<typeof buildNet>, split: VisionSplit, task: VisionTask): number {
  let correct = 0;
  let total = 0;
  for (const b of batches(split, task, { batchSize: 500 })) {
    correct += tf.tidy(() => {
      const x = tf.tensor2d(b.x, [b.size, 784]);
      const pred = tf.argMax(forward(net, x).logits, -1);
      return tf.sum(tf.cast(tf.equal(pred, tf.tensor1d(b.y, 'int32')), 'float32')).dataSync()[0];
    });
    total += b.size;
  }
  return correct / total;
}

async function run(mode: 'baseline' | 'hlop', train: VisionSplit, test: VisionSplit) {
  const tasksTrain = permutedTasks(train, K, SEED);
  const tasksTest = permutedTasks(test, K, SEED); // same seed: same permutations
  const net = buildNet();
  const opt = new SGD(net.params, { lr: LR });
  const hlop =
    mode === 'hlop'
      ? new HLOP({
          'fc1.weight': { inFeatures: 784, lr: 0.001, seed: SEED },
          'head.weight': { inFeatures: H, lr: 0.01, seed: SEED + 1 },
        })
      : null;
  const R: number[][] = [];
  const perTask = Math.ceil(train.count / BATCH);
  const bar = new ProgressBar({ total: K * perTask, everySteps: 100 });
  let step = 0;
  const t0 = performance.now();
  for (let k = 0; k < K; k++) {
    if (hlop) {
      const c = k === 0 ? LATERAL.first : LATERAL.next;
      const room = (name: 'fc1' | 'head', width: number) =>
        Math.max(0, Math.min(c[name], width - hlop.subspace(`${name}.weight`).size));
      hlop.beginTask({ 'fc1.weight': room('fc1', 784), 'head.weight': room('head', H) });
    }
    for (const b of batches(train, tasksTrain[k], { batchSize: BATCH, seed: SEED, epoch: k })) {
      const x = tf.tensor2d(b.x, [b.size, 784]);
      const y = tf.tensor1d(b.y, 'int32');
      const loss = crossEntropyLoss(y);
      const rec: { spikes?: Tensor } = {};
      const { loss: l, grads } = valueAndGrads(() => {
        const out = forward(net, x);
        rec.spikes = tf.keep(tf.reshape(out.spikes, [-1, H])); // [T*B, H] per-step presynaptic spikes
        return loss(out.logits) as Scalar;
      }, net.params);
      const spikes = rec.spikes as Tensor;
      let use = grads;
      if (hlop) {
        use = hlop.project(grads);
        hlop.learn({ 'fc1.weight': x, 'head.weight': spikes });
        tf.dispose([...grads.values()]);
      }
      opt.step(use);
      const lossValue = l.dataSync()[0];
      tf.dispose([x, y, l, spikes, ...use.values()]);
      bar.update(++step, { metrics: { task: k, loss: lossValue } });
    }
    hlop?.endTask();
    R.push(tasksTest.map((task) => accuracy(net, test, task)));
  }
  bar.close();
  const seconds = (performance.now() - t0) / 1000;
  hlop?.dispose();
  opt.dispose();
  net.fc1.dispose();
  net.head.dispose();
  return { R, ...continualMetrics(R), seconds };
}

async function main(): Promise<void> {
  const backend = (await initBackend()).backend;
  if (!existsSync(dataDir)) {
    process.stderr.write(`MNIST not found at ${dataDir}; using the built-in copy\n`);
  }
  const ds = await loadVisionDataset('mnist', {
    dir: existsSync(dataDir) ? dataDir : 'builtin',
    limitTrain: num('train'),
    limitTest: num('test'),
  });
  const baseline = await run('baseline', ds.train, ds.test);
  const hlop = await run('hlop', ds.train, ds.test);
  const result = {
    bench: 'hlop-pmnist',
    backend,
    data: ds.source,
    setup: {
      tasks: K,
      train_per_task: ds.train.count,
      test_per_task: ds.test.count,
      net: `784-${H}-10 LIF (lambda 0.5, soft reset), T=${T}, no biases`,
      optimizer: `SGD lr ${LR}, batch ${BATCH}, 1 epoch per task, BPTT`,
      lateral: LATERAL,
    },
    baseline,
    hlop,
  };
  const json = JSON.stringify(result, null, 2);
  process.stdout.write(`${json}\n`);
  if (args.out) writeFileSync(args.out, `${json}\n`);
}

await main();
