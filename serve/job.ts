// Running one job on a loaded model: `generate` (src/generate) over the
// instrumented model, streaming every token as an event, then the result with
// token counts, times, spike/energy totals and, when asked, logprobs of the
// generated tokens and of the prompt (what lm-evaluation-harness scores with).
// The same function runs in the main thread (in-process engine) and in workers.
import { generate } from '../src/generate/index.js';
import type { CausalLM } from '../src/generate/index.js';
import type { Tokenizer } from '../src/tokenizer/index.js';
import { InstrumentedLM } from './instrument.js';
import type { Job, JobResult, TokenEvent, TokenLogprobs } from './types.js';

/** Most alternatives per token a request may ask for (vLLM's default cap). */
export const MAX_TOP_LOGPROBS = 20;

/** The `k` largest entries of `row` as `[id, value]`, largest first (ties: lower id first). */
function topK(row: Float32Array, k: number): [number, number][] {
  const best: [number, number][] = [];
  for (let id = 0; id < row.length; id++) {
    const v = row[id];
    if (best.length === k && v <= best[k - 1][1]) continue;
    let at = best.length;
    while (at > 0 && best[at - 1][1] < v) at--;
    best.splice(at, 0, [id, v]);
    if (best.length > k) best.pop();
  }
  return best;
}

/**
 * The alternatives as `[text, logprob]`, each token's text as it would follow
 * `prev` (its leading space kept); two ids with the same text keep the likelier.
 */
function alternatives(
  tokenizer: Tokenizer,
  row: Float32Array,
  k: number,
  prev: number | undefined,
): [string, number][] {
  const seen = new Set<string>();
  const out: [string, number][] = [];
  const skip = { skipSpecialTokens: true };
  const before = prev === undefined ? '' : tokenizer.decode([prev], skip);
  for (const [id, lp] of topK(row, k)) {
    const text =
      prev === undefined
        ? tokenizer.decode([id], skip)
        : tokenizer.decode([prev, id], skip).slice(before.length);
    if (seen.has(text)) continue;
    seen.add(text);
    out.push([text, lp]);
  }
  return out;
}

/**
 * Logprobs of `ids`, the tokens at sequence positions `first..`: the token at
 * position p is scored by row p - 1 (none for position 0). `context` gives the
 * first token its leading space; `offset` is where its text starts.
 */
function scoreTokens(
  tokenizer: Tokenizer,
  rows: Float32Array[],
  ids: number[],
  first: number,
  context: number[],
  k: number,
  offset: number,
): TokenLogprobs {
  const detok = tokenizer.detokenizer({ context });
  const out: TokenLogprobs = {
    ids,
    tokens: [],
    token_logprobs: [],
    top_logprobs: [],
    text_offset: [],
  };
  let at = offset;
  const all = [...context, ...ids];
  ids.forEach((id, i) => {
    const row = rows[first + i - 1];
    const piece = detok.push(id);
    out.tokens.push(piece);
    out.text_offset.push(at);
    at += piece.length;
    out.token_logprobs.push(row ? row[id] : null);
    const prev = context.length + i > 0 ? all[context.length + i - 1] : undefined;
    out.top_logprobs.push(row ? (k > 0 ? alternatives(tokenizer, row, k, prev) : []) : null);
  });
  return out;
}

/** Options of `runJob`. */
export interface RunJobOptions {
  /** Abort the job (client gone, timeout, shutdown). */
  signal?: AbortSignal;
  /** Receives every streamed token. */
  onEvent?: (event: TokenEvent) => void;
  /** Count spikes and energy (off saves a read-back per layer). @default true */
  countEnergy?: boolean;
}

/** Run `job` on `model` (see the file header). */
export async function runJob(
  model: CausalLM,
  tokenizer: Tokenizer,
  job: Job,
  options: RunJobOptions = {},
): Promise<JobResult> {
  const lm = new InstrumentedLM(model, {
    countEnergy: options.countEnergy ?? true,
    keepLogprobs: job.logprobs !== null,
  });
  let index = 0;
  let layersSent = false;
  const onToken = (text: string, id: number | null): void => {
    if (!options.onEvent) return;
    const event: TokenEvent = { text, id, index: id === null ? index : index++ };
    if (job.spike_stats && id !== null && lm.last) {
      event.stats = lm.last;
      if (!layersSent) event.layers = lm.layers;
      layersSent = true;
    }
    options.onEvent(event);
  };
  const r = await generate(lm, tokenizer, job.prompt_ids, job.options, onToken, {
    signal: options.signal,
  });
  const k = job.logprobs ?? 0;
  const n = r.prompt_ids.length;
  let promptLogprobs: TokenLogprobs | null = null;
  let logprobs: TokenLogprobs | null = null;
  if (job.logprobs !== null) {
    if (job.echo) promptLogprobs = scoreTokens(tokenizer, lm.rows, r.prompt_ids, 0, [], k, 0);
    const promptText = promptLogprobs ? promptLogprobs.tokens.join('') : '';
    logprobs = scoreTokens(tokenizer, lm.rows, r.ids, n, r.prompt_ids, k, promptText.length);
  }
  return {
    text: r.text,
    ids: r.ids,
    finish_reason: r.finish_reason,
    prompt_tokens: r.prompt_tokens,
    completion_tokens: r.completion_tokens,
    seed: r.seed,
    queue_ms: 0,
    prefill_ms: r.prefill_ms,
    time_ms: r.time_ms,
    layers: lm.layers,
    energy: lm.energy(),
    logprobs,
    prompt_logprobs: promptLogprobs,
  };
}
