// Aborting generation through `GenerateControl.signal`: an abort raised while
// tokens are streaming, one that arrives from a timer (so generation must yield
// to the event loop between tokens), and an already-aborted signal; every case
// rejects with the signal's reason and frees the decoding state.
import { beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../src/generate/index.js';
import type { Tokenizer } from '../../src/tokenizer/index.js';
import { expectNoLeak, setupBackend } from '../helpers.js';
import { ScriptedLM, idOf, scripted } from './fixtures.js';
import { testTokenizer } from './fixtures.js';

const V = 259 + 18;
let tok: Tokenizer;
beforeAll(async () => {
  await setupBackend();
  tok = testTokenizer();
});

const endless = (): ScriptedLM => new ScriptedLM(V, 64, scripted(V, [idOf('▁a')], 1));

describe('generate with an abort signal', () => {
  it('stops after the token during which the abort came, freeing the state', async () => {
    const m = endless();
    const ac = new AbortController();
    let pieces = 0;
    await expectNoLeak(async () => {
      const run = generate(
        m,
        tok,
        'c',
        { temperature: 0, max_tokens: 40 },
        () => {
          if (++pieces === 3) ac.abort(new Error('client went away'));
        },
        { signal: ac.signal },
      );
      await expect(run).rejects.toThrow('client went away');
    });
    expect(pieces).toBe(3);
    expect(m.calls).toEqual([2, 1, 1]); // prefill + the two tokens fed before the abort
    expect(m.states.every((s) => s.disposed)).toBe(true);
  });

  it('lets a timer abort it between tokens', async () => {
    const m = endless();
    const ac = new AbortController();
    let pieces = 0;
    setImmediate(() => ac.abort(new Error('timed out')));
    const run = generate(m, tok, 'c', { temperature: 0, max_tokens: 50 }, () => pieces++, {
      signal: ac.signal,
    });
    await expect(run).rejects.toThrow('timed out');
    expect(pieces).toBeLessThan(50);
    expect(m.states[0].disposed).toBe(true);
  });

  it('does not start with an aborted signal', async () => {
    const m = endless();
    const run = generate(m, tok, 'c', {}, undefined, { signal: AbortSignal.abort(new Error('x')) });
    await expect(run).rejects.toThrow('x');
    expect(m.calls).toEqual([]);
  });

  it('runs to the end without an abort', async () => {
    const m = endless();
    const ac = new AbortController();
    const r = await generate(m, tok, 'c', { temperature: 0, max_tokens: 5 }, undefined, {
      signal: ac.signal,
    });
    expect(r.ids).toEqual(Array(5).fill(idOf('▁a')));
  });
});
