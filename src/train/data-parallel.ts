// Data-parallel gradients across worker_threads: one tfjs engine per worker,
// parameters and gradients exchanged through shared memory, gradients averaged on
// the main thread. A drop-in replacement for "the loss and gradients of this
// batch": the optimizer, clipping, schedule and checkpoints stay on the main
// thread, unchanged. Why: the wasm backend runs one thread in Node, so a single
// training process leaves the other cores idle (src/backend.ts).
//
// How one step runs (`engine.valueAndGrads(shards)`):
//   1. the main thread copies its current trainable parameters into one shared
//      float32 buffer (a name -> offset layout, `engine.layout`);
//   2. shard i goes to a worker of a piscina pool; the worker loads the shared
//      parameters into its replica (once per step), calls the task's
//      `grads(batch, ctx)`, and writes the gradients into slot i of a shared
//      gradient buffer (`world` slots of the same layout);
//   3. the main thread averages the slots weighted by each shard's `weight`
//      (its token count): sum_i w_i g_i / sum_i w_i. When each shard's loss is the
//      mean over its tokens this equals the gradient of the mean loss over the
//      whole batch, exactly up to float rounding (the same data, split by rows).
//      A loss that sums terms with different denominators (e.g. CE over B·(N-1)
//      predictions plus alignment terms over B·N positions) still averages exactly
//      when every denominator is proportional to the shard's rows: use the rows
//      (or any one of those counts) as the weight.
//
//   const engine = await DataParallelEngine.create(model.namedParameters(), {
//     task: new URL('./my-task.js', import.meta.url), taskOptions: { config }, workers: 2 });
//   for (...) {
//     const { value, grads } = await engine.valueAndGrads(splitTokenBatch(batch, 2), { step });
//     await optimizerStep(opt, grads, { maxGradNorm: 1 }); // as with valueAndGrads()
//     tf.dispose([...grads.values()]);
//   }
//   await engine.close();
//
// The task module. src/ cannot import models/ or datasets/, so a worker learns WHAT
// to compute from a module given by URL (or path) when the engine is created,
// with JSON-serialisable options. It exports
//
//   export async function setup(options: O, info: TaskInfo): Promise<DataParallelTask<B>>
//
// where the task holds `params` (the replica's trainable parameters by public
// name: the same names and shapes as the main thread's, e.g.
// `model.namedParameters()` of a model built from the same config) and
// `grads(batch, ctx)` returning `{ value, weight, grads }` for one shard: the
// loss (a number or scalar tensor), its weight (tokens the mean ran over) and the
// gradients by name (a GradMap; the worker reads and disposes them). Batches are
// whatever the task defines, as long as structured clone can copy them; for token
// ids use `TokenBatch` and `splitTokenBatch`. `ctx.seed` is derived from the
// engine seed, the step and the shard index: use it for any randomness, so that
// a run is deterministic given the seed and the world size (whichever worker
// thread runs a shard gives the same result, since every shard starts from the
// published parameters).
//
// Running from compiled JS (dist/) the worker entry is `data-parallel-worker.js`
// beside this file. Running from TypeScript sources (vitest, `node --import tsx`)
// it is `data-parallel-worker.ts`: the workers then get `--import tsx` so that the
// entry can load, and the entry registers tsx's ESM loader (`tsx/esm/api`)
// before importing anything else; it does the same in dist/ when the task module
// is a `.ts`/`.mts` file (tsx is a development dependency).
//
// Errors: an exception in a task or a crashed worker rejects the call with a
// DataParallelError that names the shard and step and carries the worker's
// message, and closes the pool (later calls reject with the same error). A
// non-finite loss or gradient rejects likewise but leaves the pool open (the
// caller may skip the batch), or with `onNonFinite: 'flag'` is returned as
// `finite: false`. Always `await engine.close()` when done (idle workers do not
// keep the process alive, but each holds a model replica).
//
// Limits: each worker holds a full replica, so memory grows with the world size.
// Only trainable parameters are published; non-trainable state of a replica
// (e.g. BatchNorm running statistics) stays the worker's own. The backend of the
// workers is the main thread's when it has started one (else the default order
// or SNNLM_BACKEND); tfjs-node in worker threads is untested.
import { Piscina } from 'piscina';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import { backendInfo } from '../backend.js';
import type { BackendName } from '../backend.js';
import { ConfigError, SnnlmError, checkPositiveInt } from '../errors.js';
import { deriveSeed } from '../layers/module.js';
import { log } from '../log.js';
import { tf } from '../tf.js';
import type { Tensor, Variable } from '../tf.js';
import type { GradMap, NamedVariables } from './optimizer.js';

/** One parameter's place in the shared float32 buffers. */
export interface ParamSlot {
  readonly name: string;
  readonly shape: readonly number[];
  /** First element (float32 index) in a slot. */
  readonly offset: number;
  /** Number of elements. */
  readonly size: number;
}

/** A batch of token ids `[B, N]`, row-major; the shape every LM task uses. */
export interface TokenBatch {
  readonly ids: Int32Array;
  readonly shape: readonly [number, number];
}

/** What a task's `grads` learns about the shard it computes. */
export interface ShardContext {
  /** Step number given to (or counted by) the engine. */
  readonly step: number;
  /** Index of this shard in the call, 0-based. */
  readonly shard: number;
  /** Shards in this call. */
  readonly shards: number;
  /** Seed of this (step, shard): derived from the engine seed. */
  readonly seed: number;
}

/** One shard's loss and gradients, as a task returns them. */
export interface ShardGrads {
  /** The shard's loss (a mean over `weight` tokens); a tensor is read and disposed. */
  readonly value: number | Tensor;
  /** Tokens (or examples) the loss is a mean over; >= 0. */
  readonly weight: number;
  /** Gradients by public name; the worker reads and disposes them. Absent names count as zero. */
  readonly grads: GradMap;
}

/** What a task module's `setup` returns: a replica and how to differentiate one shard. */
export interface DataParallelTask<B = unknown> {
  /** The replica's trainable parameters by public name (same names and shapes as the main thread's). */
  readonly params: NamedVariables;
  grads(batch: B, ctx: ShardContext): ShardGrads | Promise<ShardGrads>;
  /** Called when the worker's task is dropped (optional). */
  dispose?(): void;
}

/** The second argument of a task module's `setup`. */
export interface TaskInfo {
  /** World size of the engine. */
  readonly workers: number;
  /** The backend the worker started. */
  readonly backend: string;
}

/** The signature a task module's `setup` export has. */
export type TaskSetup<O = unknown, B = unknown> = (
  options: O,
  info: TaskInfo,
) => Promise<DataParallelTask<B>> | DataParallelTask<B>;

/** Options of `DataParallelEngine.create`. */
export interface DataParallelOptions {
  /** The task module: a file URL (`new URL('./task.js', import.meta.url)`) or a path. */
  task: string | URL;
  /** JSON-serialisable options handed to the task's `setup`. @default {} */
  taskOptions?: unknown;
  /** Worker threads (the world size). */
  workers: number;
  /** Seed of the per-shard seeds. @default 0 */
  seed?: number;
  /** tfjs backend of the workers. @default the main thread's, else the default order */
  backend?: BackendName;
  /**
   * A non-finite loss or gradient in a shard: `'throw'` rejects the call with a
   * DataParallelError naming the shard and parameters; `'flag'` returns the
   * non-finite average with `finite: false`, so that the main thread's own checks
   * (e.g. `optimizerStep`) see exactly what they would in one process. @default 'throw'
   */
  onNonFinite?: 'throw' | 'flag';
}

/** Per-shard figures of one call. */
export interface ShardReport {
  readonly value: number;
  readonly weight: number;
  /** Wall time the worker spent on the shard (loading parameters, loss, gradients, copy). */
  readonly ms: number;
  /** Live tensors in the worker after the shard (constant from step to step unless a task leaks). */
  readonly tensors: number;
}

/** The weighted averages of one call. */
export interface DataParallelResult {
  /** Weighted mean loss: sum_i w_i value_i / sum_i w_i. */
  readonly value: number;
  /** Total weight (tokens) of the call. */
  readonly weight: number;
  /** Weighted mean gradients by name, new tensors owned by the caller (dispose them). */
  readonly grads: Map<string, Tensor>;
  /** False when a loss or gradient was non-finite (only with `onNonFinite: 'flag'`). */
  readonly finite: boolean;
  readonly shards: readonly ShardReport[];
}

/** A failure in a worker (exception, non-finite value, crash), named by shard and step. */
export class DataParallelError extends SnnlmError {
  /** The shard whose worker failed (-1 for a failure outside any shard). */
  readonly shard: number;
  readonly step: number;

  constructor(message: string, shard: number, step: number, hint?: string) {
    super('data-parallel', message, hint);
    this.shard = shard;
    this.step = step;
  }
}

/** What the main thread gives every worker at start (`workerData`). @internal */
export interface WorkerInit {
  readonly task: string;
  readonly taskOptions: unknown;
  readonly backend: BackendName | null;
  readonly workers: number;
  readonly layout: readonly ParamSlot[];
  /** float32 [P]: the published parameters. */
  readonly params: SharedArrayBuffer;
  /** float32 [workers * P]: one gradient slot per shard. */
  readonly grads: SharedArrayBuffer;
}

/** A message to a worker. @internal */
export type WorkerRequest =
  | { readonly kind: 'ready' }
  | {
      readonly kind: 'shard';
      /** Parameter version: a worker reloads the shared parameters when it changes. */
      readonly version: number;
      readonly ctx: ShardContext;
      readonly batch: unknown;
    };

/** A worker's answer. @internal */
export type WorkerReply =
  | { readonly kind: 'ready'; readonly threadId: number; readonly backend: string }
  | {
      readonly kind: 'shard';
      readonly value: number;
      readonly weight: number;
      /** Layout names the task returned no gradient for (their slot holds zeros). */
      readonly missing: readonly string[];
      /** Names whose gradient holds NaN or ±Inf. */
      readonly nonFinite: readonly string[];
      readonly ms: number;
      readonly tensors: number;
    };

/** Layout of the trainable float32 parameters, in the order given. */
export function paramLayout(params: NamedVariables): ParamSlot[] {
  const out: ParamSlot[] = [];
  const seen = new Set<string>();
  let offset = 0;
  for (const [name, v] of params) {
    if (!v.trainable) continue;
    if (seen.has(name)) throw new ConfigError(`data-parallel: parameter "${name}" is given twice`);
    if (v.dtype !== 'float32') {
      throw new ConfigError(
        `data-parallel: parameter "${name}" is ${v.dtype}; only float32 trains`,
      );
    }
    seen.add(name);
    out.push({ name, shape: [...v.shape], offset, size: v.size });
    offset += v.size;
  }
  if (out.length === 0) throw new ConfigError('data-parallel: no trainable parameters given');
  return out;
}

/**
 * Split a token batch into at most `parts` shards of whole rows, as even as
 * possible (the first `B % parts` shards get one row more); never an empty shard.
 */
export function splitTokenBatch(batch: TokenBatch, parts: number): TokenBatch[] {
  checkPositiveInt(parts, 'parts');
  const [B, N] = batch.shape;
  checkPositiveInt(B, 'batch rows');
  if (batch.ids.length !== B * N) {
    throw new ConfigError(
      `token batch: ${batch.ids.length} ids do not fill shape [${B}, ${N}] (${B * N})`,
    );
  }
  const n = Math.min(parts, B);
  const out: TokenBatch[] = [];
  let row = 0;
  for (let i = 0; i < n; i++) {
    const rows = Math.floor(B / n) + (i < B % n ? 1 : 0);
    out.push({ ids: batch.ids.slice(row * N, (row + rows) * N), shape: [rows, N] });
    row += rows;
  }
  return out;
}

/** The seed of shard `shard` at `step`. */
export function shardSeed(seed: number, step: number, shard: number): number {
  return deriveSeed(seed, `data-parallel/${step}/${shard}`);
}

/** The worker entry beside this file, and whether the workers need tsx to load it. */
function workerEntry(): { filename: string; fromSource: boolean } {
  const fromSource = /\.[mc]?ts$/.test(fileURLToPath(import.meta.url));
  const file = new URL(`./data-parallel-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  return { filename: file.href, fromSource };
}

function taskUrl(task: string | URL): string {
  if (task instanceof URL) return task.href;
  if (/^file:/i.test(task)) return task;
  if (/^[a-z][a-z0-9+.-]*:/i.test(task) && !isAbsolute(task)) {
    throw new ConfigError(`data-parallel: task ${JSON.stringify(task)} is not a file URL or path`);
  }
  return pathToFileURL(resolve(task)).href;
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Data-parallel "loss and gradients of a batch" over a pool of worker threads. */
export class DataParallelEngine {
  /** Worker threads (the most shards one call takes). */
  readonly world: number;
  /** Where each trainable parameter lives in the shared buffers. */
  readonly layout: readonly ParamSlot[];
  readonly #vars: readonly Variable[];
  readonly #pool: Piscina;
  readonly #params: Float32Array;
  readonly #grads: Float32Array;
  readonly #size: number;
  readonly #seed: number;
  readonly #onNonFinite: 'throw' | 'flag';
  #version = 0;
  #step = 0;
  #busy = false;
  #closed: Promise<void> | null = null;
  #failure: DataParallelError | null = null;
  readonly #seen = new WeakSet<object>();
  readonly #live = new Set<object>();

  private constructor(params: NamedVariables, options: DataParallelOptions) {
    checkPositiveInt(options.workers, 'workers');
    const onNonFinite = options.onNonFinite ?? 'throw';
    if (onNonFinite !== 'throw' && onNonFinite !== 'flag') {
      throw new ConfigError(`onNonFinite must be 'throw' or 'flag', got ${String(onNonFinite)}`);
    }
    const entries = [...params].filter(([, v]) => v.trainable);
    this.layout = paramLayout(entries);
    this.#vars = entries.map(([, v]) => v);
    this.world = options.workers;
    this.#seed = options.seed ?? 0;
    this.#onNonFinite = onNonFinite;
    const last = this.layout[this.layout.length - 1];
    this.#size = last.offset + last.size;
    const paramsBuf = new SharedArrayBuffer(this.#size * 4);
    const gradsBuf = new SharedArrayBuffer(this.#size * this.world * 4);
    this.#params = new Float32Array(paramsBuf);
    this.#grads = new Float32Array(gradsBuf);
    const init: WorkerInit = {
      task: taskUrl(options.task),
      taskOptions: options.taskOptions ?? {},
      backend: options.backend ?? (backendInfo()?.backend as BackendName | undefined) ?? null,
      workers: this.world,
      layout: this.layout,
      params: paramsBuf,
      grads: gradsBuf,
    };
    const { filename, fromSource } = workerEntry();
    // tsx's full loader (its CommonJS hook loads the .ts entry); `tsx/esm` alone is not enough.
    const argv = process.execArgv;
    const hasTsx = argv.some(
      (a, i) => a === '--import=tsx' || (a === '--import' && argv[i + 1] === 'tsx'),
    );
    this.#pool = new Piscina({
      filename,
      workerData: init,
      minThreads: this.world,
      maxThreads: this.world,
      concurrentTasksPerWorker: 1,
      // The workers' event loops must stay free while idle: set-up runs at load.
      atomics: 'disabled',
      recordTiming: false,
      ...(fromSource && !hasTsx ? { execArgv: [...argv, '--import', 'tsx'] } : {}),
    });
    this.#track();
    this.#pool.on('workerCreate', () => this.#track());
    // Errors outside any task (a worker failing at start) are reported here;
    // the next call rejects with it instead of the process crashing.
    this.#pool.on('error', (err: unknown) => {
      this.#failure ??= new DataParallelError(
        `data-parallel worker failed: ${errorMessage(err)}`,
        -1,
        this.#step,
      );
    });
  }

  /**
   * Start `options.workers` workers, each building its replica with the task's
   * `setup`, and wait until they are ready. `params` are the main thread's
   * parameters (trainable ones are published before every call).
   */
  static async create(
    params: NamedVariables,
    options: DataParallelOptions,
  ): Promise<DataParallelEngine> {
    const engine = new DataParallelEngine(params, options);
    try {
      const replies = (await Promise.all(
        Array.from({ length: engine.world }, () => engine.#pool.run({ kind: 'ready' })),
      )) as WorkerReply[];
      log.debug(
        `data-parallel: ${engine.world} worker(s) ready (${replies.map((r) => (r.kind === 'ready' ? r.backend : '?')).join(', ')})`,
      );
    } catch (err) {
      await engine.close();
      throw new DataParallelError(
        `data-parallel: a worker failed to set up the task ${JSON.stringify(fileURLToPath(taskUrl(options.task)))}: ${errorMessage(err)}`,
        -1,
        0,
      );
    }
    return engine;
  }

  /** Note every thread of the pool, to count the live ones. */
  #track(): void {
    for (const w of this.#pool.threads) {
      if (this.#seen.has(w)) continue;
      this.#seen.add(w);
      this.#live.add(w);
      w.once('exit', () => this.#live.delete(w));
    }
  }

  /** Worker threads started by this engine that have not exited yet (0 after `close()`). */
  get liveWorkers(): number {
    return this.#live.size;
  }

  /** True after `close()` or a failure. */
  get closed(): boolean {
    return this.#closed !== null;
  }

  /**
   * The weighted mean loss and gradients of `shards` (at most `world`; shard i
   * writes slot i). `step` seeds the shards (pass the loop's step so that a resumed
   * run draws the same seeds); by default the engine counts its calls.
   * `onNonFinite` overrides the engine's policy for this call.
   */
  async valueAndGrads(
    shards: readonly unknown[],
    options: { step?: number; onNonFinite?: 'throw' | 'flag' } = {},
  ): Promise<DataParallelResult> {
    if (this.#failure) {
      await this.close();
      throw this.#failure;
    }
    if (this.#closed) throw new ConfigError('data-parallel engine is closed');
    if (this.#busy) {
      throw new ConfigError('data-parallel: valueAndGrads called again before the last call ended');
    }
    if (shards.length === 0 || shards.length > this.world) {
      throw new ConfigError(
        `data-parallel: got ${shards.length} shards; give 1 to ${this.world} (one per worker)`,
      );
    }
    const step = options.step ?? this.#step;
    if (!Number.isInteger(step) || step < 0) {
      throw new ConfigError(`step must be an integer >= 0, got ${String(step)}`);
    }
    this.#busy = true;
    try {
      await this.#publish();
      const version = ++this.#version;
      const settled = await Promise.allSettled(
        shards.map((batch, shard) => {
          const ctx: ShardContext = {
            step,
            shard,
            shards: shards.length,
            seed: shardSeed(this.#seed, step, shard),
          };
          const req: WorkerRequest = { kind: 'shard', version, ctx, batch };
          return this.#pool.run(req) as Promise<WorkerReply>;
        }),
      );
      const replies: (WorkerReply & { kind: 'shard' })[] = [];
      for (let i = 0; i < settled.length; i++) {
        const s = settled[i];
        if (s.status === 'rejected') {
          throw await this.#fail(
            new DataParallelError(
              `data-parallel worker failed on shard ${i} of ${shards.length} at step ${step}: ${errorMessage(s.reason)}`,
              i,
              step,
            ),
          );
        }
        replies.push(s.value as WorkerReply & { kind: 'shard' });
      }
      const bad = this.#nonFinite(replies, step);
      // The workers are sound after a non-finite value: the pool stays open.
      if (bad && (options.onNonFinite ?? this.#onNonFinite) === 'throw') throw bad;
      const result = this.#average(replies, bad === null);
      this.#step = step + 1;
      return result;
    } finally {
      this.#busy = false;
    }
  }

  /** Copy the trainable parameters into the shared buffer. */
  async #publish(): Promise<void> {
    const data = await Promise.all(this.#vars.map((v) => v.data()));
    this.layout.forEach((slot, i) => this.#params.set(data[i] as Float32Array, slot.offset));
  }

  /** A DataParallelError for the first shard with a non-finite loss or gradient, or null. */
  #nonFinite(replies: readonly (WorkerReply & { kind: 'shard' })[], step: number) {
    const i = replies.findIndex((r) => !Number.isFinite(r.value) || r.nonFinite.length > 0);
    if (i < 0) return null;
    const r = replies[i];
    const names = r.nonFinite.slice(0, 5).join(', ') + (r.nonFinite.length > 5 ? ', …' : '');
    const what = [
      ...(Number.isFinite(r.value) ? [] : [`loss ${r.value}`]),
      ...(r.nonFinite.length ? [`gradients of ${names}`] : []),
    ].join(' and ');
    return new DataParallelError(
      `data-parallel shard ${i} of ${replies.length} at step ${step}: non-finite ${what}`,
      i,
      step,
      'lower the learning rate, enable gradient clipping, or check the loss for log(0)',
    );
  }

  #average(
    replies: readonly (WorkerReply & { kind: 'shard' })[],
    finite: boolean,
  ): DataParallelResult {
    const total = replies.reduce((s, r) => s + r.weight, 0);
    if (!(total > 0)) {
      throw new ConfigError(
        `data-parallel: the shards' weights sum to ${total}; a shard's weight is its token count`,
      );
    }
    const missingEverywhere = new Set(replies[0].missing);
    for (const r of replies.slice(1)) {
      for (const n of [...missingEverywhere])
        if (!r.missing.includes(n)) missingEverywhere.delete(n);
    }
    const grads = new Map<string, Tensor>();
    const w = replies.map((r) => r.weight / total);
    for (const slot of this.layout) {
      // A name no shard has a gradient for stays absent, as in valueAndGrads.
      if (missingEverywhere.has(slot.name)) continue;
      const out = new Float32Array(slot.size);
      for (let j = 0; j < slot.size; j++) {
        let acc = 0;
        for (let i = 0; i < replies.length; i++) {
          acc += w[i] * this.#grads[i * this.#size + slot.offset + j];
        }
        out[j] = acc;
      }
      grads.set(slot.name, tf.tensor(out, [...slot.shape], 'float32'));
    }
    let value = 0;
    for (let i = 0; i < replies.length; i++) value += w[i] * replies[i].value;
    return {
      value,
      weight: total,
      grads,
      finite,
      shards: replies.map((r) => ({
        value: r.value,
        weight: r.weight,
        ms: r.ms,
        tensors: r.tensors,
      })),
    };
  }

  /** Record a failure and close the pool (awaited), returning the error to throw. */
  async #fail(err: DataParallelError): Promise<DataParallelError> {
    this.#failure = err;
    await this.close();
    return err;
  }

  /** Terminate every worker. Safe to call more than once. */
  async close(): Promise<void> {
    this.#closed ??= this.#pool.destroy().catch((err: unknown) => {
      log.warn(`data-parallel: closing the worker pool: ${errorMessage(err)}`);
    });
    await this.#closed;
  }
}
