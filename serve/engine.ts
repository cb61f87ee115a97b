// The generation engine, knowing nothing of HTTP: loads a model folder, admits
// jobs through a bounded queue and a concurrency limit, streams their tokens,
// cancels them when their AbortSignal fires (client gone, timeout, shutdown),
// and reports per job tokens, times, spikes, synaptic operations and energy.
//
// The wasm backend runs one thread per tfjs engine, so by default jobs run in
// worker threads (piscina), one tfjs engine and one copy of the model per
// worker: concurrent requests use every core and the HTTP event loop never
// waits on the model. A worker interleaves up to `jobsPerWorker` jobs token by
// token (generation yields between tokens), so a new request starts within a
// token step instead of waiting for whole generations ahead of it (jobs are not
// batched into one decode call). `workers: 0` runs jobs in this thread instead
// (tests, debugging; generation yields between tokens there too).
// Workers start from dist/serve/worker.js when this file is compiled, and from
// serve/worker-boot.mjs (which registers tsx's loader) when it runs as
// TypeScript, e.g. under vitest.
import { cpus } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { PretrainedModel } from '../models/index.js';
import { loadCausalLM } from '../models/index.js';
import { initBackend } from '../src/backend.js';
import { ConfigError, SnnlmError, checkPositiveInt } from '../src/errors.js';
import type { CausalLM } from '../src/generate/index.js';
import { generationDefaults } from '../src/generate/index.js';
import type { GenerateOptions } from '../src/generate/index.js';
import { loadModelFolder } from '../src/io/index.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { runJob } from './job.js';
import { describeModel, readTokenizerConfig } from './model-info.js';
import type { Job, JobResult, ModelInfo, TokenEvent } from './types.js';
import type { WorkerConfig, WorkerMessage, WorkerTask } from './worker.js';

/** The queue is full: try again later (HTTP 429). */
export class OverloadedError extends SnnlmError {
  constructor(message: string) {
    super('overloaded', message, 'retry after a moment');
  }
}

/** The engine is not serving: still loading, or shutting down (HTTP 503). */
export class UnavailableError extends SnnlmError {
  constructor(message: string) {
    super('unavailable', message);
  }
}

/** Options of `Engine`. */
export interface EngineOptions {
  /** Model folder (config.json, model.safetensors, tokenizer.json). */
  model: string;
  /** Worker threads; 0 runs jobs in this thread. @default min(2, CPUs) */
  workers?: number;
  /** Jobs running at once in this thread when `workers` is 0. @default 1 */
  concurrency?: number;
  /** Jobs a worker interleaves (token by token). @default 4 [P] */
  jobsPerWorker?: number;
  /** Jobs waiting beyond the running ones before new ones are refused. @default 64 */
  maxQueue?: number;
  /** tfjs backend for every thread (else `SNNLM_BACKEND` or the default order). */
  backend?: string;
  /** Count spikes and energy per token. @default true */
  countEnergy?: boolean;
}

/** Per-job callbacks and cancellation. */
export interface SubmitOptions {
  signal?: AbortSignal;
  onEvent?: (event: TokenEvent) => void;
}

type RunFn = (
  job: Job,
  signal: AbortSignal,
  onEvent?: (e: TokenEvent) => void,
) => Promise<JobResult>;

interface Waiting {
  job: Job;
  options: SubmitOptions;
  enqueued: number;
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
  onAbort: () => void;
}

/** The default number of workers: every core, at most 2 (what a small server has). */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(2, cpus().length));
}

/** See the file header. */
export class Engine {
  readonly options: Required<Omit<EngineOptions, 'backend'>> & { backend?: string };
  /** Resolves when the model is loaded in every thread (rejects if loading fails). */
  readonly ready: Promise<void>;
  private status: 'loading' | 'ready' | 'failed' | 'closing' | 'closed' = 'loading';
  private loadError: unknown = null;
  private model: (PretrainedModel & CausalLM) | null = null;
  private pool: Piscina | null = null;
  private tok: Tokenizer | null = null;
  private tokConfig: Record<string, unknown> = {};
  private defaults: GenerateOptions = {};
  private modelInfo: ModelInfo | null = null;
  private readonly queue: Waiting[] = [];
  private readonly active = new Set<AbortController>();
  private idle: (() => void) | null = null;
  private runningCount = 0;
  private run: RunFn | null = null;

  constructor(options: EngineOptions) {
    const workers = options.workers ?? defaultWorkers();
    if (!Number.isInteger(workers) || workers < 0) {
      throw new ConfigError(`workers must be an integer >= 0, got ${String(options.workers)}`);
    }
    const jobsPerWorker = options.jobsPerWorker ?? 4;
    checkPositiveInt(jobsPerWorker, 'jobsPerWorker');
    const concurrency = workers > 0 ? workers * jobsPerWorker : (options.concurrency ?? 1);
    checkPositiveInt(concurrency, 'concurrency');
    const maxQueue = options.maxQueue ?? 64;
    if (!Number.isInteger(maxQueue) || maxQueue < 0) {
      throw new ConfigError(`maxQueue must be an integer >= 0, got ${String(options.maxQueue)}`);
    }
    this.options = {
      model: options.model,
      workers,
      concurrency,
      jobsPerWorker,
      maxQueue,
      backend: options.backend,
      countEnergy: options.countEnergy ?? true,
    };
    this.ready = this.load().then(
      () => {
        if (this.status === 'loading') this.status = 'ready';
      },
      (e: unknown) => {
        this.status = 'failed';
        this.loadError = e;
        throw e;
      },
    );
    // The caller may only look at `status`; keep an unobserved failure from crashing.
    this.ready.catch(() => undefined);
  }

  /** Load an engine and wait until it serves. */
  static async start(options: EngineOptions): Promise<Engine> {
    const engine = new Engine(options);
    try {
      await engine.ready;
    } catch (e) {
      await engine.close();
      throw e;
    }
    return engine;
  }

  /** `loading`, `ready`, `failed`, `closing` or `closed`. */
  get state(): string {
    return this.status;
  }

  /** Why loading failed (when `state` is `failed`). */
  get error(): unknown {
    return this.loadError;
  }

  /** Jobs running now. */
  get running(): number {
    return this.runningCount;
  }

  /** Jobs waiting for a free slot. */
  get queued(): number {
    return this.queue.length;
  }

  /** Whether a job submitted now would be admitted (ready, and a slot or queue room free). */
  get accepting(): boolean {
    return (
      this.status === 'ready' &&
      (this.runningCount < this.options.concurrency || this.queue.length < this.options.maxQueue)
    );
  }

  /** The model's tokenizer (throws while loading). */
  get tokenizer(): Tokenizer {
    this.checkLoaded();
    return this.tok!;
  }

  /** tokenizer_config.json of the folder ({} when absent). */
  get tokenizerConfig(): Record<string, unknown> {
    return this.tokConfig;
  }

  /** The model's description (throws while loading). */
  get info(): ModelInfo {
    this.checkLoaded();
    return this.modelInfo!;
  }

  /** Request defaults from the folder's generation_config.json. */
  get generationDefaults(): GenerateOptions {
    return this.defaults;
  }

  private checkLoaded(): void {
    if (!this.modelInfo || !this.tok) {
      throw new UnavailableError(
        this.status === 'failed' ? 'the model failed to load' : 'the model is still loading',
      );
    }
  }

  private async load(): Promise<void> {
    const dir = this.options.model;
    const folder = await loadModelFolder(dir);
    await folder.close();
    this.defaults = generationDefaults(folder.generationConfig);
    this.tokConfig = await readTokenizerConfig(dir);
    const tokenizer = await Tokenizer.fromFolder(dir);
    if (this.options.workers === 0) {
      await initBackend(this.options.backend);
      const model = await loadCausalLM(dir);
      this.model = model;
      this.modelInfo = describeModel(model, dir);
      const countEnergy = this.options.countEnergy;
      this.run = (job, signal, onEvent) =>
        runJob(model, tokenizer, job, { signal, onEvent, countEnergy });
    } else {
      const ts = import.meta.url.endsWith('.ts');
      const workerData: WorkerConfig = {
        dir,
        backend: this.options.backend,
        countEnergy: this.options.countEnergy,
      };
      const pool = new Piscina({
        filename: join(import.meta.dirname, ts ? 'worker-boot.mjs' : 'worker.js'),
        minThreads: this.options.workers,
        maxThreads: this.options.workers,
        concurrentTasksPerWorker: this.options.jobsPerWorker,
        idleTimeout: Infinity,
        workerData,
      });
      this.pool = pool;
      // One info task per worker; the first resolves once a thread has loaded the model.
      const infos = await Promise.all(
        Array.from({ length: this.options.workers }, () =>
          pool.run({ type: 'info' } satisfies WorkerTask),
        ),
      );
      this.modelInfo = infos[0] as ModelInfo;
      this.run = (job, signal, onEvent) => runInWorker(pool, job, signal, onEvent);
    }
    this.tok = tokenizer;
  }

  /**
   * Run `job`: at once when a slot is free, else after the jobs queued before
   * it. Rejects with OverloadedError when the queue is full, UnavailableError
   * while loading or closing, and the signal's reason when it fires.
   */
  submit(job: Job, options: SubmitOptions = {}): Promise<JobResult> {
    if (this.status !== 'ready') {
      return Promise.reject(
        new UnavailableError(
          this.status === 'loading' ? 'the model is still loading' : `the engine is ${this.status}`,
        ),
      );
    }
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    if (this.runningCount < this.options.concurrency) return this.start(job, options, 0);
    if (this.queue.length >= this.options.maxQueue) {
      return Promise.reject(
        new OverloadedError(
          `the server is busy: ${this.runningCount} jobs running and ${this.queue.length} queued (limit ${this.options.maxQueue})`,
        ),
      );
    }
    return new Promise<JobResult>((resolve, reject) => {
      const entry: Waiting = {
        job,
        options,
        enqueued: performance.now(),
        resolve,
        reject,
        onAbort: () => {
          const i = this.queue.indexOf(entry);
          if (i >= 0) this.queue.splice(i, 1);
          reject(options.signal!.reason);
        },
      };
      options.signal?.addEventListener('abort', entry.onAbort, { once: true });
      this.queue.push(entry);
    });
  }

  private async start(job: Job, options: SubmitOptions, queueMs: number): Promise<JobResult> {
    this.runningCount++;
    // A job aborts on its own signal or when the engine closes.
    const ac = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, ac.signal]) : ac.signal;
    this.active.add(ac);
    try {
      const result = await this.run!(job, signal, options.onEvent);
      return { ...result, queue_ms: queueMs };
    } finally {
      this.active.delete(ac);
      this.runningCount--;
      this.next();
    }
  }

  private next(): void {
    while (this.runningCount < this.options.concurrency && this.queue.length > 0) {
      const w = this.queue.shift()!;
      w.options.signal?.removeEventListener('abort', w.onAbort);
      this.start(w.job, w.options, performance.now() - w.enqueued).then(w.resolve, w.reject);
    }
    if (this.runningCount === 0 && this.queue.length === 0) this.idle?.();
  }

  /**
   * Stop: refuse new jobs, drop queued ones (UnavailableError), give running
   * ones `graceMs` to finish, abort the rest, then free the model and workers.
   */
  async close(graceMs = 0): Promise<void> {
    if (this.status === 'closed' || this.status === 'closing') return;
    this.status = 'closing';
    for (const w of this.queue.splice(0)) {
      w.options.signal?.removeEventListener('abort', w.onAbort);
      w.reject(new UnavailableError('the server is shutting down'));
    }
    if (this.runningCount > 0) {
      const drained = new Promise<void>((resolve) => (this.idle = resolve));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          for (const ac of this.active)
            ac.abort(new UnavailableError('the server is shutting down'));
          resolve();
        }, graceMs);
      });
      await Promise.race([drained, late]);
      clearTimeout(timer);
      await drained;
    }
    await this.ready.catch(() => undefined);
    this.model?.dispose();
    this.model = null;
    await this.pool?.destroy();
    this.pool = null;
    this.status = 'closed';
  }
}

/** Run a job in a worker, streaming its events back over a MessageChannel. */
async function runInWorker(
  pool: Piscina,
  job: Job,
  signal: AbortSignal,
  onEvent?: (e: TokenEvent) => void,
): Promise<JobResult> {
  signal.throwIfAborted();
  const { port1, port2 } = new MessageChannel();
  const done = new Promise<JobResult>((resolve, reject) => {
    port1.on('message', (m: WorkerMessage) => {
      if (m.type === 'token') onEvent?.(m.event);
      else if (m.type === 'done') resolve(m.result);
      else if (m.aborted) reject(signal.reason);
      else reject(m.kind === 'config' ? new ConfigError(m.message) : new Error(m.message));
    });
  });
  const onAbort = (): void => {
    const reason = signal.reason as { message?: unknown } | undefined;
    port1.postMessage({ type: 'cancel', reason: String(reason?.message ?? 'cancelled') });
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const task = pool.run({ type: 'job', job, port: port2 } satisfies WorkerTask, {
      transferList: [port2],
    });
    // The worker posts `done` (or `error`) before its task resolves; a task that
    // rejects (a crashed worker) rejects the job.
    return await Promise.race([done, task.then(() => done)]);
  } finally {
    signal.removeEventListener('abort', onAbort);
    port1.close();
  }
}
