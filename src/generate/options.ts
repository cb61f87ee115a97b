// Options of text generation: the OpenAI/vLLM request names (conventions.md
// 1.2: max_tokens, temperature, top_p, top_k, seed, stop) plus
// repetition_penalty and eos_token_id, their checks, and the defaults a model
// folder's `generation_config.json` implies (Hugging Face semantics).
import { ConfigError } from '../errors.js';
import { checkSeed, randomSeed } from './rng.js';
import { resolveSampling } from './sampling.js';
import type { ResolvedSampling, SamplingOptions } from './sampling.js';
import { resolveStop } from './stop.js';

/** Options of `generate`. */
export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate; clamped so that prompt + new tokens fit the context. @default 16 */
  max_tokens?: number;
  /** Stop strings (matched on the text, never emitted). */
  stop?: string | readonly string[] | null;
  /** Seed of the sampler; undefined or -1 draws one (returned in the result). */
  seed?: number | null;
  /** Ids that end generation; @default the tokenizer's EOS. `[]` never stops on a token. */
  eos_token_id?: number | readonly number[] | null;
}

/** Generation options with defaults filled in and checked. */
export interface ResolvedGenerateOptions extends ResolvedSampling {
  max_tokens: number;
  stop: string[];
  seed: number;
  eos_token_id: number[];
}

/** Default of `max_tokens` (OpenAI's and vLLM's). */
export const DEFAULT_MAX_TOKENS = 16;

function idList(
  value: number | readonly number[] | null | undefined,
  fallback: number[],
): number[] {
  if (value === undefined || value === null) return fallback;
  const list = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(list) || list.some((id) => !Number.isInteger(id) || id < 0)) {
    throw new ConfigError(
      `eos_token_id must be a token id or a list of them, got ${JSON.stringify(value)}`,
    );
  }
  return [...list];
}

/**
 * Check `options` and fill in defaults; `defaultEos` is the tokenizer's EOS id
 * (or null). A bad value is a ConfigError naming the field.
 */
export function resolveGenerateOptions(
  options: GenerateOptions,
  defaultEos: number | null,
): ResolvedGenerateOptions {
  const maxTokens = options.max_tokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new ConfigError(
      `max_tokens must be a positive integer, got ${JSON.stringify(maxTokens)}`,
    );
  }
  const seed = options.seed === undefined || options.seed === null || options.seed === -1;
  if (!seed) checkSeed(options.seed!);
  return {
    ...resolveSampling(options),
    max_tokens: maxTokens,
    stop: resolveStop(options.stop),
    seed: seed ? randomSeed() : options.seed!,
    eos_token_id: idList(options.eos_token_id, defaultEos === null ? [] : [defaultEos]),
  };
}

function numberField(config: Record<string, unknown>, key: string): number | undefined {
  const v = config[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Defaults from a `generation_config.json` object, as transformers reads it:
 * greedy unless `do_sample` is true (then temperature 1, top_k 50, top_p 1
 * unless given), `max_new_tokens`, `repetition_penalty`, `eos_token_id`.
 * Request options given explicitly override these.
 */
export function generationDefaults(config: Record<string, unknown> | null): GenerateOptions {
  if (!config) return {};
  const out: GenerateOptions = {};
  if (config.do_sample === true) {
    out.temperature = numberField(config, 'temperature') ?? 1;
    out.top_k = numberField(config, 'top_k') ?? 50;
    out.top_p = numberField(config, 'top_p') ?? 1;
  } else {
    out.temperature = 0;
  }
  const maxNew = numberField(config, 'max_new_tokens');
  if (maxNew !== undefined) out.max_tokens = maxNew;
  const penalty = numberField(config, 'repetition_penalty');
  if (penalty !== undefined) out.repetition_penalty = penalty;
  const eos = config.eos_token_id;
  if (typeof eos === 'number' || (Array.isArray(eos) && eos.every((x) => typeof x === 'number'))) {
    out.eos_token_id = eos as number | number[];
  }
  return out;
}

/** `base` overridden by the fields of `override` that are set (not undefined). */
export function mergeOptions(base: GenerateOptions, override: GenerateOptions): GenerateOptions {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) if (v !== undefined) out[k] = v;
  return out as GenerateOptions;
}
