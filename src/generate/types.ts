// The contract between language models and everything that generates with them
// (the CLI, the server, evaluation). Models in models/ implement `CausalLM`;
// generation in src/generate/ only sees this interface, so the same sampler
// drives a softmax teacher with a KV cache, a BiSpikCLM student with a
// constant-size recurrent state, or a CWSSA student with cached spikes.
import type { Tensor } from '../tf.js';

/** What a forward pass can return besides logits (distillation aligns these). */
export interface ForwardOptions {
  /** Return the residual stream after the embedding and after every layer. */
  outputHiddenStates?: boolean;
  /** Return every layer's attention map `[B, H, N, N]` (per time step averaged for spiking models). */
  outputAttentions?: boolean;
}

/** Output of a full-sequence forward pass. */
export interface LMOutput {
  /** `[B, N, V]` float32. */
  logits: Tensor;
  /** `L + 1` tensors `[B, N, D]` (embedding output first), when asked for. */
  hiddenStates?: Tensor[];
  /** `L` tensors `[B, H, N, N]`, when asked for. */
  attentions?: Tensor[];
}

/**
 * Incremental-decoding state of one batch: a KV cache, a recurrent state, cached
 * spikes. Owned by the caller, who must `dispose()` it.
 */
export interface DecodeState {
  /** Tokens consumed so far (the position of the next token). */
  readonly length: number;
  /** Free every tensor the state holds. */
  dispose(): void;
}

/** Per-call options of `CausalLM.decode`. */
export interface DecodeCallOptions {
  /**
   * `[B, n]` 1 = token, 0 = padding, for the fed ids: left padding of a batch of prompts
   * of different lengths. The state remembers it (later calls without a mask feed real
   * tokens only); padded positions are never attended to and do not count as positions,
   * so each row's logits at its real tokens equal those of the row decoded alone.
   */
  attentionMask?: Tensor | null;
}

/** A causal language model that can be sampled from. */
export interface CausalLM {
  /** `model_type` of its config.json. */
  readonly modelType: string;
  /** Vocabulary size V. */
  readonly vocabSize: number;
  /** Longest sequence the model accepts (its context), in tokens. */
  readonly maxPositions: number;
  /** Full forward pass over `ids` `[B, N]` int32 (no state). */
  forward(ids: Tensor, options?: ForwardOptions): LMOutput;
  /** A fresh decoding state for `batch` sequences. */
  initState(batch: number): DecodeState;
  /**
   * Feed `ids` `[B, n]` int32 (the prompt, then one token at a time), updating
   * `state` in place; returns the logits of the fed positions `[B, n, V]`.
   * The result equals the corresponding rows of `forward` on the whole sequence.
   * `options.attentionMask` marks left padding (see `DecodeCallOptions`).
   */
  decode(ids: Tensor, state: DecodeState, options?: DecodeCallOptions): Tensor;
}
