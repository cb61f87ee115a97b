// What the completion and chat routes share: turning request fields into an
// engine job (with the limits: context, max_tokens cap, n, unsupported
// penalties), running jobs tied to the client connection and the request
// timeout, and the `usage` / `timings` objects of responses.
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { DEFAULT_MAX_TOKENS, mergeOptions, resolveGenerateOptions } from '../src/generate/index.js';
import type { GenerateOptions } from '../src/generate/index.js';
import type { ServerContext } from './context.js';
import { ApiError, badRequest, sendError } from './errors.js';
import type { Job, JobResult, TokenEvent } from './types.js';

/** The sampling and limit fields both generation routes accept. */
export interface SamplingFields {
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  n?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  repetition_penalty?: number | null;
  ignore_eos?: boolean | null;
}

/** The client went away before the response was complete. */
export class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientGoneError';
  }
}

/** How a job is built from a request. */
export interface JobSpec {
  /** Field the prompt came from (named in errors): `prompt` or `messages`. */
  param: string;
  maxTokens: number | null | undefined;
  /** Name of the max-tokens field in errors. */
  maxTokensParam: string;
  extraStop?: string[];
  logprobs: number | null;
  echo: boolean;
  spikeStats: boolean;
}

const undef = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

/** Build (and check) the engine job of one prompt. */
export function makeJob(
  ctx: ServerContext,
  promptIds: number[],
  fields: SamplingFields,
  spec: JobSpec,
): Job {
  const info = ctx.engine.info;
  if (fields.n !== undefined && fields.n !== null && fields.n !== 1) {
    throw badRequest(
      `'n' must be 1, got ${fields.n}: this server returns one choice per prompt (send the prompt several times instead)`,
      'n',
    );
  }
  for (const p of ['presence_penalty', 'frequency_penalty'] as const) {
    const v = fields[p];
    if (v !== undefined && v !== null && v !== 0) {
      throw badRequest(`'${p}' is not supported (only 0); use 'repetition_penalty'`, p);
    }
  }
  if (promptIds.length === 0) throw badRequest(`'${spec.param}': the prompt is empty`, spec.param);
  for (const id of promptIds) {
    if (id >= info.vocab_size) {
      throw badRequest(
        `'${spec.param}': token id ${id} is outside the vocabulary (0..${info.vocab_size - 1})`,
        spec.param,
      );
    }
  }
  const context = info.context_length;
  if (promptIds.length >= context) {
    throw new ApiError(
      400,
      `the prompt has ${promptIds.length} tokens and the model's context is ${context}: no room for a new token`,
      'invalid_request_error',
      spec.param,
      'context_length_exceeded',
    );
  }
  const cap = ctx.limits.maxTokensCap;
  if (spec.maxTokens !== undefined && spec.maxTokens !== null && spec.maxTokens > cap) {
    throw badRequest(
      `'${spec.maxTokensParam}' must be <= ${cap} (the server's limit), got ${spec.maxTokens}`,
      spec.maxTokensParam,
    );
  }
  const defaults = ctx.engine.generationDefaults;
  const wanted = spec.maxTokens ?? defaults.max_tokens ?? DEFAULT_MAX_TOKENS;
  // Clamp so that prompt + new tokens fit the context (finish_reason `length` tells).
  const maxTokens = Math.min(wanted, cap, context - promptIds.length);
  const stops = [
    ...(typeof fields.stop === 'string' ? [fields.stop] : (fields.stop ?? [])),
    ...(spec.extraStop ?? []),
  ];
  const request: GenerateOptions = {
    temperature: undef(fields.temperature),
    top_p: undef(fields.top_p),
    top_k: undef(fields.top_k),
    seed: undef(fields.seed),
    repetition_penalty: undef(fields.repetition_penalty),
    stop: stops.length > 0 ? stops : undefined,
    max_tokens: maxTokens,
    eos_token_id: fields.ignore_eos ? [] : undefined,
  };
  const options = mergeOptions(defaults, request);
  // Checks the merged options now (a ConfigError is a 400) rather than in a worker.
  resolveGenerateOptions(options, ctx.engine.tokenizer.eosId);
  return {
    prompt_ids: promptIds,
    options,
    logprobs: spec.logprobs,
    echo: spec.echo,
    spike_stats: spec.spikeStats,
  };
}

/** A response id: `<prefix>-<24 hex digits>`. */
export function responseId(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
}

/** Unix seconds. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * A signal that fires when the client goes away (the response closes before it
 * finished) or the request outlives the server's timeout.
 */
export function requestSignal(ctx: ServerContext, res: Response): AbortSignal {
  const ac = new AbortController();
  // NOTE: a plain timer rather than AbortSignal.timeout, which would keep every
  // request's signal alive until its timeout fires, long after the response.
  const timer = setTimeout(
    () => ac.abort(new DOMException('the request took too long', 'TimeoutError')),
    ctx.limits.timeoutMs,
  );
  res.on('close', () => {
    clearTimeout(timer);
    if (!res.writableFinished) ac.abort(new ClientGoneError());
  });
  return ac.signal;
}

/** Submit a job, recording the time to its first token and its totals in the metrics. */
export async function submitJob(
  ctx: ServerContext,
  req: Request,
  job: Job,
  signal: AbortSignal,
  onEvent?: (e: TokenEvent) => void,
): Promise<JobResult> {
  const start = (req as Request & { startedAt?: number }).startedAt ?? performance.now();
  let first = true;
  const result = await ctx.engine.submit(job, {
    signal,
    onEvent: (e) => {
      if (first && e.id !== null) {
        ctx.metrics?.ttft.observe((performance.now() - start) / 1000);
        first = false;
      }
      onEvent?.(e);
    },
  });
  ctx.metrics?.job(result);
  return result;
}

/** `usage`: OpenAI's token counts plus our spike and energy totals. */
export function usage(results: JobResult[]): Record<string, number | null> {
  const sum = (f: (r: JobResult) => number): number => results.reduce((s, r) => s + f(r), 0);
  const prompt = sum((r) => r.prompt_tokens);
  const completion = sum((r) => r.completion_tokens);
  const rated = results.filter((r) => r.energy.firing_rate !== null);
  const weight = (r: JobResult): number => r.prompt_tokens + r.completion_tokens;
  const rateWeight = rated.reduce((s, r) => s + weight(r), 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    spikes: sum((r) => r.energy.spikes),
    synaptic_ops: sum((r) => r.energy.sops),
    energy_pj: sum((r) => r.energy.energy_pj),
    ann_energy_pj: sum((r) => r.energy.ann_energy_pj),
    firing_rate:
      rated.length > 0
        ? rated.reduce((s, r) => s + r.energy.firing_rate! * weight(r), 0) / rateWeight
        : null,
  };
}

/** llama.cpp's `timings` object (milliseconds), plus the time spent queued. */
export function timings(results: JobResult[]): Record<string, number> {
  const sum = (f: (r: JobResult) => number): number => results.reduce((s, r) => s + f(r), 0);
  const predictedMs = sum((r) => r.time_ms - r.prefill_ms);
  const predicted = sum((r) => r.completion_tokens);
  return {
    prompt_n: sum((r) => r.prompt_tokens),
    prompt_ms: sum((r) => r.prefill_ms),
    predicted_n: predicted,
    predicted_ms: predictedMs,
    predicted_per_second: predictedMs > 0 ? (predicted * 1000) / predictedMs : 0,
    queue_ms: sum((r) => r.queue_ms),
  };
}

/** The per-token spike statistics of a stream chunk (our `snnlm` extension field). */
export function spikeChunk(e: TokenEvent): Record<string, unknown> | undefined {
  if (!e.stats) return undefined;
  return { token_index: e.index, ...(e.layers ? { layers: e.layers } : {}), ...e.stats };
}

/** Run a generation handler: a client that went away gets nothing, other errors the envelope. */
export function generationHandler(
  ctx: ServerContext,
  fn: (ctx: ServerContext, req: Request, res: Response) => Promise<void>,
) {
  return async (req: Request, res: Response): Promise<void> => {
    try {
      await fn(ctx, req, res);
    } catch (e) {
      if (e instanceof ClientGoneError || res.destroyed) return;
      sendError(res, e);
    }
  };
}
