// The express 5 app: a thin layer over the engine. Order: request metrics,
// the playground's static files and /health (both public), the optional API
// key (Bearer), the JSON body parser (size limit, strict UTF-8), one router per
// endpoint group, then 404 and the error middleware that renders every error
// in the OpenAI envelope (errors.ts).
import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import type { ServerContext } from './context.js';
import { ApiError, errorHandler, notFound, sendError } from './errors.js';
import { chatRouter } from './routes/chat.js';
import { completionsRouter } from './routes/completions.js';
import { metricsRouter } from './routes/metrics.js';
import { healthRouter, modelsRouter } from './routes/models.js';
import { tokenizeRouter } from './routes/tokenize.js';

/** Options of `createApp`. */
export interface AppOptions {
  /** Require `Authorization: Bearer <key>` on every route but /health and the playground. */
  apiKey?: string | null;
}

/**
 * The playground folder: next to this file in the sources, and found from
 * dist/serve/ in the compiled package (tsc does not copy static files).
 */
export function playgroundDir(): string | null {
  const candidates = [
    join(import.meta.dirname, 'playground'),
    join(import.meta.dirname, '..', '..', 'serve', 'playground'),
  ];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? null;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function checkUtf8(_req: Request, _res: Response, buf: Buffer): void {
  try {
    strictUtf8.decode(buf);
  } catch {
    // body-parser wraps what verify throws; errors.ts maps this `type` to a 400.
    throw Object.assign(new Error('the body is not valid UTF-8'), { type: 'entity.not.utf8' });
  }
}

function bearerAuth(key: string) {
  const expected = Buffer.from(key, 'utf8');
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    const given = Buffer.from(m ? m[1].trim() : '', 'utf8');
    if (given.length === expected.length && timingSafeEqual(given, expected)) {
      next();
      return;
    }
    sendError(
      res,
      new ApiError(
        401,
        m ? 'invalid API key' : 'missing API key: send Authorization: Bearer <key>',
        'authentication_error',
        null,
        401,
      ),
    );
  };
}

function requestMetrics(ctx: ServerContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = performance.now();
    (req as Request & { startedAt?: number }).startedAt = start;
    res.on('close', () => {
      if (!ctx.metrics) return;
      const route = req.route ? String((req.route as { path: unknown }).path) : 'unmatched';
      const status = res.writableFinished ? String(res.statusCode) : '499';
      ctx.metrics.requests.inc({ route, status });
      ctx.metrics.latency.observe({ route }, (performance.now() - start) / 1000);
    });
    next();
  };
}

/** Build the app over `ctx`. */
export function createApp(ctx: ServerContext, options: AppOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestMetrics(ctx));
  const staticDir = playgroundDir();
  if (staticDir) app.use(express.static(staticDir, { index: 'index.html' }));
  app.use(healthRouter(ctx));
  if (options.apiKey) app.use(bearerAuth(options.apiKey));
  app.use(express.json({ limit: ctx.limits.maxBodyBytes, strict: true, verify: checkUtf8 }));
  app.use(completionsRouter(ctx));
  app.use(chatRouter(ctx));
  app.use(modelsRouter(ctx));
  app.use(tokenizeRouter(ctx));
  app.use(metricsRouter(ctx));
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
