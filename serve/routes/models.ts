// Model and server information: GET /health (public, 503 while loading),
// GET /v1/models (one model, with a `meta` of its shape as llama.cpp adds),
// GET /props (llama.cpp: defaults, slots, chat template), GET /tokenizer_info
// (vLLM; lm-evaluation-harness probes it to tokenize remotely).
import { Router } from 'express';
import type { ServerContext } from '../context.js';
import { ApiError, sendError } from '../errors.js';

const created = Math.floor(Date.now() / 1000);

/** GET /health: 200 `{"status":"ok"}` when serving, else a 503 envelope. */
export function healthRouter(ctx: ServerContext): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    const state = ctx.engine.state;
    if (state === 'ready' && ctx.chat) {
      res.json({ status: 'ok' });
      return;
    }
    const message =
      state === 'loading'
        ? 'the model is loading'
        : state === 'failed'
          ? 'the model failed to load'
          : 'the server is shutting down';
    sendError(res, new ApiError(503, message, 'unavailable_error', null, 503, 1));
  });
  return router;
}

/** The model routes. */
export function modelsRouter(ctx: ServerContext): Router {
  const router = Router();
  router.get('/v1/models', (_req, res) => {
    const info = ctx.engine.info;
    res.json({
      object: 'list',
      data: [
        {
          id: info.id,
          object: 'model',
          created,
          owned_by: 'snnlm',
          max_model_len: info.context_length,
          meta: {
            model_type: info.model_type,
            n_vocab: info.vocab_size,
            n_ctx_train: info.context_length,
            n_params: info.n_params,
            time_steps: info.time_steps,
          },
        },
      ],
    });
  });
  router.get('/props', (_req, res) => {
    const e = ctx.engine;
    const info = e.info;
    res.json({
      model: info.id,
      model_type: info.model_type,
      n_ctx: info.context_length,
      total_slots: e.options.concurrency,
      max_queue: e.options.maxQueue,
      default_generation_settings: { ...e.generationDefaults, n_ctx: info.context_length },
      limits: {
        max_tokens: ctx.limits.maxTokensCap,
        timeout_ms: ctx.limits.timeoutMs,
        max_body_bytes: ctx.limits.maxBodyBytes,
      },
      chat_template: ctx.chat?.template ?? null,
      chat_format: ctx.chat?.kind ?? null,
      build_info: ctx.fingerprint,
    });
  });
  router.get('/tokenizer_info', (_req, res) => {
    const tok = ctx.engine.tokenizer;
    const piece = (id: number | null): string | null => (id === null ? null : tok.idToToken(id));
    const cfg = ctx.engine.tokenizerConfig;
    res.json({
      tokenizer_class: typeof cfg.tokenizer_class === 'string' ? cfg.tokenizer_class : null,
      bos_token: piece(tok.bosId),
      eos_token: piece(tok.eosId),
      pad_token: piece(tok.padId),
      unk_token: piece(tok.unkId),
      chat_template: ctx.chat?.template ?? null,
      model_max_length: ctx.engine.info.context_length,
      vocab_size: tok.vocabSize,
    });
  });
  return router;
}
