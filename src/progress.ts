// Training UX (conventions.md 4): a tqdm-style progress bar on a terminal —
// `step 300/10000 [01:02<33:10, 4.8 it/s, 9.8k tok/s] loss 2.31 lr 3.00e-4` —
// redrawn in place with `\r` and throttled; plain lines every N steps when the
// stream is not a TTY (CI, files); rates smoothed with a bias-corrected EMA as
// in llm.c. And the JSONL run log: one object per event, appended and flushed,
// field names with units (`time_s`, `tok_per_s`). Stream and clock are injectable.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, checkPositiveInt } from './errors.js';
import { log } from './log.js';

/** Where the bar is written (`process.stderr` fits). */
export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  /** Terminal width; lines are cut to fit. */
  readonly columns?: number;
}

/** Milliseconds from an arbitrary origin (`performance.now` fits). */
export type Clock = () => number;

/** Exponential moving average with bias correction (Adam's `1 − β^n`), so early values are not pulled to 0. */
export class Ema {
  #avg = 0;
  #n = 0;
  constructor(readonly beta = 0.9) {
    if (!(beta >= 0 && beta < 1)) throw new ConfigError(`EMA beta must be in [0, 1), got ${beta}`);
  }
  /** Add an observation. */
  update(x: number): void {
    this.#avg = this.beta * this.#avg + (1 - this.beta) * x;
    this.#n += 1;
  }
  /** The bias-corrected average, NaN before any observation. */
  get value(): number {
    return this.#n === 0 ? NaN : this.#avg / (1 - this.beta ** this.#n);
  }
}

/** `MM:SS`, or `H:MM:SS` from one hour; `?` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const two = (n: number) => String(n).padStart(2, '0');
  const [h, m] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)];
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${two(m)}:${two(s % 60)}`;
}

/** A count with a k/M/G suffix: 980, 9.8k, 12k, 1.5M. */
export function formatCount(x: number): string {
  if (!Number.isFinite(x)) return '?';
  for (const [unit, size] of [
    ['G', 1e9],
    ['M', 1e6],
    ['k', 1e3],
  ] as const) {
    if (Math.abs(x) >= size) {
      const v = x / size;
      return `${Math.abs(v) < 10 ? v.toFixed(1) : Math.round(v)}${unit}`;
    }
  }
  return Math.abs(x) < 10 ? x.toFixed(1) : String(Math.round(x));
}

/** A metric value: 3 significant digits, exponent form below 1e-3 (`3.00e-4`). */
export function formatMetric(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e6)) return x.toExponential(2);
  return String(Number(x.toPrecision(3)));
}

/** Options of `ProgressBar`. */
export interface ProgressOptions {
  /** Steps in the whole run. */
  total: number;
  /** Steps already done (resume): rates count only this run's steps. @default 0 */
  initialStep?: number;
  /** @default process.stderr */
  stream?: ProgressStream;
  /** @default performance.now */
  now?: Clock;
  /** Least time between two redraws on a TTY, ms. @default 100 */
  minIntervalMs?: number;
  /** Print a line every this many steps when not a TTY. @default 10 */
  everySteps?: number;
  /** Smoothing of step time and tokens per step. @default 0.9 */
  beta?: number;
}

/** Per-step information shown by the bar. */
export interface ProgressUpdate {
  /** Tokens processed since the previous update. */
  tokens?: number;
  /** Values shown after the bar in order, e.g. `{ loss: 2.31, lr: 3e-4 }`. */
  metrics?: Readonly<Record<string, number>>;
}

/**
 * A progress bar on a TTY, plain lines otherwise. Print other output through
 * `log()` (e.g. `setLogSink((l) => bar.log(l))`) so it does not tear the bar.
 */
export class ProgressBar {
  readonly total: number;
  readonly #stream: ProgressStream;
  readonly #now: Clock;
  readonly #tty: boolean;
  readonly #minInterval: number;
  readonly #every: number;
  readonly #start: number;
  readonly #secPerStep: Ema;
  readonly #tokPerStep: Ema;
  #step: number;
  #last: number;
  #lastDraw = -Infinity;
  #drawn = false;
  #metrics: Readonly<Record<string, number>> = {};
  #closed = false;

  constructor(options: ProgressOptions) {
    checkPositiveInt(options.total, 'total');
    this.total = options.total;
    this.#stream = options.stream ?? process.stderr;
    this.#now = options.now ?? (() => performance.now());
    this.#tty = this.#stream.isTTY === true;
    this.#minInterval = options.minIntervalMs ?? 100;
    this.#every = options.everySteps ?? 10;
    checkPositiveInt(this.#every, 'everySteps');
    this.#secPerStep = new Ema(options.beta ?? 0.9);
    this.#tokPerStep = new Ema(options.beta ?? 0.9);
    this.#step = options.initialStep ?? 0;
    this.#start = this.#last = this.#now();
  }

  /** Smoothed optimizer steps per second (NaN before the first update). */
  get stepsPerSecond(): number {
    return 1 / this.#secPerStep.value;
  }

  /** Smoothed tokens per second (NaN before the first update with tokens). */
  get tokensPerSecond(): number {
    return this.#tokPerStep.value / this.#secPerStep.value;
  }

  /** Estimated seconds to `total` at the smoothed rate. */
  get etaSeconds(): number {
    return (this.total - this.#step) * this.#secPerStep.value;
  }

  /** Record that `step` steps are done (1-based, e.g. 300 after the 300th update). */
  update(step: number, info: ProgressUpdate = {}): void {
    const t = this.#now();
    const steps = step - this.#step;
    if (steps > 0) {
      const dt = Math.max(0, t - this.#last) / 1000;
      this.#secPerStep.update(dt / steps);
      if (info.tokens !== undefined) this.#tokPerStep.update(info.tokens / steps);
    }
    this.#step = step;
    this.#last = t;
    if (info.metrics) this.#metrics = info.metrics;
    const last = step >= this.total;
    if (this.#tty) {
      if (last || t - this.#lastDraw >= this.#minInterval) this.#draw(t);
    } else if (last || step % this.#every === 0) {
      this.#stream.write(`${this.render()}\n`);
    }
  }

  /** The bar's text for the current state. */
  render(): string {
    const elapsed = (this.#now() - this.#start) / 1000;
    const rate = this.stepsPerSecond;
    const speed =
      rate >= 1 || !Number.isFinite(rate)
        ? `${formatCount(rate)} it/s`
        : `${formatCount(1 / rate)} s/it`;
    const parts = [`${formatDuration(elapsed)}<${formatDuration(this.etaSeconds)}`, speed];
    if (Number.isFinite(this.tokensPerSecond))
      parts.push(`${formatCount(this.tokensPerSecond)} tok/s`);
    const metrics = Object.entries(this.#metrics).map(([k, v]) => ` ${k} ${formatMetric(v)}`);
    return `step ${this.#step}/${this.total} [${parts.join(', ')}]${metrics.join('')}`;
  }

  /** Print a line without tearing the bar (the bar is redrawn below it). */
  log(line: string): void {
    if (this.#tty && this.#drawn) {
      this.#stream.write(`\r\x1b[K${line}\n`);
      this.#draw(this.#now());
    } else {
      this.#stream.write(`${line}\n`);
    }
  }

  /** Draw the final state and end the line. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#tty) {
      this.#draw(this.#now());
      this.#stream.write('\n');
    } else if (this.#step % this.#every !== 0 && this.#step < this.total) {
      this.#stream.write(`${this.render()}\n`);
    }
  }

  #draw(t: number): void {
    let text = this.render();
    const width = this.#stream.columns;
    if (width && text.length > width - 1) text = text.slice(0, Math.max(0, width - 1));
    this.#stream.write(`\r${text}\x1b[K`);
    this.#lastDraw = t;
    this.#drawn = true;
  }
}

/** A JSON Lines run log: one object per line, appended, written through at once. */
export class RunLog {
  readonly path: string;
  readonly #fd: number;
  readonly #now: Clock;
  readonly #start: number;
  readonly #tail: Record<string, unknown>[] = [];
  readonly #tailSize: number;
  #closed = false;

  /** Open (creating folders and file) for appending. `tailSize` recent events are kept in memory. */
  constructor(path: string, options: { now?: Clock; tailSize?: number } = {}) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    this.#fd = openSync(path, 'a');
    this.#now = options.now ?? (() => performance.now());
    this.#start = this.#now();
    this.#tailSize = options.tailSize ?? 100;
  }

  /**
   * Append one event (e.g. `{ step, loss, lr, grad_norm, tok_per_s }`); `time_s`
   * (seconds since the log was opened) is added unless given. NaN/Inf become null.
   */
  write(event: Readonly<Record<string, unknown>>): void {
    if (this.#closed) throw new ConfigError(`run log ${this.path} is closed`);
    const time_s = Math.round(this.#now() - this.#start) / 1000;
    const line = { time_s, ...event };
    writeSync(this.#fd, `${JSON.stringify(line)}\n`);
    this.#tail.push(JSON.parse(JSON.stringify(line)) as Record<string, unknown>);
    if (this.#tail.length > this.#tailSize) this.#tail.shift();
  }

  /** The most recent events (for `trainerState.logHistory`). */
  tail(): Record<string, unknown>[] {
    return [...this.#tail];
  }

  /** Force the log to disk (e.g. before a checkpoint). */
  flush(): void {
    if (!this.#closed) fsyncSync(this.#fd);
  }

  /** Flush and close. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    closeSync(this.#fd);
    this.#closed = true;
  }
}

/**
 * Read a JSONL run log. A torn last line (a crash mid-write) is skipped with a
 * warning; a bad line elsewhere is a ConfigError naming the line number.
 */
export function readRunLog(path: string): Record<string, unknown>[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: Record<string, unknown>[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      if (i === lines.length - 1) log.warn(`${path}: skipping a torn last line`);
      else throw new ConfigError(`${path}:${i + 1}: not a JSON object`);
    }
  });
  return out;
}
