// Pieces every softmax-attention causal LM of models/ shares to implement the
// `CausalLM` contract (src/generate/types.ts): input checks with clear errors,
// the KV-cache decoding state, position ids for left-padded batches, and the padding
// mask a decoding state accumulates over its calls (`DecodePadding`, shared with the
// spiking decoders).
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { ConfigError, ShapeError } from '../src/errors.js';
import { KVCache } from '../src/attention/index.js';
import { checkPositiveInt } from '../src/errors.js';
import { Module } from '../src/layers/index.js';
import type {
  CausalLM,
  DecodeCallOptions,
  DecodeState,
  ForwardOptions,
  LMOutput,
} from '../src/generate/types.js';

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

/** What a decoding call reads of the padding: both null while no mask was ever given. */
export interface DecodePaddingView {
  /** `[B, length + n]` float32 0/1 over every consumed position and the fed ones. */
  mask: Tensor | null;
  /** `[B, n]` int32 positions of the fed ids, counting real tokens only (`positionsFromMask`). */
  positions: Tensor | null;
}

/**
 * The padding mask of one decoding state (`DecodeCallOptions.attentionMask`): null until a
 * call passes a mask (the unpadded fast path stays as it was); from then on it covers
 * every consumed position, later calls without a mask adding real tokens (ones).
 */
export class DecodePadding {
  #mask: Tensor | null = null; // [B, length] float32 0/1, kept

  /** Check a call's mask `[B, n]` before the state changes (errors name `who`). */
  check(mask: Tensor | null | undefined, batch: number, n: number, who: string): void {
    if (mask && (mask.rank !== 2 || mask.shape[0] !== batch || mask.shape[1] !== n)) {
      throw new ShapeError(
        `${who}: attentionMask must be [B, n] = [${batch}, ${n}] (the fed ids), got [${mask.shape.join(', ')}]`,
      );
    }
  }

  /**
   * Record the fed positions (`length` consumed before, `n` fed, `batch` rows) and return
   * the full mask and the positions of the fed ids. Call under the decode's tidy: the new
   * full mask is kept by the state, `positions` belongs to the tidy.
   */
  feed(
    mask: Tensor | null | undefined,
    batch: number,
    n: number,
    length: number,
  ): DecodePaddingView {
    if (!mask && !this.#mask) return { mask: null, positions: null };
    const fed = mask
      ? tf.cast(tf.notEqual(mask, 0), 'float32') // [B, n]
      : tf.ones([batch, n], 'float32');
    const prev = this.#mask ?? (length > 0 ? tf.ones([batch, length], 'float32') : null);
    const full = tf.keep(prev ? tf.concat([prev, fed], 1) : fed); // [B, length + n]
    this.#mask?.dispose();
    this.#mask = full;
    const positions = tf.slice(positionsFromMask(full), [0, length], [batch, n]); // [B, n]
    return { mask: full, positions };
  }

  dispose(): void {
    this.#mask?.dispose();
    this.#mask = null;
  }
}

/** Decoding state of a softmax-attention LM: its KV cache, owned by the caller. */
export class KVDecodeState implements DecodeState {
  /** The per-layer cache; `cache.length` is the position of the next token. */
  readonly cache: KVCache;
  /** The model that made it (a state only works with its own model). */
  readonly owner: object;
  /** Left padding seen so far (see `DecodeCallOptions.attentionMask`). */
  readonly padding = new DecodePadding();

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
    this.padding.dispose();
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

  /**
   * Feed `ids` `[B, n]` after the cached positions; returns their logits `[B, n, V]`.
   * With `options.attentionMask` (left padding) padded keys are masked and positions
   * count real tokens only, so a padded row's logits equal the row decoded alone.
   */
  decode(ids: Tensor, state: DecodeState, options: DecodeCallOptions = {}): Tensor {
    const st = checkState(state, this, ids.shape[0] as number);
    const who = `${this.modelType} decode`;
    const [B, n] = checkIds(ids, this.maxPositions, who, st.length);
    st.padding.check(options.attentionMask, B, n, who);
    const length = st.length;
    const offset = st.cache.reserve(n);
    return tf.tidy(() => {
      const pad = st.padding.feed(options.attentionMask, B, n, length);
      const o = { attentionMask: pad.mask, positionIds: pad.positions };
      return this.run(ids, offset, st.cache, o).logits;
    });
  }
}
