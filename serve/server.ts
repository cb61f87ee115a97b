// Starting and stopping a server: the engine (loading in the background while
// /health answers 503), the app, the HTTP listener, and a graceful stop that
// refuses new work, lets in-flight requests finish within a grace period,
// cancels what is left (their streams end with an error event), and frees the
// model and the workers.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { log } from '../src/log.js';
import { createApp } from './app.js';
import { chatFormatter } from './chat.js';
import { DEFAULT_LIMITS } from './context.js';
import type { Limits, ServerContext } from './context.js';
import { Engine } from './engine.js';
import type { EngineOptions } from './engine.js';
import { ServerMetrics } from './metrics.js';

/** Options of `startServer`. */
export interface ServerOptions extends EngineOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 8080 */
  port?: number;
  apiKey?: string | null;
  limits?: Partial<Limits>;
  /** Serve /metrics. @default true */
  metrics?: boolean;
  /** Resolve only once the model is loaded. @default true */
  waitReady?: boolean;
}

/** A listening server. */
export interface RunningServer {
  /** `http://host:port`. */
  url: string;
  port: number;
  server: Server;
  engine: Engine;
  ctx: ServerContext;
  /** Resolves when the model is loaded (and its chat template read); rejects if loading fails. */
  ready: Promise<void>;
  /** Graceful stop: in-flight requests get `graceMs` to finish. */
  close(graceMs?: number): Promise<void>;
}

function version(): string {
  const require = createRequire(import.meta.url);
  for (const p of ['../package.json', '../../package.json']) {
    try {
      const v = (require(p) as { name?: string; version?: string }).version;
      if (v) return v;
    } catch {
      // try the next location (sources vs dist/)
    }
  }
  return '0.0.0';
}

/** Start a server (see the file header). */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const engine = new Engine(options);
  const ctx: ServerContext = {
    engine,
    metrics: options.metrics === false ? null : new ServerMetrics(engine),
    chat: null,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    fingerprint: `snnlm-${version()}`,
  };
  const formatterReady = engine.ready.then(async () => {
    ctx.chat = await chatFormatter(engine.tokenizerConfig);
  });
  formatterReady.catch((e: unknown) => log.error(`model not loaded: ${(e as Error).message}`));
  const app = createApp(ctx, { apiKey: options.apiKey ?? null });
  const server = createServer(app);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | null = null;
  const close = (graceMs = 0): Promise<void> => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await engine.close(graceMs);
      // Responses of cancelled jobs are written on the next turns of the event loop.
      await new Promise((resolve) => setTimeout(resolve, 50));
      server.closeAllConnections();
      await closed;
    })();
    return closing;
  };
  const running: RunningServer = {
    url: `http://${host}:${address.port}`,
    port: address.port,
    server,
    engine,
    ctx,
    ready: formatterReady,
    close,
  };
  if (options.waitReady !== false) {
    try {
      await formatterReady;
    } catch (e) {
      await close();
      throw e;
    }
  }
  return running;
}
