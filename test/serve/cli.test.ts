// `snnlm serve` flag checks (run in-process): a missing model, and numbers that
// are not numbers, are refused with exit code 2 and a message naming the flag.
import { describe, expect, it } from 'vitest';
import '../../serve/cli.js';
import { cli } from '../helpers.js';

describe('snnlm serve flags', () => {
  it('requires --model', async () => {
    const r = await cli(['serve', '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--model is required/);
  });

  it.each([
    [['--port', 'http'], /--port must be an integer >= 0, got "http"/],
    [['--port', '70000'], /--port must be <= 65535/],
    [['--workers', 'two'], /--workers must be an integer >= 0, got "two"/],
    [['--max-tokens', '0'], /--max-tokens must be an integer >= 1/],
    [['--timeout', 'soon'], /--timeout must be a number of seconds/],
    [['--jobs-per-worker', '1.5'], /--jobs-per-worker must be an integer >= 1/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('refuses %j', async (flags, message) => {
    const r = await cli(['serve', '--model', 'DIR', ...flags]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('lists serve among the commands, with its usage', async () => {
    const r = await cli(['serve', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/snnlm serve --model DIR/);
  });
});
