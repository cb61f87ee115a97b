// Token embedding table `[V, D]` (PyTorch `nn.Embedding` layout and N(0, 1)
// default init). The lookup goes through `gatherRows` (src/backend.ts), whose
// backward is a `scatterND`, so the table trains on the wasm backend, which lacks
// the `UnsortedSegmentSum` kernel `tf.gather`'s own gradient needs.
import { tf } from '../tf.js';
import type { Tensor, Variable } from '../tf.js';
import { checkFinite, checkPositiveInt, ConfigError } from '../errors.js';
import { gatherRows } from '../backend.js';
import { Module } from './module.js';

/** Constructor arguments of `Embedding` (also its `getConfig()`). */
export interface EmbeddingArgs {
  /** Vocabulary size `V` (rows). Positive integer. */
  num_embeddings: number;
  /** Embedding width `D` (columns). Positive integer. */
  embedding_dim: number;
  /** Std of the normal init. Default `1` (PyTorch); GPT-2 style models use 0.02. */
  init_std?: number;
  /** Seed of the initialisation. Default `0`. */
  seed?: number;
}

/** Ids accepted by `Embedding.forward`: an int32 tensor, or nested JS arrays of integers. */
export type TokenIds = Tensor | number[] | number[][];

/** Lookup table from token ids to vectors. */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  private readonly initStd: number;
  private readonly seed: number;
  /** The table `[V, D]`. */
  readonly weight: Variable;

  constructor(args: EmbeddingArgs) {
    super();
    checkPositiveInt(args.num_embeddings, 'num_embeddings');
    checkPositiveInt(args.embedding_dim, 'embedding_dim');
    this.initStd = args.init_std ?? 1;
    if (!(this.initStd > 0 && Number.isFinite(this.initStd))) {
      throw new ConfigError(`init_std must be a positive number, got ${String(args.init_std)}`);
    }
    this.seed = args.seed ?? 0;
    checkFinite(this.seed, 'seed');
    this.numEmbeddings = args.num_embeddings;
    this.embeddingDim = args.embedding_dim;
    this.weight = this.addParameter(
      'weight',
      tf.randomNormal(
        [this.numEmbeddings, this.embeddingDim],
        0,
        this.initStd,
        'float32',
        this.seed,
      ),
    );
  }

  getConfig(): Required<EmbeddingArgs> {
    return {
      num_embeddings: this.numEmbeddings,
      embedding_dim: this.embeddingDim,
      init_std: this.initStd,
      seed: this.seed,
    };
  }

  /**
   * ids: int32 of any shape S (or nested arrays) -> [...S, D]. Ids outside
   * `[0, V)` or not integers raise a ConfigError naming the bad value. A tensor
   * is range-checked with one read of its min and max (two numbers).
   * Run under the caller's `tf.tidy`.
   */
  forward(ids: TokenIds): Tensor {
    const t = Array.isArray(ids) ? this.fromArray(ids) : ids;
    if (t.dtype !== 'int32') {
      throw new ConfigError(
        `Embedding '${this.path}': ids must be int32, got ${t.dtype}`,
        'cast with tf.cast(ids, "int32") after checking they are integers',
      );
    }
    if (!Array.isArray(ids) && t.size > 0) this.checkRange(t);
    return gatherRows(this.weight, t); // [...S, D]
  }

  private fromArray(ids: number[] | number[][]): Tensor {
    const flat = (ids as (number | number[])[]).flat();
    for (const id of flat) this.checkId(id);
    return tf.tensor(ids, undefined, 'int32');
  }

  private checkRange(ids: Tensor): void {
    const mm = tf.tidy(() => tf.stack([tf.min(ids), tf.max(ids)]));
    const [lo, hi] = mm.dataSync();
    mm.dispose();
    if (lo < 0) this.checkId(lo);
    if (hi >= this.numEmbeddings) this.checkId(hi);
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.numEmbeddings) {
      throw new ConfigError(
        `Embedding '${this.path}': token id ${String(id)} is not an integer in [0, ${this.numEmbeddings})`,
        'check that the tokenizer matches the model vocabulary',
      );
    }
  }
}
