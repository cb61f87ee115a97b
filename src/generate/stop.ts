// Stop strings, matched on the generated text rather than on tokens (a stop
// string may span several tokens or end inside one). Text is released as soon
// as it can no longer be the start of a stop string; when one appears, the text
// before it is released and the stop string itself never is (OpenAI `stop`).
import { ConfigError } from '../errors.js';

/** What one step of the matcher gives back. */
export interface StopStep {
  /** Text that is now safe to emit. */
  readonly text: string;
  /** The stop string that ended generation, or null. */
  readonly stop: string | null;
}

/** Normalise the `stop` option: a string or a list, without empty strings. */
export function resolveStop(stop: string | readonly string[] | undefined | null): string[] {
  if (stop === undefined || stop === null) return [];
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) {
    throw new ConfigError(
      `stop must be a string or a list of strings, got ${JSON.stringify(stop)}`,
    );
  }
  if (list.some((s) => s.length === 0)) throw new ConfigError('stop strings must not be empty');
  return [...list];
}

/** Streams text through, cutting it at the first stop string (see the file header). */
export class StopMatcher {
  private held = '';
  private stopped: string | null = null;

  constructor(private readonly stops: readonly string[]) {}

  /** The stop string that matched, or null. */
  get matched(): string | null {
    return this.stopped;
  }

  /** Length of the longest end of `text` that begins some stop string (shorter than it). */
  private pendingLength(text: string): number {
    let keep = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, text.length); k > keep; k--) {
        if (text.endsWith(s.slice(0, k))) {
          keep = k;
          break;
        }
      }
    }
    return keep;
  }

  /** Add generated text; returns what may be emitted and whether a stop string matched. */
  push(text: string): StopStep {
    if (this.stopped !== null) return { text: '', stop: this.stopped };
    const buffer = this.held + text;
    let at = -1;
    for (const s of this.stops) {
      const i = buffer.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        this.stopped = s;
      }
    }
    if (at >= 0) {
      this.held = '';
      return { text: buffer.slice(0, at), stop: this.stopped };
    }
    const keep = this.pendingLength(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { text: buffer.slice(0, buffer.length - keep), stop: null };
  }

  /** Release the text held back at the end of generation (no stop string came). */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }
}
