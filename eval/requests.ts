// Turning (context, continuation) string pairs into token ids by lm-evaluation-harness's
// rules (conventions.md 2.1, `HFLM._encode_pair` and `loglikelihood`):
//  - trailing white space of the context moves onto the continuation;
//  - the context is encoded alone, the continuation is what follows that many tokens in
//    the encoding of the whole string (the tokens a left-to-right tokenizer produces);
//  - an empty context is replaced by the prefix token (BOS, else EOS);
//  - no special tokens are added (the harness's `add_special_tokens=False` for causal LMs).
// Truncation: the scored sequence `context + continuation` keeps its last
// `maxPositions + 1` tokens, and the model reads all but the last of them; so a context
// loses tokens from the LEFT, and a continuation longer than the context window is refused.
import { ConfigError } from '../src/errors.js';
import type { Tokenizer } from '../src/tokenizer/index.js';

/** The truncation rule, as the results file states it. */
export const TRUNCATION_RULE =
  'from the left: the last max_position_embeddings + 1 tokens of context + continuation are kept and all but the last are fed (lm-evaluation-harness _loglikelihood_tokens)';

/** The tokenizer as scoring needs it. */
export interface EvalTokenizer {
  /** Ids of `text` without special tokens. */
  encode(text: string): number[];
  /** Token put before a continuation with an empty context (BOS, else EOS); null if none. */
  readonly prefixId: number | null;
}

/** A `Tokenizer` of a model folder as an `EvalTokenizer`. */
export function evalTokenizer(tok: Tokenizer): EvalTokenizer {
  return {
    encode: (text) => tok.encode(text, { addSpecialTokens: false }),
    prefixId: tok.bosId ?? tok.eosId,
  };
}

/** One log-likelihood request. */
export interface LoglikelihoodRequest {
  context: string;
  /** Includes the target delimiter (e.g. `" yes"`). */
  continuation: string;
}

/** A request in tokens. */
export interface TokenizedRequest {
  contextIds: number[];
  continuationIds: number[];
}

/** Encode one pair by the harness's rules (see the file header). */
export function encodePair(tok: EvalTokenizer, req: LoglikelihoodRequest): TokenizedRequest {
  let { context, continuation } = req;
  if (context === '') {
    if (tok.prefixId === null) {
      throw new ConfigError(
        'an empty context needs a BOS or EOS token, and the tokenizer has neither',
      );
    }
    return { contextIds: [tok.prefixId], continuationIds: tok.encode(continuation) };
  }
  const trimmed = context.trimEnd();
  if (trimmed.length < context.length) {
    continuation = context.slice(trimmed.length) + continuation;
    context = trimmed;
  }
  const contextIds = tok.encode(context);
  const whole = tok.encode(context + continuation);
  return { contextIds, continuationIds: whole.slice(contextIds.length) };
}

/**
 * The model input and scored positions of a request under a context of `maxPositions`:
 * `input` = `(context + continuation)[-(maxPositions + 1):][:-1]`, and the continuation
 * is predicted by the last `continuationIds.length` positions of `input`.
 */
export function truncateRequest(
  req: TokenizedRequest,
  maxPositions: number,
): { input: number[]; targets: number[] } {
  const n = req.continuationIds.length;
  if (n === 0) throw new ConfigError('a continuation encodes to no tokens; nothing to score');
  if (n > maxPositions) {
    throw new ConfigError(
      `a continuation of ${n} tokens does not fit the model context of ${maxPositions} tokens`,
    );
  }
  const all = [...req.contextIds, ...req.continuationIds];
  const kept = all.slice(Math.max(0, all.length - (maxPositions + 1)));
  return { input: kept.slice(0, -1), targets: req.continuationIds };
}
