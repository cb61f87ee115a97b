// Pieces every softmax-attention causal LM of models/ shares to implement the
// `CausalLM` contract (src/generate/types.ts): input checks with clear errors,
// the KV-cache decoding state, and position ids for left-padded batches.
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { ConfigError, ShapeError } from '../src/errors.js';
import { KVCache } from '../src/attention/index.js';
import { checkPositiveInt } from '../src/errors.js';
import { Module } from '../src/layers/index.js';
import type { CausalLM, DecodeState, ForwardOptions, LMOutput } from '../src/generate/types.js';

/**
 * Check token ids `[B, N]` int32 against a context of `maxPositions` starting at
 * `offset` (cached positions); returns `[B, N]`. Errors name the model and sizes.
 */
export function checkIds(
  ids: Tensor,
  maxPositions: number,
  who: string,
  offset = 0,
): [number, number] {
  if (ids.rank !== 2 || ids.dtype !== 'int32') {
    throw new ShapeError(
      `${who}: ids must be int32 [B, N], got ${ids.dtype} [${ids.shape.join(', ')}]`,
    );
  }
  const [B, N] = ids.shape as [number, number];
  if (B === 0 || N === 0) throw new ShapeError(`${who}: ids must not be empty, got [${B}, ${N}]`);
  if (offset + N > maxPositions) {
    throw new ConfigError(
      `${who}: ${offset > 0 ? `${offset} cached + ` : ''}${N} tokens = ${offset + N} positions exceed the model context of ${maxPositions} (max_position_embeddings)`,
      'shorten the prompt, or truncate it to the last tokens that fit',
    );
  }
  return [B, N];
}

/** Decoding state of a softmax-attention LM: its KV cache, owned by the caller. */
export class KVDecodeState implements DecodeState {
  /** The per-layer cache; `cache.length` is the position of the next token. */
  readonly cache: KVCache;
  /** The model that made it (a state only works with its own model). */
  readonly owner: object;

  constructor(owner: object, cache: KVCache) {
    this.owner = owner;
    this.cache = cache;
  }

  get length(): number {
    return this.cache.length;
  }

  get batch(): number {
    return this.cache.batch;
  }

  dispose(): void {
    this.cache.dispose();
  }
}

/** Check that `state` is a `KVDecodeState` made by `owner` for `batch` rows. */
export function checkState(state: DecodeState, owner: object, batch: number): KVDecodeState {
  if (!(state instanceof KVDecodeState) || state.owner !== owner) {
    throw new ConfigError('decode: the state was not made by this model’s initState()');
  }
  if (state.batch !== batch) {
    throw new ShapeError(`decode: the state holds ${state.batch} sequences, ids have ${batch}`);
  }
  return state;
}

/**
 * Position ids for a left-padded batch, as Hugging Face `generate` builds them:
 * `cumsum(mask) - 1`, leading padding at 0 (it is masked anyway).
 * attentionMask `[B, N]` -> int32 `[B, N]`.
 */
export function positionsFromMask(attentionMask: Tensor): Tensor {
  return tf.tidy(() => {
    const m = tf.cast(tf.notEqual(attentionMask, 0), 'int32'); // [B, N]
    const pos = tf.maximum(tf.sub(tf.cumsum(m, 1), 1), 0); // [B, N]
    return tf.cast(pos, 'int32'); // [B, N]
  });
}

/** Forward options of the softmax causal LMs (LLaMA, GPT-2). */
export interface CausalForwardOptions extends ForwardOptions {
  /** `[B, N]` 1 = token, 0 = padding (left padding: pass `positionIds` too). */
  attentionMask?: Tensor | null;
  /** `[B, N]` int32 positions; default `0..N-1` (see `positionsFromMask`). */
  positionIds?: Tensor | null;
}

/**
 * The `CausalLM` contract for a softmax-attention LM with a KV cache: `forward`,
 * `initState` and `decode` are the same for every architecture; each one only
 * says how to `run` its layers over `ids` at a position `offset` (with a cache
 * while decoding).
 */
export abstract class KVCacheCausalLM extends Module implements CausalLM {
  abstract readonly modelType: string;
  abstract readonly vocabSize: number;
  abstract readonly maxPositions: number;
  /** Number of decoder layers (one cache slot each). */
  protected abstract get numLayers(): number;

  /** Logits (and on request hidden states and maps) of `ids` starting at `offset`. */
  protected abstract run(
    ids: Tensor,
    offset: number,
    cache: KVCache | null,
    options: CausalForwardOptions,
  ): LMOutput;

  /**
   * Full forward over `ids` `[B, N]` int32: logits `[B, N, V]` and, on request,
   * `L + 1` hidden states `[B, N, D]` and `L` attention maps `[B, H, N, N]`.
   * NOTE: as in transformers, the last hidden state is the output of the final
   * norm (the one the head reads), not the raw output of the last layer.
   */
  forward(ids: Tensor, options: CausalForwardOptions = {}): LMOutput {
    checkIds(ids, this.maxPositions, `${this.modelType} forward`);
    const out = tf.tidy(() => this.run(ids, 0, null, options) as unknown as tf.TensorContainer);
    return out as unknown as LMOutput;
  }

  /**
   * A fresh KV cache for `batch` sequences, bounded by the context. `blockSize`
   * (kv-cache.ts, default `'auto'`) trades copying for exactness: 1 keeps one key
   * segment, and then decoding reproduces a batched forward bit for bit.
   */
  initState(batch: number, options: { blockSize?: number | 'auto' } = {}): DecodeState {
    checkPositiveInt(batch, 'batch');
    const cache = new KVCache({
      layers: this.numLayers,
      batch,
      maxPositions: this.maxPositions,
      blockSize: options.blockSize,
    });
    return new KVDecodeState(this, cache);
  }

  /** Feed `ids` `[B, n]` after the cached positions; returns their logits `[B, n, V]`. */
  decode(ids: Tensor, state: DecodeState): Tensor {
    const st = checkState(state, this, ids.shape[0] as number);
    checkIds(ids, this.maxPositions, `${this.modelType} decode`, st.length);
    const offset = st.cache.reserve(ids.shape[1] as number);
    return tf.tidy(() => this.run(ids, offset, st.cache, {}).logits);
  }
}
