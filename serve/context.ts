// What every route sees: the engine, the metrics, the chat formatter and the
// server's limits, plus the defaults of those limits.
import type { ChatFormatter } from './chat.js';
import type { Engine } from './engine.js';
import type { ServerMetrics } from './metrics.js';

/** The server's limits (each has a flag in `snnlm serve`). */
export interface Limits {
  /** Largest `max_tokens` a request may ask for. */
  maxTokensCap: number;
  /** A request (queue wait + generation) is aborted after this long, ms. */
  timeoutMs: number;
  /** Largest request body, bytes. */
  maxBodyBytes: number;
}

/** Defaults of `Limits` [P]. */
export const DEFAULT_LIMITS: Limits = {
  maxTokensCap: 2048,
  timeoutMs: 300_000,
  maxBodyBytes: 2 * 1024 * 1024,
};

/** Shared state of one app. */
export interface ServerContext {
  engine: Engine;
  /** Null when metrics are off (`/metrics` answers 501). */
  metrics: ServerMetrics | null;
  /** Set once the model is loaded. */
  chat: ChatFormatter | null;
  limits: Limits;
  /** `system_fingerprint` of responses, e.g. `snnlm-0.1.0`. */
  fingerprint: string;
}
