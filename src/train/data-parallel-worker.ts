// The worker side of data-parallel training (src/train/data-parallel.ts): one per
// thread of the pool. At load it starts the tfjs backend (initBackend), imports
// the task module and calls its `setup(options, info)` to build the replica;
// each shard request then loads the published parameters from shared memory
// (once per parameter version), runs the task's `grads`, and writes the gradients
// into the shard's slot of the shared gradient buffer.
//
// NOTE: this file has no static imports of snnlm modules, only dynamic ones after
// the loader is set up. From TypeScript sources the pool loads this file through
// tsx's CommonJS hook (`--import tsx` in the workers' execArgv), and a static
// import would then load src/ as CommonJS, a second copy beside the ESM one the
// task module gets. With only dynamic imports, tsx's ESM loader (registered first,
// `tsx/esm/api`) loads everything once, as ESM.
import { threadId, workerData } from 'node:worker_threads';
import type { BackendInfo } from '../backend.js';
import type { Tensor, Variable, tf as TfNamespace } from '../tf.js';
import type {
  DataParallelTask,
  ParamSlot,
  ShardGrads,
  TaskInfo,
  TaskSetup,
  WorkerInit,
  WorkerRequest,
  WorkerReply,
} from './data-parallel.js';
import type { GradMap } from './optimizer.js';

type Tf = typeof TfNamespace;

interface Replica {
  readonly tf: Tf;
  readonly backend: BackendInfo;
  readonly task: DataParallelTask;
  /** Layout slots with the replica's variable for each. */
  readonly vars: readonly (readonly [ParamSlot, Variable])[];
  readonly bySlot: ReadonlyMap<string, ParamSlot>;
  version: number;
}

const init = workerData as WorkerInit;
const paramsView = new Float32Array(init.params);
const gradsView = new Float32Array(init.grads);
const size = init.layout.reduce((s, p) => s + p.size, 0);

const needsTsx = (url: string): boolean => /\.[mc]?ts$/.test(new URL(url).pathname);

async function start(): Promise<Replica> {
  if (needsTsx(import.meta.url) || needsTsx(init.task)) {
    let api: { register: () => unknown };
    try {
      api = (await import('tsx/esm/api')) as { register: () => unknown };
    } catch (err) {
      throw new Error(
        `the task module ${init.task} is TypeScript and needs tsx (a development dependency): ${String(err)}`,
      );
    }
    api.register();
  }
  const { tf } = await import('../tf.js');
  const { initBackend } = await import('../backend.js');
  const backend = await initBackend(init.backend ?? undefined);
  let mod: { setup?: unknown };
  try {
    mod = (await import(init.task)) as { setup?: unknown };
  } catch (err) {
    throw new Error(`cannot import the task module ${init.task}: ${(err as Error).message}`);
  }
  if (typeof mod.setup !== 'function') {
    throw new Error(`the task module ${init.task} exports no setup(options, info) function`);
  }
  const info: TaskInfo = { workers: init.workers, backend: backend.backend };
  const task = await (mod.setup as TaskSetup)(init.taskOptions, info);
  if (!task || typeof task.grads !== 'function' || !task.params) {
    throw new Error(`setup() of ${init.task} must return { params, grads(batch, ctx) }`);
  }
  const own = new Map<string, Variable>();
  for (const [name, v] of task.params) if (v.trainable) own.set(name, v);
  const vars: (readonly [ParamSlot, Variable])[] = [];
  for (const slot of init.layout) {
    const v = own.get(slot.name);
    if (!v) {
      throw new Error(
        `the replica built by ${init.task} has no trainable parameter "${slot.name}" (the main thread trains it)`,
      );
    }
    if (v.shape.join(',') !== slot.shape.join(',')) {
      throw new Error(
        `parameter "${slot.name}": replica shape [${v.shape.join(', ')}], main thread [${slot.shape.join(', ')}]`,
      );
    }
    own.delete(slot.name);
    vars.push([slot, v]);
  }
  if (own.size > 0) {
    const extra = [...own.keys()].slice(0, 5).join(', ');
    throw new Error(
      `the replica has trainable parameters the main thread does not give: ${extra}; return the same parameter set from setup()`,
    );
  }
  const bySlot = new Map(init.layout.map((s) => [s.name, s]));
  return { tf, backend, task, vars, bySlot, version: -1 };
}

// Set-up starts as soon as the worker loads, so all replicas build in parallel;
// a failure is reported by the first request.
const ready = start();
ready.catch(() => undefined);

function loadParams(r: Replica): void {
  const { tf } = r;
  for (const [slot, v] of r.vars) {
    // slice: a private copy, since a backend may keep the array it was given.
    const values = paramsView.slice(slot.offset, slot.offset + slot.size);
    tf.tidy(() => v.assign(tf.tensor(values, v.shape, 'float32')));
  }
}

function entries(grads: GradMap): [string, Tensor][] {
  return grads instanceof Map ? [...grads] : Object.entries(grads as Record<string, Tensor>);
}

async function shard(
  r: Replica,
  req: WorkerRequest & { kind: 'shard' },
): Promise<WorkerReply & { kind: 'shard' }> {
  const t0 = performance.now();
  if (r.version !== req.version) {
    loadParams(r);
    r.version = req.version;
  }
  const out: ShardGrads = await r.task.grads(req.batch, req.ctx);
  const grads = entries(out.grads);
  try {
    let value: number;
    if (typeof out.value === 'number') value = out.value;
    else {
      value = (await out.value.data())[0];
      out.value.dispose();
    }
    if (typeof out.weight !== 'number' || !(out.weight >= 0) || !Number.isFinite(out.weight)) {
      throw new Error(
        `grads() returned weight ${String(out.weight)}; it must be a finite number >= 0`,
      );
    }
    const base = req.ctx.shard * size;
    const seen = new Set<string>();
    const nonFinite: string[] = [];
    for (const [name, g] of grads) {
      const slot = r.bySlot.get(name);
      if (!slot) throw new Error(`grads() returned a gradient for "${name}", which is not trained`);
      if (g.size !== slot.size) {
        throw new Error(
          `gradient of "${name}" has shape [${g.shape.join(', ')}], the parameter [${slot.shape.join(', ')}]`,
        );
      }
      const data = (await g.data()) as Float32Array;
      for (let j = 0; j < data.length; j++) {
        if (!Number.isFinite(data[j])) {
          nonFinite.push(name);
          break;
        }
      }
      gradsView.set(data, base + slot.offset);
      seen.add(name);
    }
    const missing: string[] = [];
    for (const slot of init.layout) {
      if (seen.has(slot.name)) continue;
      missing.push(slot.name);
      gradsView.fill(0, base + slot.offset, base + slot.offset + slot.size);
    }
    r.tf.dispose(grads.map(([, g]) => g));
    return {
      kind: 'shard',
      value,
      weight: out.weight,
      missing,
      nonFinite,
      ms: performance.now() - t0,
      tensors: r.tf.memory().numTensors,
    };
  } catch (err) {
    r.tf.dispose(grads.map(([, g]) => g));
    if (typeof out.value !== 'number') out.value.dispose();
    throw err;
  }
}

/** The pool's task handler. */
export default async function handle(req: WorkerRequest): Promise<WorkerReply> {
  const r = await ready;
  switch (req.kind) {
    case 'ready':
      return { kind: 'ready', threadId, backend: r.backend.backend };
    case 'shard':
      return shard(r, req);
    default:
      throw new Error(`unknown data-parallel request ${JSON.stringify(req)}`);
  }
}
