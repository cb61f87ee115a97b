// Chooses the tfjs backend once for the process, and routes around the kernels
// the chosen backend lacks. Order: `tensorflow` (@tensorflow/tfjs-node, an
// optionalDependency, used only when it is installed), else `wasm`
// (@tensorflow/tfjs-backend-wasm, the default on a fresh machine), else `cpu`.
// `SNNLM_BACKEND=tensorflow|wasm|cpu` overrides the order.
//
// Known wasm gaps (tfjs 4.22) and how snnlm routes around them, all here:
// - the gradient of `gather` needs `UnsortedSegmentSum`, which wasm lacks, so
//   an embedding cannot train through `tf.gather`: `gatherRows` below gathers
//   forward and scatters back with `scatterND` (which sums duplicate ids).
// - `BatchMatMul` reaches XNNPACK (~20-30 GFLOP/s) only for one 2-D product
//   without transposes; with `transposeA`/`transposeB` or a batch > 1 it runs a
//   scalar loop (~2 GFLOP/s, e.g. [128,768]x[768,768]^T 67 ms instead of 6 ms),
//   and tfjs's gradient of matMul uses exactly those transposed products. Every
//   product of snnlm goes through `matMul` of src/ops (matmul.ts, routes and
//   measurements in matmul-plan.ts): explicit transposes, plain 2-D products,
//   per-item products for large batches, and a custom gradient routed the same
//   way. It also fixes tfjs's broadcast batch products (partly broadcast values
//   are wrong, broadcast gradients throw) on every backend, and a wasm cache bug:
//   XNNPACK's packed right operand is kept per tensor data, not per shape, so the
//   same data multiplied again under another shape (a reshape) gives wrong values.
// - `einsum`, FFT, complex numbers and convolution weight gradients
//   (`Conv2DBackpropFilter`) are missing: snnlm uses none of them.
// - multithreading is off in Node (`getThreadsCount()` is 1): all cores are
//   used through worker_threads, one engine per worker, not through wasm.
import { createRequire } from 'node:module';
import { tf } from './tf.js';
import type { Tensor } from './tf.js';
import { BackendError, ConfigError } from './errors.js';
import { log } from './log.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** What `snnlm info` prints: the chosen backend and what it can do. */
export interface BackendInfo {
  backend: BackendName;
  /** Why this backend: `SNNLM_BACKEND`, or the first of the default order that started. */
  chosen_by: 'env' | 'default-order' | 'argument';
  /** Backends tried before this one, with the reason each was skipped. */
  skipped: { backend: BackendName; reason: string }[];
  wasm_simd: boolean | null;
  wasm_threads: number | null;
  versions: Record<string, string>;
}

const require = createRequire(import.meta.url);

let current: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;

function parseName(value: string, origin: string): BackendName {
  const v = value.trim().toLowerCase();
  const alias: Record<string, BackendName> = {
    tensorflow: 'tensorflow',
    node: 'tensorflow',
    'tfjs-node': 'tensorflow',
    wasm: 'wasm',
    cpu: 'cpu',
  };
  const name = alias[v];
  if (!name) {
    throw new ConfigError(
      `${origin}=${JSON.stringify(value)} is not a backend; use one of ${BACKEND_ORDER.join(', ')}`,
    );
  }
  return name;
}

function packageVersion(pkg: string): string | null {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

async function register(name: BackendName): Promise<void> {
  switch (name) {
    case 'tensorflow':
      // Importing the package registers the `tensorflow` backend.
      await import('@tensorflow/tfjs-node' as string);
      return;
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      return;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return;
  }
}

async function tryStart(name: BackendName): Promise<string | null> {
  try {
    await register(name);
  } catch (err) {
    return `not installed (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
  }
  try {
    const ok = await tf.setBackend(name);
    if (!ok) return 'registered but failed to initialise';
    await tf.ready();
    if (name === 'cpu') quietCpuBanner();
    return null;
  } catch (err) {
    return `failed to start (${err instanceof Error ? err.message : String(err)})`;
  }
}

/**
 * NOTE: the tfjs cpu backend prints a multi-line "install tfjs-node" banner on
 * stderr the first time it stores a tensor in Node. It is third-party noise, not
 * a diagnostic of ours, so it is switched off by marking the first use as done.
 */
function quietCpuBanner(): void {
  const be = tf.backend() as unknown as { firstUse?: boolean };
  if (typeof be.firstUse === 'boolean') be.firstUse = false;
}

async function wasmThreads(): Promise<number | null> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    return wasm.getThreadsCount();
  } catch {
    return null;
  }
}

async function start(
  requested: BackendName | null,
  chosenBy: BackendInfo['chosen_by'],
): Promise<BackendInfo> {
  const order = requested ? [requested] : BACKEND_ORDER;
  const skipped: BackendInfo['skipped'] = [];
  for (const name of order) {
    const reason = await tryStart(name);
    if (reason === null) {
      const isWasm = name === 'wasm';
      const info: BackendInfo = {
        backend: name,
        chosen_by: chosenBy,
        skipped,
        wasm_simd: isWasm ? tf.env().getBool('WASM_HAS_SIMD_SUPPORT') : null,
        wasm_threads: isWasm ? await wasmThreads() : null,
        versions: Object.fromEntries(
          [
            ['node', process.versions.node],
            ['@tensorflow/tfjs-core', packageVersion('@tensorflow/tfjs-core')],
            ['@tensorflow/tfjs-backend-wasm', packageVersion('@tensorflow/tfjs-backend-wasm')],
            ['@tensorflow/tfjs-node', packageVersion('@tensorflow/tfjs-node')],
            ['snnlm', packageVersion('snnlm') ?? snnlmVersion()],
          ].filter((e): e is [string, string] => e[1] !== null),
        ),
      };
      log.debug(
        `backend: ${name}${skipped.length ? ` (skipped ${skipped.map((s) => s.backend).join(', ')})` : ''}`,
      );
      return info;
    }
    skipped.push({ backend: name, reason });
  }
  const detail = skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ');
  throw new BackendError(
    `no tfjs backend could start (${detail})`,
    requested
      ? `unset SNNLM_BACKEND or choose one of ${BACKEND_ORDER.join(', ')}`
      : 'reinstall with `npm ci`',
  );
}

function snnlmVersion(): string | null {
  try {
    return (require('../../package.json') as { version: string }).version;
  } catch {
    try {
      return (require('../package.json') as { version: string }).version;
    } catch {
      return null;
    }
  }
}

/**
 * Start the backend once (later calls return the same info). `name` (or the
 * `SNNLM_BACKEND` environment variable) forces one backend; a forced backend that
 * cannot start is an error, never a silent fallback.
 */
export async function initBackend(name?: BackendName | string): Promise<BackendInfo> {
  let requested: BackendName | null = null;
  let chosenBy: BackendInfo['chosen_by'] = 'default-order';
  if (name !== undefined) {
    requested = parseName(name, 'backend');
    chosenBy = 'argument';
  } else if (process.env.SNNLM_BACKEND) {
    requested = parseName(process.env.SNNLM_BACKEND, 'SNNLM_BACKEND');
    chosenBy = 'env';
  }
  if (current && (requested === null || requested === current.backend)) return current;
  if (pending && requested === null) return pending;
  pending = start(requested, chosenBy).then(
    (info) => {
      current = info;
      pending = null;
      return info;
    },
    (err: unknown) => {
      pending = null;
      throw err;
    },
  );
  return pending;
}

/** The backend started by `initBackend`, or null before it ran. */
export function backendInfo(): BackendInfo | null {
  return current;
}

/** Whether the active backend has a kernel (for routing around gaps). */
export function hasKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/**
 * Rows of `table` at `ids`: `table[ids[i]]`, differentiable with respect to
 * `table` on every backend. Forward is `gather`; backward scatters the
 * incoming gradient into a zero table with `scatterND`, which sums the rows of
 * repeated ids (wasm has no `UnsortedSegmentSum`, which `gather`'s own
 * gradient needs).
 *
 * table: [V, D] float32; ids: int32 of any shape S; result: [...S, D].
 */
export function gatherRows(table: Tensor, ids: Tensor): Tensor {
  if (table.rank !== 2)
    throw new BackendError(
      `gatherRows: table must be [V, D], got shape [${table.shape.join(', ')}]`,
    );
  if (ids.dtype !== 'int32')
    throw new BackendError(`gatherRows: ids must be int32, got ${ids.dtype}`);
  const [V, D] = table.shape as [number, number];
  const idShape = ids.shape;
  const f = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const [t, i, save] = args as [Tensor, Tensor, tf.GradSaveFunc];
    const flat = tf.reshape(i, [-1]); // [M]
    save([flat]);
    const rows = tf.gather(t, flat); // [M, D]
    return {
      value: tf.reshape(rows, [...idShape, D]), // [...S, D]
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const flatIds = saved[0];
        const m = flatIds.shape[0];
        const dTable = tf.scatterND(tf.reshape(flatIds, [m, 1]), tf.reshape(dy, [m, D]), [V, D]); // [V, D]
        return [dTable, tf.zeros(idShape, 'int32')];
      },
    };
  });
  return f(table, ids);
}
