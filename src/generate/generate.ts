// The generation loop: encode the prompt, prefill it with one `decode` call,
// then feed one token at a time, sampling each next token, until an EOS id, a
// stop string or the token budget ends it. Text is streamed through a callback
// as soon as it is complete (whole UTF-8 characters, never part of a stop
// string). Every tensor is disposed: the inputs, the logits and the state.
import { ConfigError, ShapeError } from '../errors.js';
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { mergeOptions, resolveGenerateOptions } from './options.js';
import type { GenerateOptions } from './options.js';
import { createRng } from './rng.js';
import { applyRepetitionPenalty, sampleToken } from './sampling.js';
import { StopMatcher } from './stop.js';
import type { CausalLM, DecodeState } from './types.js';

/** What `generate` needs of a tokenizer (the `Tokenizer` class fits). */
export type GenerateTokenizer = Pick<Tokenizer, 'encode' | 'detokenizer' | 'eosId'>;

/**
 * Called once per generated token (EOS excepted) with the text it completed,
 * possibly '' (part of a character, or held back as a possible stop string),
 * and once more with id null if text was still held at the end.
 */
export type OnToken = (text: string, id: number | null) => void;

/** Extra control of a `generate` call. */
export interface GenerateControl {
  /**
   * Abort generation. Checked before every decode call; when a signal is given,
   * generation also yields to the event loop between tokens, so that an abort (a
   * client gone, a timeout) can arrive while it runs. An aborted call rejects with
   * the signal's reason and disposes its state.
   */
  signal?: AbortSignal;
}

/** Let queued events (timers, sockets, worker messages) run. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Why generation ended: an EOS id or a stop string (`stop`), or the token budget (`length`). */
export type FinishReason = 'stop' | 'length';

/** Result of `generate`. Field names follow the OpenAI response (`usage`, `finish_reason`). */
export interface GenerateResult {
  /** Ids of the prompt as fed (with BOS when the tokenizer adds one). */
  prompt_ids: number[];
  /** Generated ids, the EOS id that ended generation included. */
  ids: number[];
  /** Generated text (no prompt, no special tokens, cut before a stop string). */
  text: string;
  finish_reason: FinishReason;
  /** What stopped it: the EOS id or the stop string; null for `length`. */
  stopped_by: number | string | null;
  prompt_tokens: number;
  completion_tokens: number;
  /** The sampler's seed (drawn when none was given), to reproduce the run. */
  seed: number;
  /** Wall time of the whole call, prompt encoding included. */
  time_ms: number;
  /** Time of the prompt's decode call (until its logits were read). */
  prefill_ms: number;
  /** completion_tokens / time_ms, per second. */
  tok_per_s: number;
}

/** Feed `ids` (one sequence) and return the logits of the last position (length V). */
async function feed(model: CausalLM, state: DecodeState, ids: number[]): Promise<Float32Array> {
  const input = tf.tensor2d(ids, [1, ids.length], 'int32');
  let logits: Tensor;
  try {
    logits = model.decode(input, state);
  } finally {
    input.dispose();
  }
  try {
    const [b, n, v] = logits.shape;
    if (logits.rank !== 3 || b !== 1 || n !== ids.length || v !== model.vocabSize) {
      throw new ShapeError(
        `decode returned logits of shape [${logits.shape.join(', ')}], expected [1, ${ids.length}, ${model.vocabSize}]`,
      );
    }
    const all = await logits.data();
    return Float32Array.from(all.subarray((n - 1) * v));
  } finally {
    logits.dispose();
  }
}

/**
 * Generate a continuation of `prompt` (text, or ids fed as given) with `model`.
 * A prompt that leaves no room in the model's context is a ConfigError;
 * `max_tokens` is clamped to the room left. `onToken` receives the text as it
 * is produced; the pieces concatenate to `result.text`.
 */
export async function generate(
  model: CausalLM,
  tokenizer: GenerateTokenizer,
  prompt: string | readonly number[],
  options: GenerateOptions = {},
  onToken?: OnToken,
  control: GenerateControl = {},
): Promise<GenerateResult> {
  const signal = control.signal;
  signal?.throwIfAborted();
  const start = performance.now();
  const o = resolveGenerateOptions(mergeOptions({}, options), tokenizer.eosId);
  const promptIds = typeof prompt === 'string' ? tokenizer.encode(prompt) : [...prompt];
  if (promptIds.length === 0) {
    throw new ConfigError('the prompt is empty', 'give some text, or a tokenizer that adds BOS');
  }
  for (const id of promptIds) {
    if (!Number.isInteger(id) || id < 0 || id >= model.vocabSize) {
      throw new ConfigError(`prompt token id ${id} is outside the vocabulary (${model.vocabSize})`);
    }
  }
  const room = model.maxPositions - promptIds.length;
  if (room <= 0) {
    throw new ConfigError(
      `the prompt has ${promptIds.length} tokens; the model's context is ${model.maxPositions}`,
      'shorten the prompt',
    );
  }
  const budget = Math.min(o.max_tokens, room);
  const eos = new Set(o.eos_token_id);
  const rng = createRng(o.seed);
  const detok = tokenizer.detokenizer({ context: promptIds });
  const stopper = new StopMatcher(o.stop);
  const ids: number[] = [];
  let text = '';
  let finish: FinishReason = 'length';
  let stoppedBy: number | string | null = null;
  const emit = (piece: string, id: number | null): void => {
    text += piece;
    onToken?.(piece, id);
  };
  let prefillMs = 0;
  const state = model.initState(1);
  try {
    const prefillStart = performance.now();
    let logits = await feed(model, state, promptIds);
    prefillMs = performance.now() - prefillStart;
    for (;;) {
      if (o.repetition_penalty !== 1) {
        applyRepetitionPenalty(logits, [...promptIds, ...ids], o.repetition_penalty);
      }
      const id = sampleToken(logits, o, rng);
      ids.push(id);
      if (eos.has(id)) {
        [finish, stoppedBy] = ['stop', id];
        break;
      }
      const step = stopper.push(detok.push(id));
      if (step.text || step.stop === null) emit(step.text, id);
      if (step.stop !== null) {
        [finish, stoppedBy] = ['stop', step.stop];
        break;
      }
      if (ids.length >= budget) break;
      if (signal) {
        await yieldToEventLoop();
        signal.throwIfAborted();
      }
      logits = await feed(model, state, [id]);
    }
  } finally {
    state.dispose();
  }
  if (stoppedBy === null || typeof stoppedBy === 'number') {
    // Release held text: an incomplete character, a possible stop-string start.
    const step = stopper.push(detok.flush());
    const rest = step.text + (step.stop === null ? stopper.flush() : '');
    if (step.stop !== null) [finish, stoppedBy] = ['stop', step.stop];
    if (rest) emit(rest, null);
  }
  const timeMs = performance.now() - start;
  return {
    prompt_ids: promptIds,
    ids,
    text,
    finish_reason: finish,
    stopped_by: stoppedBy,
    prompt_tokens: promptIds.length,
    completion_tokens: ids.length,
    seed: o.seed,
    time_ms: timeMs,
    prefill_ms: prefillMs,
    tok_per_s: timeMs > 0 ? (ids.length * 1000) / timeMs : 0,
  };
}
