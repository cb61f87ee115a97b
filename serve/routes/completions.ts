// POST /v1/completions (OpenAI legacy completions, conventions.md 1.2-1.4, 1.7):
// prompts as a string, strings, token ids or lists of token ids, one choice per
// prompt; `echo` + `logprobs` return the prompt's logprobs so that
// lm-evaluation-harness can score through it; SSE streaming with optional
// per-token spike statistics (`spike_stats: true` adds an `snnlm` field to
// every chunk: token_index, firing_rates per spiking layer, layers (first
// chunk), spikes, sops, energy_pj, ann_energy_pj).
import { Router } from 'express';
import type { Request, Response } from 'express';
import { parseBody } from '../body.js';
import type { ServerContext } from '../context.js';
import { badRequest } from '../errors.js';
import {
  generationHandler,
  makeJob,
  nowSeconds,
  requestSignal,
  responseId,
  spikeChunk,
  submitJob,
  timings,
  usage,
} from '../generation.js';
import { completionSchema } from '../schemas.js';
import type { CompletionRequest } from '../schemas.js';
import { openEventStream } from '../sse.js';
import type { Job, JobResult, TokenLogprobs } from '../types.js';

/** OpenAI's legacy `logprobs` object of one choice (prompt tokens first with `echo`). */
export function legacyLogprobs(r: JobResult): Record<string, unknown> | null {
  if (!r.logprobs) return null;
  const parts: TokenLogprobs[] = r.prompt_logprobs ? [r.prompt_logprobs, r.logprobs] : [r.logprobs];
  return {
    tokens: parts.flatMap((p) => p.tokens),
    token_logprobs: parts.flatMap((p) => p.token_logprobs),
    top_logprobs: parts.flatMap((p) =>
      p.top_logprobs.map((top) => (top === null ? null : Object.fromEntries(top))),
    ),
    text_offset: parts.flatMap((p) => p.text_offset),
  };
}

interface Prompt {
  ids: number[];
  /** What `echo` returns: the prompt string, or the decoded ids. */
  text: string;
}

function prompts(ctx: ServerContext, body: CompletionRequest): Prompt[] {
  const tok = ctx.engine.tokenizer;
  const p = body.prompt;
  const fromIds = (ids: number[]): Prompt => {
    const vocab = Math.min(tok.vocabSize, ctx.engine.info.vocab_size);
    for (const id of ids) {
      if (id >= vocab) {
        throw badRequest(
          `'prompt': token id ${id} is outside the vocabulary (0..${vocab - 1})`,
          'prompt',
        );
      }
    }
    return { ids, text: tok.decode(ids, { skipSpecialTokens: true }) };
  };
  if (typeof p === 'string') return [{ ids: tok.encode(p), text: p }];
  if (p.every((x) => typeof x === 'string')) {
    return (p as string[]).map((s) => ({ ids: tok.encode(s), text: s }));
  }
  if (p.every((x) => typeof x === 'number')) return [fromIds(p as number[])];
  return (p as number[][]).map(fromIds);
}

async function completions(ctx: ServerContext, req: Request, res: Response): Promise<void> {
  const body = parseBody(completionSchema, req);
  if (body.stream && body.logprobs !== undefined && body.logprobs !== null) {
    throw badRequest(
      "'logprobs' is not supported with 'stream'; ask without streaming",
      'logprobs',
    );
  }
  const list = prompts(ctx, body);
  const echo = body.echo ?? false;
  const jobs: Job[] = list.map((p) =>
    makeJob(ctx, p.ids, body, {
      param: 'prompt',
      maxTokens: body.max_tokens,
      maxTokensParam: 'max_tokens',
      logprobs: body.logprobs ?? null,
      echo,
      spikeStats: body.spike_stats ?? false,
    }),
  );
  const info = ctx.engine.info;
  const head = {
    id: responseId('cmpl'),
    object: 'text_completion',
    created: nowSeconds(),
    model: info.id,
    system_fingerprint: ctx.fingerprint,
  };
  const signal = requestSignal(ctx, res);
  const results: JobResult[] = [];
  if (!body.stream) {
    for (const job of jobs) results.push(await submitJob(ctx, req, job, signal));
    res.json({
      ...head,
      choices: results.map((r, i) => ({
        index: i,
        text: (echo ? list[i].text : '') + r.text,
        logprobs: legacyLogprobs(r),
        finish_reason: r.finish_reason,
      })),
      usage: usage(results),
      timings: timings(results),
    });
    return;
  }
  if (!ctx.engine.accepting) await ctx.engine.submit(jobs[0]); // rejects with the reason (429/503)
  const sse = openEventStream(res);
  const chunk = (index: number, text: string, finish: string | null, extra = {}): unknown => ({
    ...head,
    choices: [{ index, text, logprobs: null, finish_reason: finish }],
    ...extra,
  });
  for (const [i, job] of jobs.entries()) {
    if (echo) sse.send(chunk(i, list[i].text, null));
    const r = await submitJob(ctx, req, job, signal, (e) => {
      const spikes = spikeChunk(e);
      if (e.text || spikes) sse.send(chunk(i, e.text, null, spikes ? { snnlm: spikes } : {}));
    });
    results.push(r);
    sse.send(chunk(i, '', r.finish_reason));
  }
  if (body.stream_options?.include_usage) {
    sse.send({ ...head, choices: [], usage: usage(results), timings: timings(results) });
  }
  sse.done();
}

/** The completions router. */
export function completionsRouter(ctx: ServerContext): Router {
  const router = Router();
  router.post('/v1/completions', generationHandler(ctx, completions));
  return router;
}
