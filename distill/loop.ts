// The training loop of `snnlm distill` and `snnlm train`: one loop, with or without a
// teacher. AdamW (decoupled decay, no decay on norms/biases/embeddings/thresholds),
// global-norm clipping, warm-up + cosine, gradient accumulation, the gradient rule of
// spiking students (models/ `studentValueAndGrads`), periodic validation perplexity,
// atomic checkpoints with exact resume (weights, optimizer, data cursor, RNG; the
// schedule is a function of the step), a JSONL log, a progress bar, a NaN/Inf stop that
// leaves the last good checkpoint intact, and SIGINT/SIGTERM: save, then return.
// With `train.workers` > 1 each micro-batch's loss and gradients come from a pool of
// worker threads (src/train/data-parallel.ts, task parallel-task.ts), the rows split
// across them and the gradients averaged by rows; everything else stays here. The log
// events then carry the total loss but not the per-term values or the spike rate.
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError, SnnlmError } from '../src/errors.js';
import { createRng, rngFromState, rngState } from '../src/generate/index.js';
import type { CausalLM } from '../src/generate/index.js';
import { log, setLogSink } from '../src/log.js';
import { ProgressBar, RunLog } from '../src/progress.js';
import type { ProgressStream } from '../src/progress.js';
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import {
  AdamW,
  NO_DECAY,
  findLatestCheckpoint,
  installStopSignal,
  listCheckpoints,
  loadCheckpoint,
  checkpointTensors,
  makeSchedule,
  optimizerStep,
  saveCheckpoint,
  GradientAccumulator,
  DataParallelEngine,
  splitTokenBatch,
} from '../src/train/index.js';
import type { LoadedCheckpoint, NamedVariables, StopSignal } from '../src/train/index.js';
import { Batcher, batchTensors, sequentialBatches } from '../datasets/index.js';
import type { Batch, DataCursor, SequenceSource } from '../datasets/index.js';
import type { PretrainedModel } from '../models/index.js';
import { warmupSteps } from './config.js';
import type { RunConfig } from './config.js';
import type { ParallelBatch, ParallelTaskOptions } from './parallel-task.js';
import { crossEntropy } from './spad.js';
import type { SpadProjections, SpadTerm, SpadWeights } from './spad.js';
import { microStep } from './step.js';
import type { StepContext, StepOutcome } from './step.js';
import type { Teacher } from './teacher.js';

/** File names of a run folder. */
export const RUN_LOG_FILE = 'train_log.jsonl';
export const RUN_CONFIG_FILE = 'run_config.json';
/** Sub-folder of the run folder holding the final model. */
export const FINAL_MODEL_DIR = 'model';
/** Prefix of loss-owned parameters in checkpoints. */
const LOSS_PARAM_PREFIX = 'spad.';

/** Training stopped on a NaN/Inf loss or gradient. */
export class TrainingDivergedError extends SnnlmError {
  constructor(step: number, what: string, lastCheckpoint: string | null) {
    super(
      'numeric',
      `training stopped at step ${step}: ${what}; ` +
        (lastCheckpoint
          ? `the last good checkpoint is ${lastCheckpoint} (resume with --resume latest)`
          : 'no checkpoint was saved yet'),
      'lower train.lr, enable train.grad_clip, or check the data',
    );
  }
}

/** What `runTraining` is given. */
export interface TrainingJob {
  /** The model trained in place (a spiking student or any registry causal LM). */
  model: PretrainedModel & CausalLM;
  /** Frozen teacher; null/absent = cross-entropy training (`snnlm train`). */
  teacher?: Teacher | null;
  /** Learned SpAD projections (trained and checkpointed with the model). */
  projections?: SpadProjections | null;
  /** Teacher layer per student layer (`layerMap`). */
  layerMap?: readonly number[];
  train: SequenceSource;
  val: SequenceSource | null;
  config: RunConfig;
  /** Run folder: checkpoints, log, run config. */
  outDir: string;
  /** Resume from this checkpoint folder, `latest`, or nothing (fresh run). */
  resume?: string | null;
  /** Where the progress bar goes. @default process.stderr */
  progress?: ProgressStream;
  /** Stop flag; by default SIGINT/SIGTERM handlers are installed for the run. */
  stop?: StopSignal;
  /** Called after every optimizer step (after logging, evaluation, checkpoint). */
  afterStep?: (step: number) => void | Promise<void>;
}

/** What a run did. */
export interface TrainingResult {
  /** Optimizer steps done (including those before a resume). */
  steps: number;
  /** Training tokens seen (including those before a resume). */
  tokens: number;
  /** `completed`, `budget` (CPU-time limit), or `stopped` (signal / request). */
  status: 'completed' | 'budget' | 'stopped';
  /** Last validation perplexity (null without a validation split). */
  valPpl: number | null;
  bestValPpl: number | null;
  lastCheckpoint: string | null;
  /** Mean training tokens per second of this process's run (wall clock). */
  tokPerS: number;
  cpuSeconds: number;
  /** Step the run started from (0, or the resumed checkpoint's). */
  startStep: number;
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * Apply the output-folder rule: an empty or absent folder starts fresh; a non-empty one
 * is refused unless it holds a checkpoint (then the run resumes from the latest) or
 * `overwrite` is set (then the run's own files are removed first). Returns the resume
 * target (`latest`, a path, or null).
 */
export async function prepareRunDir(
  outDir: string,
  options: { resume?: string | null; overwrite?: boolean },
): Promise<string | null> {
  const dir = resolve(outDir);
  const names = await readdir(dir).catch(() => [] as string[]);
  if (options.resume) {
    if (options.overwrite) throw new ConfigError('--resume and --overwrite exclude each other');
    return options.resume;
  }
  if (names.length === 0) return null;
  if (options.overwrite) {
    for (const n of names) {
      if (
        /^\.?checkpoint-\d+/.test(n) ||
        [RUN_LOG_FILE, RUN_CONFIG_FILE, FINAL_MODEL_DIR, 'distill_config.json'].includes(n)
      ) {
        await rm(join(dir, n), { recursive: true, force: true });
      }
    }
    return null;
  }
  if ((await listCheckpoints(dir)).some((c) => c.complete)) {
    log.info(`${dir} holds checkpoints: resuming from the latest`);
    return 'latest';
  }
  throw new ConfigError(
    `output folder ${dir} is not empty and holds no checkpoint`,
    'pass --overwrite to replace it, or choose another --out',
  );
}

/** Token-level perplexity `exp(mean CE)` of `logitsOf` on a split (stream order). */
export async function perplexity(
  logitsOf: (ids: Tensor) => Tensor | Promise<Tensor>,
  source: SequenceSource,
  options: { batchSize: number; maxBatches?: number },
): Promise<{ ppl: number; loss: number; tokens: number }> {
  let sum = 0;
  let tokens = 0;
  let n = 0;
  for await (const batch of sequentialBatches(source, options.batchSize)) {
    if (options.maxBatches && n >= options.maxBatches) break;
    const { inputs, targets } = batchTensors(batch);
    const logits = await logitsOf(inputs);
    const ce = tf.tidy(() => crossEntropy(logits, targets));
    const count = batch.shape[0] * batch.shape[1];
    sum += (await ce.data())[0] * count;
    tokens += count;
    tf.dispose([inputs, targets, logits, ce]);
    n++;
  }
  if (tokens === 0) throw new ConfigError('perplexity: the split has no sequences');
  const loss = sum / tokens;
  return { ppl: Math.exp(loss), loss, tokens };
}

/** Validation perplexity of the model being trained (in eval mode, then back). */
async function evaluate(
  model: PretrainedModel & CausalLM,
  val: SequenceSource,
  c: RunConfig,
): Promise<{ ppl: number; loss: number; tokens: number }> {
  model.eval();
  try {
    return await perplexity((ids) => model.forward(ids).logits, val, {
      batchSize: c.eval.batch_size,
      maxBatches: c.eval.max_batches,
    });
  } finally {
    model.train();
  }
}

/** The worker pool of a run with `train.workers > 1` (see parallel-task.ts). */
async function startEngine(
  job: TrainingJob,
  params: NamedVariables,
  weights: SpadWeights,
): Promise<DataParallelEngine> {
  const c = job.config;
  const p = job.projections?.active ? job.projections : null;
  const options: ParallelTaskOptions = {
    modelConfig: job.model.getConfig() as ParallelTaskOptions['modelConfig'],
    seed: c.seed,
    teacher: job.teacher ? { dir: job.teacher.dir, engine: job.teacher.kind } : null,
    projections: p
      ? {
          studentWidth: p.studentWidth,
          teacherWidth: p.teacherWidth,
          studentLayers: p.params.size - 1,
        }
      : null,
    layerMap: job.layerMap ? [...job.layerMap] : null,
    weights,
    rule: c.train.rule,
    slttK: c.train.sltt_k,
  };
  // the task module beside this file: .ts when running from sources, .js from dist/
  const ext = /\.ts$/.test(new URL(import.meta.url).pathname) ? 'ts' : 'js';
  log.info(`data-parallel training on ${c.train.workers} worker threads`);
  return DataParallelEngine.create(params, {
    task: new URL(`./parallel-task.${ext}`, import.meta.url),
    taskOptions: options,
    workers: c.train.workers,
    seed: c.seed,
    onNonFinite: 'flag',
  });
}

/** A micro-batch's loss and gradients from the worker pool (rows split across workers). */
async function parallelMicroStep(
  engine: DataParallelEngine,
  batch: Batch,
  step: number,
): Promise<StepOutcome> {
  const parts = engine.world;
  const shape = batch.shape;
  const inputs = splitTokenBatch({ ids: batch.inputs, shape }, parts);
  const targets = splitTokenBatch({ ids: batch.targets, shape }, parts);
  const shards: ParallelBatch[] = inputs.map((b, i) => ({
    inputs: b.ids,
    targets: targets[i].ids,
    shape: [b.shape[0], b.shape[1]],
  }));
  const r = await engine.valueAndGrads(shards, { step });
  // a non-finite shard makes the loss non-finite: the loop's NaN stop then applies
  return { loss: r.finite ? r.value : NaN, terms: {}, grads: r.grads };
}

/** Every trainable tensor of the run by checkpoint name (model + loss parameters). */
function runTensors(job: TrainingJob): Map<string, Tensor> {
  const out = new Map<string, Tensor>(job.model.stateDict());
  for (const [n, v] of job.projections?.named() ?? []) out.set(n, v);
  return out;
}

function restoreWeights(job: TrainingJob, ckpt: LoadedCheckpoint): void {
  const type = (ckpt.config as { model_type?: unknown }).model_type;
  if (type !== job.model.modelType) {
    throw new ConfigError(
      `${ckpt.dir}: checkpoint of a ${String(type)} model, this run trains ${job.model.modelType}`,
    );
  }
  const all = checkpointTensors(ckpt);
  try {
    const own = new Map([...all].filter(([n]) => !n.startsWith(LOSS_PARAM_PREFIX)));
    const loss = new Map([...all].filter(([n]) => n.startsWith(LOSS_PARAM_PREFIX)));
    job.model.loadState(own);
    if (job.projections) job.projections.load(loss);
    else if (loss.size)
      throw new ConfigError(`${ckpt.dir}: holds projections this run does not use`);
  } finally {
    tf.dispose([...all.values()]);
  }
}

interface RngSaved {
  seed: number;
  state: number[];
}

/** Run (or resume) training; see the file header. */
export async function runTraining(job: TrainingJob): Promise<TrainingResult> {
  const c = job.config;
  const outDir = resolve(job.outDir);
  const total = c.train.steps;
  const teacherOn = Boolean(job.teacher);
  const weights: SpadWeights = teacherOn
    ? { ...c.loss }
    : { ce: 1, embedding: 0, attention: 0, hidden: 0, logits: 0, temperature: 1 };
  if (!teacherOn && c.loss.ce === 0) log.warn('loss.ce is 0 but there is no teacher: using CE');
  const params = [...job.model.namedParameters(), ...(job.projections?.named() ?? [])];
  const optimizer = new AdamW(params, {
    lr: c.train.lr,
    betas: [c.train.beta1, c.train.beta2],
    eps: c.train.eps,
    weightDecay: c.train.weight_decay,
    groups: [NO_DECAY],
  });
  const schedule =
    c.train.schedule === 'constant'
      ? makeSchedule({ kind: 'constant', lr: c.train.lr, warmupSteps: warmupSteps(c) })
      : makeSchedule({
          kind: c.train.schedule,
          lr: c.train.lr,
          warmupSteps: warmupSteps(c),
          totalSteps: total,
          minLr: c.train.min_lr,
        });

  // Resume: weights, optimizer, data cursor, RNG; the schedule follows the step.
  let startStep = 0;
  let tokens = 0;
  let cursor: DataCursor | undefined;
  let rng = createRng(c.seed);
  let bestMetric: number | null = null;
  let bestStep: number | null = null;
  let lastCheckpoint: string | null = null;
  if (job.resume) {
    let dir = job.resume;
    if (job.resume === 'latest') {
      const found = await findLatestCheckpoint(outDir);
      if (!found) {
        throw new ConfigError(
          `--resume latest: ${outDir} holds no complete checkpoint`,
          'start a fresh run (without --resume)',
        );
      }
      dir = found.dir;
    }
    const ckpt = await loadCheckpoint(dir);
    restoreWeights(job, ckpt);
    optimizer.loadState(ckpt.optimizer, join(ckpt.dir, 'optimizer.safetensors'));
    const st = ckpt.trainerState;
    startStep = st.step;
    cursor = (st.dataCursor as DataCursor | null) ?? undefined;
    const saved = st.rngState as RngSaved | null;
    if (saved?.state) rng = rngFromState(saved.state, saved.seed);
    // every step takes grad_accum full batches (the batcher drops incomplete ones)
    tokens = startStep * c.train.grad_accum * c.data.batch_size * job.train.seqLen;
    bestMetric = st.bestMetric;
    bestStep = st.bestStep;
    lastCheckpoint = ckpt.dir;
    log.info(`resuming from ${ckpt.dir} (step ${startStep})`);
  }
  if (startStep > total) {
    throw new ConfigError(
      `the checkpoint is at step ${startStep}, past train.steps = ${total}`,
      'raise --train.steps to continue',
    );
  }

  const batcher = new Batcher({
    source: job.train,
    batchSize: c.data.batch_size,
    seed: c.seed,
    ...(cursor ? { cursor } : {}),
  });
  const stepCtx: StepContext = {
    model: job.model,
    teacher: job.teacher ?? null,
    projections: job.projections ?? null,
    ...(job.layerMap ? { layerMap: job.layerMap } : {}),
    weights,
    rule: c.train.rule,
    slttK: c.train.sltt_k,
  };
  // workers > 1: started before the clock and the bar, so tokens/s is the training rate
  const engine = c.train.workers > 1 ? await startEngine(job, params, weights) : null;
  let runLog: RunLog;
  try {
    runLog = new RunLog(join(outDir, RUN_LOG_FILE));
  } catch (err) {
    await engine?.close();
    throw err;
  }
  const stop = job.stop ?? installStopSignal();
  const bar = new ProgressBar({
    total,
    initialStep: startStep,
    stream: job.progress,
    everySteps: c.log.every,
  });
  const prevSink = setLogSink((line) => bar.log(line));
  const accum = new GradientAccumulator();
  const wall0 = performance.now();
  const cpu0 = cpuSeconds();
  let tokensThisRun = 0;
  let step = startStep;
  let savedAt = startStep > 0 ? startStep : -1;
  let valPpl: number | null = null;
  let evaluatedAt = -1;
  let status: TrainingResult['status'] = 'completed';
  if (job.resume) runLog.write({ event: 'resume', step, checkpoint: lastCheckpoint });

  const checkpoint = async (): Promise<void> => {
    runLog.flush();
    lastCheckpoint = await saveCheckpoint(outDir, step, {
      model: { config: job.model.getConfig(), tensors: runTensors(job) },
      optimizer,
      trainerState: {
        epoch: step / Math.max(1, batcher.stepsPerEpoch / c.train.grad_accum),
        dataCursor: batcher.cursor(),
        rngState: { seed: rng.seed, state: rngState(rng) },
        bestMetric,
        bestStep,
        logHistory: runLog.tail().slice(-20) as never,
      },
      keepLast: c.checkpoint.keep_last,
    });
    savedAt = step;
  };
  const runEval = async (): Promise<boolean> => {
    if (!job.val) return false;
    const r = await evaluate(job.model, job.val, c);
    valPpl = r.ppl;
    evaluatedAt = step;
    runLog.write({ step, split: 'val', loss: r.loss, ppl: r.ppl, tokens: r.tokens });
    bar.log(`step ${step}: val loss ${r.loss.toFixed(4)}, ppl ${r.ppl.toFixed(2)}`);
    if (bestMetric === null || r.ppl < bestMetric) {
      bestMetric = r.ppl;
      bestStep = step;
      return true;
    }
    return false;
  };

  job.model.train();
  try {
    while (step < total) {
      if (stop.requested) {
        status = 'stopped';
        break;
      }
      if (c.train.max_cpu_seconds > 0 && cpuSeconds() - cpu0 >= c.train.max_cpu_seconds) {
        status = 'budget';
        log.info(`CPU-time budget of ${c.train.max_cpu_seconds} s reached at step ${step}`);
        break;
      }
      optimizer.lr = schedule(step);
      let lossSum = 0;
      const termSums: Partial<Record<SpadTerm, number>> = {};
      let rateSum = 0;
      let rateCount = 0;
      let stepTokens = 0;
      let grads: Map<string, Tensor> | null = null;
      for (let m = 0; m < c.train.grad_accum; m++) {
        const batch = await batcher.next();
        const { inputs, targets } = batchTensors(batch);
        let out: StepOutcome;
        try {
          out = engine
            ? await parallelMicroStep(engine, batch, step * c.train.grad_accum + m)
            : await microStep(stepCtx, inputs, targets, () => rng.next());
        } finally {
          tf.dispose([inputs, targets]);
        }
        lossSum += out.loss;
        for (const [k, v] of Object.entries(out.terms)) {
          termSums[k as SpadTerm] = (termSums[k as SpadTerm] ?? 0) + v;
        }
        if (out.firingRate !== undefined) {
          rateSum += out.firingRate;
          rateCount++;
        }
        stepTokens += batch.shape[0] * batch.shape[1];
        if (c.train.grad_accum === 1) grads = out.grads;
        else {
          accum.add(out.grads);
          tf.dispose([...out.grads.values()]);
        }
      }
      if (!grads) {
        grads = accum.mean();
        accum.reset();
      }
      const loss = lossSum / c.train.grad_accum;
      let applied = false;
      let gradNorm = NaN;
      try {
        if (Number.isFinite(loss)) {
          const r = await optimizerStep(optimizer, grads, {
            ...(c.train.grad_clip > 0 ? { maxGradNorm: c.train.grad_clip } : {}),
            onNonFinite: 'flag',
          });
          applied = r.applied;
          gradNorm = r.gradNorm;
        }
      } finally {
        tf.dispose([...grads.values()]);
      }
      if (!applied) {
        const what = Number.isFinite(loss)
          ? `non-finite gradient norm (${gradNorm})`
          : `non-finite loss (${loss})`;
        runLog.write({ step: step + 1, event: 'diverged', loss, grad_norm: gradNorm });
        throw new TrainingDivergedError(step + 1, what, lastCheckpoint);
      }
      step++;
      tokens += stepTokens;
      tokensThisRun += stepTokens;
      const lr = optimizer.lr;
      bar.update(step, { tokens: stepTokens, metrics: { loss, lr } });
      if (step % c.log.every === 0 || step === total) {
        const event: Record<string, unknown> = { step, loss };
        for (const [k, v] of Object.entries(termSums)) {
          event[k === 'logits' ? 'kl' : k] = v / c.train.grad_accum;
        }
        Object.assign(event, {
          lr,
          grad_norm: gradNorm,
          tok_per_s: Math.round(bar.tokensPerSecond),
          tokens,
        });
        if (rateCount > 0) event.spike_rate = rateSum / rateCount;
        runLog.write(event);
      }
      let improved = false;
      if (c.eval.every > 0 && step % c.eval.every === 0 && step < total) improved = await runEval();
      const due = c.checkpoint.every > 0 && step % c.checkpoint.every === 0 && step < total;
      if (due || improved) await checkpoint();
      await job.afterStep?.(step);
    }
    if (status !== 'stopped' && evaluatedAt !== step) await runEval();
    if (savedAt !== step) await checkpoint();
  } finally {
    await engine?.close();
    bar.close();
    setLogSink(prevSink);
    accum.dispose();
    optimizer.dispose();
    runLog.close();
    if (!job.stop) stop.dispose();
  }
  const seconds = (performance.now() - wall0) / 1000;
  const result: TrainingResult = {
    steps: step,
    tokens,
    status,
    valPpl,
    bestValPpl: bestMetric,
    lastCheckpoint,
    tokPerS: seconds > 0 ? tokensThisRun / seconds : 0,
    cpuSeconds: cpuSeconds() - cpu0,
    startStep,
  };
  if (status === 'stopped') log.warn(`stopped at step ${step}; saved ${lastCheckpoint}`);
  return result;
}
