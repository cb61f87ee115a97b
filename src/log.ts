// One logger for the whole toolkit. stdout is reserved for data (JSON results,
// generated text); every diagnostic goes to stderr through here, with levels.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

function initialLevel(): LogLevel {
  const env = process.env.SNNLM_LOG_LEVEL;
  return env && env in order ? (env as LogLevel) : 'info';
}

let level: LogLevel = initialLevel();
let sink: (line: string) => void = (line) => {
  process.stderr.write(line + '\n');
};

/** Set the minimum level that is written. */
export function setLogLevel(next: LogLevel): void {
  level = next;
}

/** Redirect log lines (tests capture them this way). Returns the previous sink. */
export function setLogSink(next: (line: string) => void): (line: string) => void {
  const prev = sink;
  sink = next;
  return prev;
}

function emit(at: LogLevel, msg: string): void {
  if (order[at] >= order[level]) sink(`[snnlm ${at}] ${msg}`);
}

export const log = {
  debug: (msg: string) => emit('debug', msg),
  info: (msg: string) => emit('info', msg),
  warn: (msg: string) => emit('warn', msg),
  error: (msg: string) => emit('error', msg),
};
