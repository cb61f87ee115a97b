// Request bodies, validated with zod (conventions.md 1.2): lenient with unknown
// keys (they are ignored, as vLLM does), strict with known keys of the wrong
// type or out of range (400 naming the field; never a silent default).
import { z } from 'zod';
import { MAX_SEED } from '../src/generate/index.js';
import { MAX_TOP_LOGPROBS } from './job.js';

/** Most stop strings per request (OpenAI's limit). */
export const MAX_STOP = 4;

const tokenId = z.int({ error: 'token ids must be integers' }).min(0, 'token ids must be >= 0');
const stop = z
  .union([z.string().min(1), z.array(z.string().min(1)).max(MAX_STOP)], {
    error: `must be a non-empty string or a list of at most ${MAX_STOP} non-empty strings`,
  })
  .nullish();

/** Sampling and limit fields shared by completions and chat. */
const sampling = {
  model: z.string().nullish(),
  temperature: z.number().min(0).max(100).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.int().min(-1).nullish(),
  seed: z.int().min(-1).max(MAX_SEED).nullish(),
  stop,
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.int().min(1).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  repetition_penalty: z.number().gt(0).max(100).nullish(),
  ignore_eos: z.boolean().nullish(),
  user: z.string().nullish(),
  /** Our extension: per-token spike statistics in the stream chunks (the playground's). */
  spike_stats: z.boolean().nullish(),
};

/** `POST /v1/completions`. */
export const completionSchema = z.looseObject({
  ...sampling,
  prompt: z.union(
    [
      z.string(),
      z.array(z.string()).min(1),
      z.array(tokenId).min(1),
      z.array(z.array(tokenId).min(1)).min(1),
    ],
    {
      error:
        'must be a string, a list of strings, a list of token ids or a list of lists of token ids (none empty)',
    },
  ),
  max_tokens: z.int().min(1).nullish(),
  logprobs: z.int().min(0).max(MAX_TOP_LOGPROBS).nullish(),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
});
export type CompletionRequest = z.infer<typeof completionSchema>;

const textPart = z.object({ type: z.literal('text'), text: z.string() });

/** One chat message; content as text or OpenAI text parts. */
const message = z.looseObject({
  role: z.enum(['system', 'user', 'assistant'], {
    error: "must be 'system', 'user' or 'assistant'",
  }),
  content: z.union([z.string(), z.array(textPart)], {
    error: "must be a string or a list of {type: 'text', text} parts",
  }),
});

/** `POST /v1/chat/completions`. */
export const chatSchema = z.looseObject({
  ...sampling,
  messages: z.array(message).min(1),
  max_tokens: z.int().min(1).nullish(),
  max_completion_tokens: z.int().min(1).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.int().min(0).max(MAX_TOP_LOGPROBS).nullish(),
});
export type ChatRequest = z.infer<typeof chatSchema>;

/** `POST /tokenize`: llama.cpp's `content`/`add_special` or vLLM's `prompt`/`add_special_tokens`. */
export const tokenizeSchema = z.looseObject({
  content: z.string().optional(),
  prompt: z.string().optional(),
  add_special: z.boolean().optional(),
  add_special_tokens: z.boolean().optional(),
  with_pieces: z.boolean().optional(),
});

/** `POST /detokenize`. */
export const detokenizeSchema = z.looseObject({ tokens: z.array(tokenId) });
