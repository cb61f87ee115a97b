// A generation worker thread (piscina): starts its own tfjs backend, loads the
// tokenizer and the model once, then runs one job at a time. Tokens stream back
// over the MessagePort that comes with each job; a `cancel` message on that port
// aborts the job (generation yields between tokens, so the message gets in).
// From TypeScript sources the thread starts in worker-boot.mjs, which registers
// tsx's loader first (see engine.ts).
import type { MessagePort } from 'node:worker_threads';
import { workerData } from 'node:worker_threads';
import { loadCausalLM } from '../models/index.js';
import { initBackend } from '../src/backend.js';
import { SnnlmError } from '../src/errors.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { runJob } from './job.js';
import { describeModel } from './model-info.js';
import type { Job, JobResult, ModelInfo, TokenEvent } from './types.js';

/** What the engine passes to every worker. */
export interface WorkerConfig {
  dir: string;
  backend?: string;
  countEnergy: boolean;
}

/** A task: describe the model, or run a job streaming over `port`. */
export type WorkerTask = { type: 'info' } | { type: 'job'; job: Job; port: MessagePort };

/** Messages a worker posts on a job's port. */
export type WorkerMessage =
  | { type: 'token'; event: TokenEvent }
  | { type: 'done'; result: JobResult }
  | { type: 'error'; message: string; kind: string | null; aborted: boolean };

const config = workerData as WorkerConfig;
await initBackend(config.backend);
const tokenizer = await Tokenizer.fromFolder(config.dir);
const model = await loadCausalLM(config.dir);
const info = describeModel(model, config.dir);

/** The piscina task handler. */
export default async function handle(task: WorkerTask): Promise<ModelInfo | null> {
  if (task.type === 'info') return info;
  const { job, port } = task;
  const ac = new AbortController();
  port.on('message', (m: { type?: string; reason?: string }) => {
    if (m.type === 'cancel') ac.abort(new Error(m.reason ?? 'cancelled'));
  });
  const post = (m: WorkerMessage): void => port.postMessage(m);
  try {
    const result = await runJob(model, tokenizer, job, {
      signal: ac.signal,
      countEnergy: config.countEnergy,
      onEvent: (event) => post({ type: 'token', event }),
    });
    post({ type: 'done', result });
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    post({
      type: 'error',
      message: err.message,
      kind: err instanceof SnnlmError ? err.kind : null,
      aborted: ac.signal.aborted,
    });
  } finally {
    port.close();
  }
  return null;
}
