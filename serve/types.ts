// What the engine runs and what it hands back, with no HTTP in it: a job (one
// prompt as token ids plus generation options), the events a running job
// streams (text pieces with per-token spike statistics), and its result
// (tokens, times, logprobs, spikes, synaptic operations, energy). Everything is
// plain data, so a job and its events cross a worker-thread boundary unchanged.
import type { FinishReason, GenerateOptions } from '../src/generate/index.js';

/** One generation job. */
export interface Job {
  /** The prompt as fed to the model (BOS included when the tokenizer adds one). */
  prompt_ids: number[];
  /** Sampling, stop strings, seed, max_tokens (already clamped to the context). */
  options: GenerateOptions;
  /** Top entries per token in the logprobs (0: only the chosen token's); null: no logprobs. */
  logprobs: number | null;
  /** Also return the prompt tokens' logprobs (OpenAI `echo` with `logprobs`). */
  echo: boolean;
  /** Send per-token spike statistics with every streamed token. */
  spike_stats: boolean;
}

/** Spike and energy figures of one decode call (the work that produced one token). */
export interface StepStats {
  /** Firing rate of every spiking layer's input, in the order of `JobResult.layers`. */
  firing_rates: number[];
  /** Input spikes counted over every spiking layer (events, all time steps). */
  spikes: number;
  /** Synaptic operations (ACs + MACs). */
  sops: number;
  /** Estimated energy of the call under the default convention, picojoules. */
  energy_pj: number;
  /** Energy of an ANN of the same shape (every op a MAC), picojoules. */
  ann_energy_pj: number;
}

/** A streamed piece of a running job. */
export interface TokenEvent {
  /** Text this token completed ('' while a character or a possible stop string is held). */
  text: string;
  /** The token id, or null for text released at the end. */
  id: number | null;
  /** 0-based index of the generated token. */
  index: number;
  /** Names of the spiking layers, sent with the first event when `spike_stats` is on. */
  layers?: string[];
  /** Statistics of the call that produced this token, when `spike_stats` is on. */
  stats?: StepStats;
}

/** Log-probabilities of a run of tokens. */
export interface TokenLogprobs {
  ids: number[];
  /** Text of each token as it appears in the output (pieces add up to the text). */
  tokens: string[];
  /** Log-probability of each token; null for the first prompt token (nothing predicts it). */
  token_logprobs: (number | null)[];
  /** The most likely alternatives at each position, `[token text, logprob]`, best first. */
  top_logprobs: ([string, number][] | null)[];
  /** Character offset of each token in the returned text. */
  text_offset: number[];
}

/** Totals of a job's spike accounting. */
export interface EnergyTotals {
  spikes: number;
  sops: number;
  energy_pj: number;
  ann_energy_pj: number;
  /** Spikes / spiking input slots over the whole job; null for a model without spikes. */
  firing_rate: number | null;
}

/** What a finished job reports. */
export interface JobResult {
  text: string;
  /** Generated ids (the EOS that ended generation included). */
  ids: number[];
  finish_reason: FinishReason;
  prompt_tokens: number;
  completion_tokens: number;
  seed: number;
  /** Time in the queue before a worker took the job. */
  queue_ms: number;
  prefill_ms: number;
  /** Generation time (prefill included), not counting the queue. */
  time_ms: number;
  /** Names of the spiking layers (rows of the per-token firing rates). */
  layers: string[];
  energy: EnergyTotals;
  /** Generated tokens' logprobs (when asked for). */
  logprobs: TokenLogprobs | null;
  /** Prompt tokens' logprobs (when `echo` and `logprobs`). */
  prompt_logprobs: TokenLogprobs | null;
}

/** What the engine knows about its model (for /v1/models, /props, limits). */
export interface ModelInfo {
  /** The id clients see (the folder name). */
  id: string;
  model_type: string;
  /** Context length in tokens. */
  context_length: number;
  vocab_size: number;
  /** Spiking time steps T (students), null for an ANN. */
  time_steps: number | null;
  n_params: number;
}
