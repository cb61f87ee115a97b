// `snnlm serve`: an OpenAI-compatible HTTP server over a model folder
// (registered on import; bin/snnlm.js imports the compiled file). Flags follow
// llama.cpp's server where one exists (`-m/--model`, `--host`, `--port`,
// `--api-key`); the key may come from SNNLM_API_KEY (the flag wins). SIGTERM and
// SIGINT stop it gracefully: new requests get 503, in-flight ones have
// `--grace` seconds to finish, then it exits with 0.
import { parseArgs } from 'node:util';
import { registerCommand } from '../src/cli.js';
import { ConfigError } from '../src/errors.js';
import { log } from '../src/log.js';
import { DEFAULT_LIMITS } from './context.js';
import { defaultWorkers } from './engine.js';
import { startServer } from './server.js';

const USAGE =
  'snnlm serve --model DIR [--host 127.0.0.1] [--port 8080] [--workers N] [--jobs-per-worker 4] ' +
  '[--max-queue 64] ' +
  '[--max-tokens 2048] [--timeout 300] [--max-body 2097152] [--grace 10] [--api-key KEY] ' +
  '[--no-metrics] [--no-energy] [--backend tensorflow|wasm|cpu]';

/** An integer flag in [min, max]; the whole string must be an integer. */
function intFlag(value: string | undefined, flag: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new ConfigError(`--${flag} must be an integer >= ${min}, got "${value}"`, USAGE);
  }
  return n;
}

/** Seconds (may be fractional) as milliseconds. */
function secondsFlag(value: string | undefined, flag: string, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new ConfigError(`--${flag} must be a number of seconds >= 0, got "${value}"`, USAGE);
  }
  return n * 1000;
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string', short: 'm' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      workers: { type: 'string' },
      'jobs-per-worker': { type: 'string' },
      'max-queue': { type: 'string' },
      'max-tokens': { type: 'string' },
      timeout: { type: 'string' },
      'max-body': { type: 'string' },
      grace: { type: 'string' },
      'api-key': { type: 'string' },
      'no-metrics': { type: 'boolean', default: false },
      'no-energy': { type: 'boolean', default: false },
      backend: { type: 'string' },
    },
    strict: true,
  });
  if (!values.model) throw new ConfigError('--model is required', USAGE);
  const port = intFlag(values.port, 'port', 0, 8080);
  if (port > 65535) throw new ConfigError(`--port must be <= 65535, got ${port}`, USAGE);
  const graceMs = secondsFlag(values.grace, 'grace', 10_000);
  const server = await startServer({
    model: values.model,
    host: values.host,
    port,
    workers: intFlag(values.workers, 'workers', 0, defaultWorkers()),
    jobsPerWorker: intFlag(values['jobs-per-worker'], 'jobs-per-worker', 1, 4),
    maxQueue: intFlag(values['max-queue'], 'max-queue', 0, 64),
    backend: values.backend,
    countEnergy: !values['no-energy'],
    metrics: !values['no-metrics'],
    apiKey: values['api-key'] ?? process.env.SNNLM_API_KEY ?? null,
    limits: {
      maxTokensCap: intFlag(values['max-tokens'], 'max-tokens', 1, DEFAULT_LIMITS.maxTokensCap),
      timeoutMs: secondsFlag(values.timeout, 'timeout', DEFAULT_LIMITS.timeoutMs),
      maxBodyBytes: intFlag(values['max-body'], 'max-body', 1, DEFAULT_LIMITS.maxBodyBytes),
    },
    waitReady: false,
  });
  log.info(`loading ${values.model} (listening at ${server.url}; /health answers 503 until ready)`);
  // Signals are handled from here on, so a stop while the model loads exits cleanly too.
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  let stopping = false;
  const detach = (): void => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  const stopped = new Promise<void>((resolve) => {
    onSignal = (signal) => {
      stopping = true;
      detach();
      log.info(`${signal}: finishing in-flight requests (up to ${graceMs / 1000} s), then exiting`);
      server.close(graceMs).then(resolve, (e: unknown) => {
        log.error(`shutdown: ${(e as Error).message}`);
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  const loaded = server.ready.then(
    () => true,
    async (e: unknown) => {
      detach();
      await server.close();
      throw e;
    },
  );
  if ((await Promise.race([loaded, stopped.then(() => false)])) && !stopping) {
    const info = server.engine.info;
    const workers = server.engine.options.workers;
    log.info(
      `serving ${info.id} (${info.model_type}, context ${info.context_length}) on ${server.url} ` +
        `with ${workers === 0 ? 'no worker threads' : `${workers} worker thread(s)`}`,
    );
    await stopped;
  }
  log.info('stopped');
  return 0;
}

registerCommand('serve', {
  summary: 'serve a model folder over an OpenAI-compatible HTTP API (with a playground at /)',
  usage: USAGE,
  run: serve,
});
