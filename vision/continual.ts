// `snnlm vision continual`: a permuted-MNIST task sequence trained task after task by
// one gradient method of the registry, with or without HLOP (methods-vision.md 8):
// every gradient map the method hands its optimizer is first projected on the
// orthogonal complement of the old tasks' Hebbian subspaces, while the new lateral
// neurons learn the current task's presynaptic activity. Reports the accuracy matrix
// R[i][j] (task j after training task i), ACC and BWT.
import { join, resolve } from 'node:path';
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { ConfigError, checkPositiveInt } from '../src/errors.js';
import { ProgressBar, RunLog } from '../src/progress.js';
import type { ProgressStream } from '../src/progress.js';
import { HLOP, continualMetrics, makeSchedule } from '../src/train/index.js';
import type { GradMap } from '../src/train/index.js';
import { writeFileAtomic } from '../src/io/index.js';
import { batchCount, batches, loadVisionDataset, permutedTasks } from '../datasets/vision/index.js';
import { SpikingVisionNet, saveVisionModel } from '../models/vision/index.js';
import { visionMethod } from './all-methods.js';
import { evaluate, runConfig } from './train.js';

/** Options of `trainContinual` (the CLI flags). */
export interface ContinualOptions {
  method: string;
  dataset: string;
  tasks: number;
  /** @default 1 [V 8(d)] */
  epochsPerTask?: number;
  hlop?: boolean;
  timeSteps?: number;
  /** @default 64 [V 8(d)] */
  batchSize?: number;
  lr?: number;
  /** @default 0 */
  seed?: number;
  hidden?: number[];
  neuron?: string;
  k?: number;
  dataDir?: string;
  searchRoots?: readonly string[];
  limitTrain?: number;
  limitTest?: number;
  maxBatches?: number;
  out?: string;
  overwrite?: boolean;
  progress?: ProgressStream | null;
}

/** The results JSON of a continual run. */
export interface ContinualResults {
  method: string;
  hlop: boolean;
  dataset: string;
  data_source: string;
  tasks: number;
  epochs_per_task: number;
  time_steps: number;
  batch_size: number;
  lr: number;
  seed: number;
  /** `accuracy_matrix[i][j]`: test accuracy on task j after training task i (all j). */
  accuracy_matrix: number[][];
  acc: number;
  bwt: number;
  /** Lateral neurons per weight after the last task (HLOP only). */
  lateral_neurons: Record<string, number> | null;
  time_per_task_s: number[];
  config: Record<string, unknown>;
}

// Lateral neurons added per task on PMNIST's 784-800-800-10: [80, 200, 100] at the first
// task, then 70, 70, 50, 50, 50, 30, 30, 30, 10 on each layer [V 8(d)]. For other widths
// the counts are scaled by the layer's input width / the code's (784 or 800) [P].
const FIRST_TASK = [80, 200, 100];
const LATER_TASKS = [70, 70, 50, 50, 50, 30, 30, 30, 10];
/** Hebbian learning rate: 0.001 on the input layer, 0.01 on the others [V 8(d)]. */
const HEBBIAN_LR = [0.001, 0.01];

/** The weights HLOP guards, with their input widths: every fc weight and the readout. */
function guardedWeights(net: SpikingVisionNet): { name: string; inFeatures: number }[] {
  return net
    .namedParameters()
    .filter(([n, v]) => v.trainable && /(^blocks\.\d+\.fc|^readout)\.weight$/.test(n))
    .map(([name, v]) => ({ name, inFeatures: v.shape[1] as number }));
}

function lateralCounts(
  hlop: HLOP,
  weights: { name: string; inFeatures: number }[],
  task: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  weights.forEach((w, l) => {
    const ref = task === 0 ? FIRST_TASK[Math.min(l, 2)] : LATER_TASKS[Math.min(task - 1, 8)];
    const scaled = Math.max(1, Math.round((ref * w.inFeatures) / (l === 0 ? 784 : 800)));
    out[w.name] = Math.min(scaled, w.inFeatures - hlop.subspace(w.name).size);
  });
  return out;
}

/** Mean over T of every guarded weight's presynaptic input, `[B, n]` (no graph). */
function presynapticRates(
  net: SpikingVisionNet,
  x: Tensor,
  names: string[],
): Record<string, Tensor> {
  return tf.tidy(() => {
    let state = net.initState(x.shape[0]);
    const sums: Tensor[] = [];
    for (let t = 0; t < net.timeSteps; t++) {
      const o = net.step(x, state);
      const inputs = [...o.layers.map((l) => l.input), o.readoutInput];
      inputs.forEach((v, i) => (sums[i] = sums[i] ? tf.add(sums[i], v) : v));
      state = o.state;
    }
    const out: Record<string, Tensor> = {};
    names.forEach((n, i) => (out[n] = tf.div(sums[i], net.timeSteps)));
    return out;
  });
}

/** Train the task sequence; returns (and, with `out`, writes) the results. */
export async function trainContinual(o: ContinualOptions): Promise<ContinualResults> {
  checkPositiveInt(o.tasks, 'tasks');
  const epochs = o.epochsPerTask ?? 1;
  checkPositiveInt(epochs, 'epochs-per-task');
  const batchSize = o.batchSize ?? 64;
  checkPositiveInt(batchSize, 'batch-size');
  const seed = o.seed ?? 0;
  const method = visionMethod(o.method);
  if (method.costRule === null || method.costRule === 'opzo') {
    throw new ConfigError(
      `vision continual trains with a backpropagated gradient (bptt, sltt, sltt-k, ottt, ottt-o); method ${method.name} is not one`,
    );
  }
  const cfg = runConfig({
    method: o.method,
    dataset: o.dataset,
    arch: 'mlp',
    epochs,
    timeSteps: o.timeSteps,
    seed,
    hidden: o.hidden,
    neuron: o.neuron,
  });
  if (o.k !== undefined && o.k > cfg.timeSteps)
    throw new ConfigError(`--k must be <= T (${cfg.timeSteps}), got ${o.k}`);
  const data = await loadVisionDataset(o.dataset, {
    dir: o.dataDir,
    searchRoots: o.searchRoots,
    limitTrain: o.limitTrain,
    limitTest: o.limitTest,
  });
  if (data.train.height * data.train.width * data.train.channels !== 784) {
    throw new ConfigError(`vision continual expects 28x28 grey images, got ${data.name}`);
  }
  const trainTasks = permutedTasks(data.train, o.tasks, seed);
  const testTasks = permutedTasks(data.test, o.tasks, seed);
  const out = o.out ? resolve(o.out) : null;
  const runLog = out ? new RunLog(join(out, 'train_log.jsonl')) : null;
  const net = new SpikingVisionNet(cfg);
  const weights = guardedWeights(net);
  const hlop = o.hlop
    ? new HLOP(
        Object.fromEntries(
          weights.map((w, l) => [
            w.name,
            { inFeatures: w.inFeatures, lr: HEBBIAN_LR[Math.min(l, 1)], seed: seed + l },
          ]),
        ),
      )
    : null;
  const guarded = new Set(weights.map((w) => w.name));
  const perTask = batchCount(data.train.count, { batchSize, maxBatches: o.maxBatches });
  const bar =
    o.progress === null
      ? null
      : new ProgressBar({
          total: perTask * epochs * o.tasks,
          stream: o.progress ?? process.stderr,
        });
  const R: number[][] = [];
  const times: number[] = [];
  let lr = 0;
  let step = 0;
  runLog?.write({
    event: 'start',
    method: method.name,
    hlop: !!hlop,
    tasks: o.tasks,
    config: net.getConfig(),
  });
  try {
    for (let task = 0; task < o.tasks; task++) {
      const t0 = performance.now();
      // A fresh optimiser per task, so no momentum of an old task leaks past the projection.
      const trainer = method.createTrainer(net, { lr: o.lr, k: o.k, seed: seed + task });
      lr = trainer.optimizer.lr;
      if (hlop) {
        hlop.beginTask(lateralCounts(hlop, weights, task));
        const frozenExtras = task > 0;
        const opt = trainer.optimizer;
        const plain = opt.step.bind(opt);
        opt.step = (grads: GradMap) => {
          const projected = hlop.project(grads);
          // Biases and thresholds are frozen after the first task [V 8(c)].
          if (frozenExtras) {
            for (const [n, g] of projected) {
              if (guarded.has(n)) continue;
              projected.set(n, tf.zerosLike(g));
              g.dispose();
            }
          }
          try {
            return plain(projected);
          } finally {
            tf.dispose([...projected.values()]);
          }
        };
      }
      const schedule = makeSchedule({ kind: 'cosine', lr, totalSteps: perTask * epochs });
      let taskStep = 0;
      try {
        for (let epoch = 0; epoch < epochs; epoch++) {
          for (const b of batches(data.train, trainTasks[task], {
            batchSize,
            seed: seed + task,
            epoch,
            maxBatches: o.maxBatches,
          })) {
            trainer.optimizer.lr = schedule(taskStep);
            const x = tf.tensor2d(b.x, [b.size, b.x.length / b.size]);
            const y = tf.tensor1d(b.y, 'int32');
            const r = trainer.trainBatch(x, y);
            tf.dispose(r.logitsSum);
            if (hlop) {
              const acts = presynapticRates(net, x, [...guarded]);
              hlop.learn(acts);
              tf.dispose(Object.values(acts));
            }
            tf.dispose([x, y]);
            if (!Number.isFinite(r.loss))
              throw new ConfigError(
                `loss became ${r.loss} at task ${task} step ${taskStep}; lower --lr`,
              );
            taskStep++;
            step++;
            bar?.update(step, { metrics: { task, loss: r.loss, lr: trainer.optimizer.lr } });
            if (runLog && step % 20 === 0) {
              runLog.write({ event: 'step', task, step, loss: r.loss, lr: trainer.optimizer.lr });
            }
          }
        }
      } finally {
        trainer.dispose();
      }
      hlop?.endTask();
      times.push((performance.now() - t0) / 1000);
      const row = testTasks.map((t) => evaluate(net, data.test, 500, t).accuracy);
      R.push(row);
      runLog?.write({ event: 'task', task, accuracies: row, time_s: times[task] });
      const line = `task ${task + 1}/${o.tasks}: ${row
        .slice(0, task + 1)
        .map((a) => (100 * a).toFixed(1))
        .join(' ')}`;
      if (bar) bar.log(line);
    }
  } finally {
    bar?.close();
  }
  const m = continualMetrics(R);
  const results: ContinualResults = {
    method: method.name,
    hlop: !!hlop,
    dataset: data.name,
    data_source: data.source,
    tasks: o.tasks,
    epochs_per_task: epochs,
    time_steps: cfg.timeSteps,
    batch_size: batchSize,
    lr,
    seed,
    accuracy_matrix: R,
    acc: m.acc,
    bwt: m.bwt,
    lateral_neurons: hlop
      ? Object.fromEntries(weights.map((w) => [w.name, hlop.subspace(w.name).size]))
      : null,
    time_per_task_s: times,
    config: net.getConfig(),
  };
  if (out) {
    await saveVisionModel(net, join(out, 'model'), { overwrite: o.overwrite });
    await writeFileAtomic(join(out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    runLog?.write({ event: 'end', acc: m.acc, bwt: m.bwt });
  }
  runLog?.close();
  hlop?.dispose();
  net.dispose();
  return results;
}

/** The accuracy matrix as a Markdown table with ACC and BWT (percent). */
export function continualTable(r: ContinualResults): string {
  const head = ['after task', ...r.accuracy_matrix.map((_, j) => `task ${j + 1}`)];
  const lines = [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...r.accuracy_matrix.map(
      (row, i) =>
        `| ${i + 1} | ${row.map((a, j) => (j <= i ? (100 * a).toFixed(2) : `(${(100 * a).toFixed(2)})`)).join(' | ')} |`,
    ),
  ];
  const name = `${r.method}${r.hlop ? ' + HLOP' : ''}`;
  return `${name}: ACC ${(100 * r.acc).toFixed(2)}%, BWT ${(100 * r.bwt).toFixed(2)} points\n${lines.join('\n')}\n`;
}
