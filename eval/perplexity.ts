// Perplexity of a causal LM on a text file, by lm-evaluation-harness's rolling-window
// rule (`loglikelihood_rolling` with `get_rolling_token_windows(..., context_len=1)` and
// `make_disjoint_window`): the file is ONE document, encoded without special tokens;
// the first window predicts tokens 0..W-1 after the prefix token (BOS, else EOS); every
// later window predicts the next W tokens (fewer at the end) from the W tokens that end
// just before its last target, so each token is predicted exactly once, with between 1 and
// W tokens of context. W = the model's context (`max_position_embeddings`).
// Reported: token, word (`re.split(r"\s+")` words) and byte (UTF-8) perplexity and bits
// per byte, all from the same summed log-likelihood.
import { readFile } from 'node:fs/promises';
import { ConfigError, FormatError } from '../src/errors.js';
import { EnergyCounter, withRecorder } from '../src/energy/index.js';
import type { EnergyConfig, EnergyReport } from '../src/energy/index.js';
import type { CausalLM } from '../src/generate/types.js';
import type { EvalTokenizer, TokenizedRequest } from './requests.js';
import { scoreRequests } from './score.js';

/** The rule printed with every perplexity result. */
export const ROLLING_WINDOW_RULE =
  'lm-evaluation-harness loglikelihood_rolling: the file is one document; disjoint target windows of W = max_position_embeddings tokens, the first after the BOS/EOS prefix token, each later one read with the W tokens ending before its last target (every token predicted once)';

/** The windows of `tokens` under a context of `W` (see the file header). */
export function rollingWindows(
  tokens: readonly number[],
  prefixId: number,
  W: number,
): TokenizedRequest[] {
  if (tokens.length === 0) return [];
  const out: TokenizedRequest[] = [];
  const first = Math.min(W, tokens.length);
  out.push({ contextIds: [prefixId], continuationIds: tokens.slice(0, first) });
  let predicted = first;
  while (predicted < tokens.length) {
    const n = Math.min(tokens.length - predicted, W);
    const end = predicted + n;
    // Input: tokens[end - W - 1, end - 1); its last n positions predict tokens[end - n, end).
    const inputStart = Math.max(0, end - W - 1);
    out.push({
      contextIds: tokens.slice(inputStart, end - n),
      continuationIds: tokens.slice(end - n, end),
    });
    predicted = end;
  }
  return out;
}

/** Options of `perplexity`. */
export interface PerplexityOptions {
  batchSize?: number;
  /** Score only the first this many windows. */
  limit?: number;
  energy?: boolean;
  energyConfig?: Partial<EnergyConfig>;
  onProgress?: (done: number, total: number) => void;
}

/** Result of a perplexity run. */
export interface PerplexityRun {
  token_perplexity: number;
  word_perplexity: number;
  byte_perplexity: number;
  bits_per_byte: number;
  loglikelihood: number;
  tokens: number;
  /** Token positions fed to the model (padding included). */
  fed_tokens: number;
  words: number;
  bytes: number;
  windows: number;
  window_tokens: number;
  rule: string;
  /** Per window (null when not counted). */
  energy: EnergyReport | null;
  time_s: number;
}

/** Perplexity of `text`; with `limit`, of its first windows (words and bytes pro rata of tokens). */
export function perplexity(
  model: CausalLM,
  tok: EvalTokenizer,
  text: string,
  options: PerplexityOptions = {},
): PerplexityRun {
  const t0 = performance.now();
  if (tok.prefixId === null)
    throw new ConfigError('perplexity needs a BOS or EOS token to start the first window');
  const ids = tok.encode(text);
  if (ids.length === 0) throw new ConfigError('the text encodes to no tokens');
  let windows = rollingWindows(ids, tok.prefixId, model.maxPositions);
  if (options.limit !== undefined) windows = windows.slice(0, options.limit);
  const stats = { fedTokens: 0 };
  const score = () =>
    scoreRequests(model, windows, {
      stats,
      batchSize: options.batchSize,
      path: 'batched',
      onProgress: (n) => options.onProgress?.(n, windows.length),
    });
  let energy: EnergyReport | null = null;
  let results;
  if (options.energy) {
    const counter = new EnergyCounter();
    results = withRecorder(counter, score);
    counter.addExamples(windows.length);
    energy = counter.report(options.energyConfig ?? {});
  } else {
    results = score();
  }
  const ll = results.reduce((s, r) => s + r.ll, 0);
  const tokens = windows.reduce((s, w) => s + w.continuationIds.length, 0);
  // Words and bytes of the whole text; with a window limit, the share of scored tokens.
  const share = tokens / ids.length;
  const words = text.split(/\s+/).length * share;
  const bytes = new TextEncoder().encode(text).length * share;
  return {
    token_perplexity: Math.exp(-ll / tokens),
    word_perplexity: Math.exp(-ll / words),
    byte_perplexity: Math.exp(-ll / bytes),
    bits_per_byte: -ll / bytes / Math.LN2,
    loglikelihood: ll,
    tokens,
    fed_tokens: stats.fedTokens,
    words,
    bytes,
    windows: windows.length,
    window_tokens: model.maxPositions,
    rule: ROLLING_WINDOW_RULE,
    energy,
    time_s: (performance.now() - t0) / 1000,
  };
}

/** `perplexity` of a UTF-8 text file. */
export async function perplexityOfFile(
  model: CausalLM,
  tok: EvalTokenizer,
  file: string,
  options: PerplexityOptions = {},
): Promise<PerplexityRun> {
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new FormatError(
      file,
      `cannot read the text file (${e.code ?? e.message})`,
      'pass --text FILE with a UTF-8 text file',
    );
  });
  return perplexity(model, tok, text, options);
}
