// GET /metrics: Prometheus text format (`text/plain; version=0.0.4`); 501
// not_supported_error when the server runs with metrics off.
import { Router } from 'express';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';

/** The metrics router. */
export function metricsRouter(ctx: ServerContext): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    if (!ctx.metrics) {
      throw new ApiError(
        501,
        'metrics are off (start without --no-metrics)',
        'not_supported_error',
      );
    }
    const text = await ctx.metrics.registry.metrics();
    res.setHeader('Content-Type', ctx.metrics.registry.contentType);
    res.send(text);
  });
  return router;
}
