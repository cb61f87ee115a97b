// Deterministic batching of a vision split, and the task sequences of continual
// learning (methods-vision.md 8(d)): permuted MNIST (one fixed pixel permutation
// per task, task 0 unpermuted) and split tasks (disjoint class groups). A task is a
// view of a split: a subset of its rows and/or a pixel permutation, applied when a
// batch is built, so no task copies the images.
import { ConfigError, checkPositiveInt } from '../../src/errors.js';
import { createRng } from '../../src/generate/rng.js';
import { permutation } from '../shuffle.js';
import type { VisionSplit } from './mnist.js';

/** One batch: `size` flattened images `[size, pixels]` and their labels. */
export interface VisionBatch {
  readonly x: Float32Array; // [size, pixels]
  readonly y: Int32Array; // [size]
  readonly size: number;
}

/** A view of a split: which rows (all when null), and a pixel permutation (none when null). */
export interface VisionTask {
  readonly name: string;
  readonly rows: Uint32Array | null;
  readonly pixelPermutation: Uint32Array | null;
  /** The classes of this task (all of the split's for permuted tasks). */
  readonly classes: readonly number[];
}

/** The identity task: every row, no permutation. */
export function wholeSplit(split: VisionSplit): VisionTask {
  return {
    name: 'all',
    rows: null,
    pixelPermutation: null,
    classes: Array.from({ length: split.numClasses }, (_, i) => i),
  };
}

/** Number of rows a task sees in `split`. */
export function taskSize(split: VisionSplit, task: VisionTask): number {
  return task.rows ? task.rows.length : split.count;
}

/**
 * The rows of `split` at positions `order[start .. start+size)` of the task, with the
 * task's permutation applied to the pixels.
 */
export function gatherBatch(
  split: VisionSplit,
  task: VisionTask,
  order: ArrayLike<number>,
  start: number,
  size: number,
): VisionBatch {
  const p = split.height * split.width * split.channels;
  const x = new Float32Array(size * p);
  const y = new Int32Array(size);
  const perm = task.pixelPermutation;
  for (let b = 0; b < size; b++) {
    const pos = order[start + b];
    const row = task.rows ? task.rows[pos] : pos;
    const src = split.images.subarray(row * p, (row + 1) * p);
    if (perm) for (let k = 0; k < p; k++) x[b * p + k] = src[perm[k]];
    else x.set(src, b * p);
    y[b] = split.labels[row];
  }
  return { x, y, size };
}

/** Options of `batches`. */
export interface BatchOptions {
  batchSize: number;
  /** Shuffle with this seed and epoch (same seed and epoch, same order); no shuffle when undefined. */
  seed?: number;
  epoch?: number;
  /** Drop a last batch smaller than `batchSize`. @default false */
  dropLast?: boolean;
  /** Use at most this many batches. */
  maxBatches?: number;
}

/** Number of batches `batches` yields for a task of `n` rows. */
export function batchCount(n: number, o: BatchOptions): number {
  const full = o.dropLast ? Math.floor(n / o.batchSize) : Math.ceil(n / o.batchSize);
  return o.maxBatches === undefined ? full : Math.min(full, o.maxBatches);
}

/**
 * The batches of one epoch over `task` of `split`: in row order, or shuffled
 * deterministically from `(seed, epoch)` (a seeded Fisher-Yates permutation).
 */
export function* batches(
  split: VisionSplit,
  task: VisionTask,
  o: BatchOptions,
): Generator<VisionBatch> {
  checkPositiveInt(o.batchSize, 'batchSize');
  const n = taskSize(split, task);
  let order: ArrayLike<number>;
  if (o.seed === undefined) {
    order = Uint32Array.from({ length: n }, (_, i) => i);
  } else {
    const epoch = o.epoch ?? 0;
    if (!Number.isInteger(epoch) || epoch < 0) {
      throw new ConfigError(`epoch must be an integer >= 0, got ${String(o.epoch)}`);
    }
    order = permutation(n, createRng(o.seed * 1000003 + epoch));
  }
  const count = batchCount(n, o);
  for (let i = 0; i < count; i++) {
    const start = i * o.batchSize;
    yield gatherBatch(split, task, order, start, Math.min(o.batchSize, n - start));
  }
}

/**
 * Permuted-MNIST tasks: task 0 keeps the pixel order, task k > 0 uses a fixed
 * random permutation drawn from `seed` (the usual PMNIST protocol).
 */
export function permutedTasks(split: VisionSplit, numTasks: number, seed: number): VisionTask[] {
  checkPositiveInt(numTasks, 'numTasks');
  const p = split.height * split.width * split.channels;
  const rng = createRng(seed);
  const classes = Array.from({ length: split.numClasses }, (_, i) => i);
  return Array.from({ length: numTasks }, (_, k) => ({
    name: `permuted-${k}`,
    rows: null,
    pixelPermutation: k === 0 ? null : permutation(p, rng),
    classes,
  }));
}

/**
 * Split tasks: the classes in consecutive groups of `classesPerTask` (0-1, 2-3, ...),
 * each task the rows of its classes in their split order.
 */
export function splitTasks(split: VisionSplit, classesPerTask: number): VisionTask[] {
  checkPositiveInt(classesPerTask, 'classesPerTask');
  if (split.numClasses % classesPerTask !== 0) {
    throw new ConfigError(
      `classesPerTask ${classesPerTask} does not divide the ${split.numClasses} classes`,
    );
  }
  const tasks: VisionTask[] = [];
  for (let c0 = 0; c0 < split.numClasses; c0 += classesPerTask) {
    const classes = Array.from({ length: classesPerTask }, (_, i) => c0 + i);
    const rows: number[] = [];
    for (let r = 0; r < split.count; r++) if (classes.includes(split.labels[r])) rows.push(r);
    tasks.push({
      name: `classes-${classes.join('-')}`,
      rows: Uint32Array.from(rows),
      pixelPermutation: null,
      classes,
    });
  }
  return tasks;
}
