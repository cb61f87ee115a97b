// POST /v1/chat/completions: messages rendered by the model's chat template
// (or the documented default, chat.ts), one assistant message back, SSE
// chunks with `delta`s (role first, then content, then an empty delta with the
// finish reason), `logprobs: true` + `top_logprobs` in the chat format, and the
// same `spike_stats` extension as completions.
import { Router } from 'express';
import type { Request, Response } from 'express';
import { parseBody } from '../body.js';
import type { ChatMessage } from '../chat.js';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
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
import { chatSchema } from '../schemas.js';
import { openEventStream } from '../sse.js';
import type { TokenLogprobs } from '../types.js';

const utf8 = (s: string): number[] => [...Buffer.from(s, 'utf8')];

/** The chat `logprobs` object: `{content: [{token, logprob, bytes, top_logprobs}]}`. */
export function chatLogprobs(lp: TokenLogprobs | null): Record<string, unknown> | null {
  if (!lp) return null;
  return {
    content: lp.tokens.map((token, i) => ({
      token,
      logprob: lp.token_logprobs[i],
      bytes: utf8(token),
      top_logprobs: (lp.top_logprobs[i] ?? []).map(([t, l]) => ({
        token: t,
        logprob: l,
        bytes: utf8(t),
      })),
    })),
  };
}

async function chat(ctx: ServerContext, req: Request, res: Response): Promise<void> {
  const body = parseBody(chatSchema, req);
  const engine = ctx.engine;
  const formatter = ctx.chat;
  if (!formatter) throw new ApiError(503, 'the model is still loading', 'unavailable_error');
  const messages: ChatMessage[] = body.messages.map((m) => ({
    role: m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
  }));
  const prompt = formatter.render(messages);
  const ids = engine.tokenizer.encode(prompt.text, { addSpecialTokens: prompt.addSpecialTokens });
  if (body.stream && body.logprobs) {
    throw new ApiError(
      400,
      "'logprobs' is not supported with 'stream'",
      'invalid_request_error',
      'logprobs',
    );
  }
  const maxTokensParam =
    body.max_completion_tokens !== undefined && body.max_completion_tokens !== null
      ? 'max_completion_tokens'
      : 'max_tokens';
  const job = makeJob(ctx, ids, body, {
    param: 'messages',
    maxTokens: body.max_completion_tokens ?? body.max_tokens,
    maxTokensParam,
    extraStop: prompt.stop,
    logprobs: body.logprobs ? (body.top_logprobs ?? 0) : null,
    echo: false,
    spikeStats: body.spike_stats ?? false,
  });
  const head = {
    id: responseId('chatcmpl'),
    created: nowSeconds(),
    model: engine.info.id,
    system_fingerprint: ctx.fingerprint,
  };
  const signal = requestSignal(ctx, res);
  if (!body.stream) {
    const r = await submitJob(ctx, req, job, signal);
    res.json({
      ...head,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: r.text },
          logprobs: chatLogprobs(r.logprobs),
          finish_reason: r.finish_reason,
        },
      ],
      usage: usage([r]),
      timings: timings([r]),
    });
    return;
  }
  if (!engine.accepting) await engine.submit(job); // rejects with the reason (429/503)
  const sse = openEventStream(res);
  const chunk = (delta: object, finish: string | null, extra = {}): unknown => ({
    ...head,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...extra,
  });
  sse.send(chunk({ role: 'assistant', content: '' }, null));
  const r = await submitJob(ctx, req, job, signal, (e) => {
    const spikes = spikeChunk(e);
    if (e.text || spikes)
      sse.send(chunk({ content: e.text }, null, spikes ? { snnlm: spikes } : {}));
  });
  sse.send(chunk({}, r.finish_reason));
  if (body.stream_options?.include_usage) {
    sse.send({
      ...head,
      object: 'chat.completion.chunk',
      choices: [],
      usage: usage([r]),
      timings: timings([r]),
    });
  }
  sse.done();
}

/** The chat router. */
export function chatRouter(ctx: ServerContext): Router {
  const router = Router();
  router.post('/v1/chat/completions', generationHandler(ctx, chat));
  return router;
}
