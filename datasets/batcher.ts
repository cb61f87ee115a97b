// Training batches from packed sequences: `[B, N]` int32 inputs and targets
// per step, epoch by epoch, each epoch in a fresh seeded order (shuffle.ts).
// The serialisable data cursor (epoch, position, shuffle state, step) lets a
// resumed run continue with exactly the batches it would have seen. For data
// parallelism, worker `rank` of `worldSize` takes a contiguous slice of the
// rows of every global batch; all workers share seed and cursor, so their
// slices are disjoint and together make up the global batch.
import { ConfigError, checkPositiveInt } from '../src/errors.js';
import { initialShuffleState, shuffleEpoch } from './shuffle.js';
import type { SequenceSource } from './sequence-source.js';

/** Where a batcher stands; plain JSON, saved with checkpoints. */
export interface DataCursor {
  version: 1;
  /** Epoch of the next batch (0-based). */
  epoch: number;
  /** Index in the epoch's order of the next global batch's first row. */
  position: number;
  /** Global batches taken so far. */
  step: number;
  /** Shuffle state that produced this epoch's order (4 uint32 words). */
  rng_state: number[];
  /** Checked on resume: the cursor belongs to this data and batch size. */
  num_sequences: number;
  batch_size: number;
  shuffle: boolean;
}

/** Options of `Batcher`. */
export interface BatcherOptions {
  source: SequenceSource;
  /** Global batch size B (rows per step over all workers). */
  batchSize: number;
  /** Seed of the epoch orders (ignored when resuming from a cursor). @default 0 */
  seed?: number;
  /** Shuffle every epoch; off, epochs go in stream order. @default true */
  shuffle?: boolean;
  /** Skip the last incomplete batch of an epoch, so every step has B rows. @default true */
  dropLast?: boolean;
  /** Continue from this cursor. */
  cursor?: DataCursor;
  /** This worker's index. @default 0 */
  rank?: number;
  /** Number of workers sharing each global batch (must divide B). @default 1 */
  worldSize?: number;
}

/** One step's data for this worker. */
export interface Batch {
  /** `[rows, N]` row-major: window[0..N) of each sequence. */
  inputs: Int32Array;
  /** `[rows, N]` row-major: window[1..N] of each sequence. */
  targets: Int32Array;
  shape: [number, number];
  /** Sequence index of each row. */
  indices: Uint32Array;
  epoch: number;
  /** Global step of this batch (0-based). */
  step: number;
}

/** Rows `[start, end)` of a global batch of `rows` rows that worker `rank` takes. */
export function workerSlice(rows: number, rank: number, worldSize: number): [number, number] {
  return [Math.floor((rank * rows) / worldSize), Math.floor(((rank + 1) * rows) / worldSize)];
}

function checkCursor(c: DataCursor, n: number, b: number, shuffle: boolean): void {
  const bad = (what: string): never => {
    throw new ConfigError(
      `data cursor: ${what}`,
      'resume with the data, batch size and shuffle setting of the saved run',
    );
  };
  if (c?.version !== 1) bad(`unknown version ${JSON.stringify(c?.version)}`);
  if (c.num_sequences !== n) bad(`saved for ${c.num_sequences} sequences, the data has ${n}`);
  if (c.batch_size !== b) bad(`saved for batch size ${c.batch_size}, got ${b}`);
  if (c.shuffle !== shuffle) bad(`saved with shuffle ${c.shuffle}, got ${shuffle}`);
  for (const k of ['epoch', 'position', 'step'] as const) {
    if (!Number.isSafeInteger(c[k]) || c[k] < 0)
      bad(`${k} must be a non-negative integer, got ${c[k]}`);
  }
  if (c.position > n) bad(`position ${c.position} is past the ${n} sequences`);
}

/** Batches over a split, epoch after epoch (see the file header). */
export class Batcher {
  readonly batchSize: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private readonly source: SequenceSource;
  private epoch: number;
  private position: number;
  private step: number;
  private state: number[];
  private order: Uint32Array | null = null;
  private nextState: number[];

  constructor(o: BatcherOptions) {
    checkPositiveInt(o.batchSize, 'batchSize');
    this.source = o.source;
    this.batchSize = o.batchSize;
    this.shuffle = o.shuffle ?? true;
    this.dropLast = o.dropLast ?? true;
    this.rank = o.rank ?? 0;
    this.worldSize = o.worldSize ?? 1;
    checkPositiveInt(this.worldSize, 'worldSize');
    if (!Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.worldSize) {
      throw new ConfigError(
        `rank must be an integer in 0..${this.worldSize - 1}, got ${String(this.rank)}`,
      );
    }
    if (this.batchSize % this.worldSize !== 0) {
      throw new ConfigError(
        `batch size ${this.batchSize} is not divisible by worldSize ${this.worldSize}`,
      );
    }
    const n = this.source.numSequences;
    if (n === 0 || (this.dropLast && n < this.batchSize)) {
      throw new ConfigError(
        `batch size ${this.batchSize} exceeds the ${n} sequences of the split`,
        'lower the batch size or seq_len, or use a larger corpus',
      );
    }
    if (o.cursor) checkCursor(o.cursor, n, this.batchSize, this.shuffle);
    this.epoch = o.cursor?.epoch ?? 0;
    this.position = o.cursor?.position ?? 0;
    this.step = o.cursor?.step ?? 0;
    this.state = o.cursor ? [...o.cursor.rng_state] : initialShuffleState(o.seed ?? 0);
    this.nextState = this.state;
    this.startEpoch();
  }

  /** Global steps in one epoch. */
  get stepsPerEpoch(): number {
    const n = this.source.numSequences;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The cursor before the next batch (JSON-safe). */
  cursor(): DataCursor {
    return {
      version: 1,
      epoch: this.epoch,
      position: this.position,
      step: this.step,
      rng_state: [...this.state],
      num_sequences: this.source.numSequences,
      batch_size: this.batchSize,
      shuffle: this.shuffle,
    };
  }

  private startEpoch(): void {
    if (!this.shuffle) return;
    const { order, next } = shuffleEpoch(this.source.numSequences, this.state);
    this.order = order;
    this.nextState = next;
  }

  /** The next batch, moving to a new epoch when this one is used up. */
  async next(): Promise<Batch> {
    const n = this.source.numSequences;
    if (this.position + (this.dropLast ? this.batchSize : 1) > n) {
      this.epoch++;
      this.position = 0;
      this.state = this.nextState;
      this.startEpoch();
    }
    const rows = Math.min(this.batchSize, n - this.position);
    const [from, to] = workerSlice(rows, this.rank, this.worldSize);
    const indices = new Uint32Array(to - from);
    for (let i = 0; i < indices.length; i++) {
      const at = this.position + from + i;
      indices[i] = this.order ? this.order[at] : at;
    }
    const batch = await readBatch(this.source, indices, this.epoch, this.step);
    this.position += rows;
    this.step++;
    return batch;
  }
}

/** Read the rows `indices` of `source` into a batch. */
export async function readBatch(
  source: SequenceSource,
  indices: Uint32Array,
  epoch = 0,
  step = 0,
): Promise<Batch> {
  const N = source.seqLen;
  const inputs = new Int32Array(indices.length * N);
  const targets = new Int32Array(indices.length * N);
  const windows = await Promise.all(Array.from(indices, (i) => source.read(i)));
  windows.forEach((w, r) => {
    inputs.set(w.subarray(0, N), r * N);
    targets.set(w.subarray(1, N + 1), r * N);
  });
  return { inputs, targets, shape: [indices.length, N], indices, epoch, step };
}

/** One pass over a split in stream order, the last batch possibly smaller (evaluation). */
export async function* sequentialBatches(
  source: SequenceSource,
  batchSize: number,
): AsyncGenerator<Batch> {
  checkPositiveInt(batchSize, 'batchSize');
  let step = 0;
  for (let start = 0; start < source.numSequences; start += batchSize) {
    const rows = Math.min(batchSize, source.numSequences - start);
    const indices = Uint32Array.from({ length: rows }, (_, i) => start + i);
    yield await readBatch(source, indices, 0, step++);
  }
}
