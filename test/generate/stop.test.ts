// Stop strings on streamed text: cut exactly before the first match (also across
// pieces), release held text once it cannot start a stop string, flush at the end.
import { describe, expect, it } from 'vitest';
import { StopMatcher, resolveStop } from '../../src/generate/index.js';

/** Push pieces; returns the emitted text and the stop string (flushing when none matched). */
function run(stops: string[], pieces: string[]): [string, string | null] {
  const m = new StopMatcher(stops);
  let out = '';
  for (const p of pieces) {
    const step = m.push(p);
    out += step.text;
    if (step.stop !== null) return [out, step.stop];
  }
  return [out + m.flush(), null];
}

describe('stop strings', () => {
  it('cuts exactly before a stop string inside one piece', () => {
    expect(run(['\n\n'], ['Hello.\n\nBye'])).toEqual(['Hello.', '\n\n']);
  });

  it('cuts before a stop string spread over pieces', () => {
    expect(run(['END'], ['a E', 'N', 'Dzz'])).toEqual(['a ', 'END']);
    expect(run(['END'], ['E', 'N', 'D'])).toEqual(['', 'END']);
  });

  it('takes the earliest of several stop strings', () => {
    expect(run(['world', 'lo w'], ['hello world'])).toEqual(['hel', 'lo w']);
  });

  it('holds only what may start a stop string, and releases it when it does not', () => {
    const m = new StopMatcher(['STOP']);
    expect(m.push('a ST')).toEqual({ text: 'a ', stop: null });
    expect(m.push('O')).toEqual({ text: '', stop: null });
    expect(m.push('x')).toEqual({ text: 'STOx', stop: null });
    expect(m.push('S')).toEqual({ text: '', stop: null });
    expect(m.flush()).toBe('S');
  });

  it('finds a match that overlaps a false start', () => {
    expect(run(['aab'], ['a', 'a', 'a', 'b', 'c'])).toEqual(['a', 'aab']);
  });

  it('passes text through without stop strings', () => {
    expect(run([], ['a', 'b'])).toEqual(['ab', null]);
  });

  it('emits nothing after a match', () => {
    const m = new StopMatcher(['x']);
    expect(m.push('ax')).toEqual({ text: 'a', stop: 'x' });
    expect(m.push('more')).toEqual({ text: '', stop: 'x' });
    expect(m.matched).toBe('x');
  });

  it('normalises the stop option', () => {
    expect(resolveStop(undefined)).toEqual([]);
    expect(resolveStop('a')).toEqual(['a']);
    expect(resolveStop(['a', 'b'])).toEqual(['a', 'b']);
    expect(() => resolveStop([''])).toThrow(/must not be empty/);
    expect(() => resolveStop([3 as unknown as string])).toThrow(/list of strings/);
  });
});
