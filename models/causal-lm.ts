// Pieces every softmax-attention causal LM of models/ shares to implement the
// `CausalLM` contract (src/generate/types.ts): input checks with clear errors,
// the KV-cache decoding state, and position ids for left-padded batches.
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import { ConfigError, ShapeError } from '../src/errors.js';
import type { KVCache } from '../src/attention/index.js';
import type { DecodeState } from '../src/generate/types.js';

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
