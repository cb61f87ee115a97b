// The generation loop on a scripted model: prefill in one decode call then one
// token at a time, EOS and stop strings, the token budget and the context,
// streaming pieces that add up to the text, seeds, and no tensor leaks.
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { generate } from '../../src/generate/index.js';
import { tf } from '../../src/tf.js';
import type { Tokenizer } from '../../src/tokenizer/index.js';
import { expectNoLeak, setupBackend } from '../helpers.js';
import { ScriptedLM, idOf, noisy, scripted, testTokenizer } from './fixtures.js';

const V = 259 + 18;
let tok: Tokenizer;
beforeAll(async () => {
  await setupBackend();
  tok = testTokenizer();
});

/** A model that greedily produces `script` (cycling) after a prompt of `promptLength` ids. */
function model(script: string[], promptLength: number, maxPositions = 64): ScriptedLM {
  return new ScriptedLM(V, maxPositions, scripted(V, script.map(idOf), promptLength - 1));
}

describe('generate', () => {
  it('prefills the prompt in one call, then feeds one token at a time', async () => {
    const prompt = tok.encode('ab c'); // <s> ▁ab ▁c
    expect(prompt).toEqual([1, idOf('▁ab'), idOf('▁c')]);
    const m = model(['▁a', 'b', '▁c', '!'], prompt.length);
    const r = await generate(m, tok, 'ab c', { temperature: 0, max_tokens: 4 });
    expect(r.ids).toEqual(['▁a', 'b', '▁c', '!'].map(idOf));
    expect(r.text).toBe(' ab c!');
    expect(m.calls).toEqual([3, 1, 1, 1]); // the last token is never fed
    expect(r).toMatchObject({ finish_reason: 'length', stopped_by: null });
    expect(r).toMatchObject({ prompt_tokens: 3, completion_tokens: 4, prompt_ids: prompt });
    expect(r.time_ms).toBeGreaterThanOrEqual(r.prefill_ms);
    expect(r.tok_per_s).toBeGreaterThan(0);
  });

  it('stops on an EOS id, which is kept in ids but not in the text', async () => {
    const m = new ScriptedLM(V, 64, scripted(V, [idOf('▁a'), idOf('b'), 2], 1));
    const r = await generate(m, tok, 'c', { temperature: 0, max_tokens: 10 });
    expect(r.ids).toEqual([idOf('▁a'), idOf('b'), 2]);
    expect(r).toMatchObject({ text: ' ab', finish_reason: 'stop', stopped_by: 2 });
  });

  it('stops on any id of eos_token_id, and never with []', async () => {
    const script = [idOf('a'), 1, idOf('b')];
    const r = await generate(new ScriptedLM(V, 64, scripted(V, script, 1)), tok, 'c', {
      temperature: 0,
      eos_token_id: [1, 2],
    });
    expect(r).toMatchObject({ ids: [idOf('a'), 1], stopped_by: 1 });
    const all = await generate(new ScriptedLM(V, 64, scripted(V, [2], 1)), tok, 'c', {
      temperature: 0,
      eos_token_id: [],
      max_tokens: 3,
    });
    expect(all).toMatchObject({ ids: [2, 2, 2], finish_reason: 'length', text: '' });
  });

  it('cuts exactly before a stop string spanning tokens, streaming only text before it', async () => {
    const m = model(['▁a', '▁S', 'T', 'O', 'P', '▁b'], 2);
    const pieces: string[] = [];
    const r = await generate(m, tok, 'c', { temperature: 0, max_tokens: 20, stop: ['STOP'] }, (t) =>
      pieces.push(t),
    );
    expect(r).toMatchObject({ text: ' a ', finish_reason: 'stop', stopped_by: 'STOP' });
    expect(pieces.join('')).toBe(' a ');
    expect(r.ids).toHaveLength(5);
  });

  it('releases held text that did not become a stop string', async () => {
    const m = model(['▁S', 'T', '!'], 2);
    const pieces: string[] = [];
    const r = await generate(m, tok, 'c', { temperature: 0, max_tokens: 3, stop: 'STOP' }, (t) =>
      pieces.push(t),
    );
    expect(pieces).toEqual([' ', '', 'ST!']); // 'S' is held: it may start 'STOP'
    expect(r).toMatchObject({ text: ' ST!', finish_reason: 'length' });
  });

  it('streams pieces that concatenate to the text, byte-fallback characters whole', async () => {
    const bytes = [...new TextEncoder().encode('é🦀')].map(
      (b) => `<0x${b.toString(16).toUpperCase()}>`,
    );
    const ids = [idOf('▁a'), ...bytes.map((b) => tok.tokenToId(b)!), idOf('.')];
    const m = new ScriptedLM(V, 64, scripted(V, ids, 1));
    const pieces: [string, number | null][] = [];
    const r = await generate(m, tok, 'c', { temperature: 0, max_tokens: ids.length }, (t, id) =>
      pieces.push([t, id]),
    );
    expect(r.text).toBe(' aé🦀.');
    expect(pieces.map(([t]) => t).join('')).toBe(r.text);
    expect(pieces.filter(([t]) => t !== '').map(([t]) => t)).toEqual([' a', 'é', '🦀', '.']);
    expect(pieces.map(([, id]) => id)).toEqual(ids);
  });

  it('clamps max_tokens to the context and rejects a prompt that fills it', async () => {
    const prompt = [1, ...Array(6).fill(idOf('a'))]; // 7 ids
    const r = await generate(model(['b'], 7, 9), tok, prompt, { temperature: 0, max_tokens: 50 });
    expect(r).toMatchObject({ completion_tokens: 2, finish_reason: 'length' });
    const full = [1, ...Array(8).fill(idOf('a'))]; // 9 ids = the context
    await expect(generate(model(['b'], 9, 9), tok, full, {})).rejects.toThrow(
      /the prompt has 9 tokens; the model's context is 9/,
    );
    await expect(generate(model(['b'], 1), tok, [], {})).rejects.toThrow(ConfigError);
    await expect(generate(model(['b'], 1), tok, [V], {})).rejects.toThrow(/outside the vocabulary/);
  });

  it('reproduces a sampled run from its seed; other seeds differ', async () => {
    const run = (seed?: number) =>
      generate(new ScriptedLM(V, 64, noisy(V)), tok, 'a', {
        max_tokens: 20,
        seed,
        eos_token_id: [],
      });
    const [a, b, c] = [await run(42), await run(42), await run(43)];
    expect(a.ids).toEqual(b.ids);
    expect(a.ids).not.toEqual(c.ids);
    expect(new Set(a.ids).size).toBeGreaterThan(5);
    const drawn = await run();
    expect((await run(drawn.seed)).ids).toEqual(drawn.ids);
  });

  it('applies the repetition penalty to prompt and generated tokens', async () => {
    // Two near-equal favourites: without a penalty the first wins every time.
    const fav = (pos: number) => {
      void pos;
      const row = new Float32Array(V).fill(-5);
      row[idOf('a')] = 2;
      row[idOf('b')] = 1.9;
      return row;
    };
    const plain = await generate(new ScriptedLM(V, 64, fav), tok, 'c', {
      temperature: 0,
      max_tokens: 3,
    });
    expect(plain.ids).toEqual([idOf('a'), idOf('a'), idOf('a')]);
    const penalised = await generate(new ScriptedLM(V, 64, fav), tok, 'c', {
      temperature: 0,
      max_tokens: 2,
      repetition_penalty: 1.2,
    });
    expect(penalised.ids).toEqual([idOf('a'), idOf('b')]);
  });

  it('disposes every tensor and the state, also when the model fails', async () => {
    const m = model(['a', 'b'], 2);
    await expectNoLeak(async () => {
      await generate(m, tok, 'c', { temperature: 0, max_tokens: 5 });
    });
    expect(m.states[0].disposed).toBe(true);
    const failing = model(['a'], 2);
    failing.failAt = 2;
    const before = tf.memory().numTensors;
    await expect(generate(failing, tok, 'c', { max_tokens: 5 })).rejects.toThrow(
      'scripted failure',
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(failing.states[0].disposed).toBe(true);
  });

  it('rejects bad options with the field name', async () => {
    const m = model(['a'], 2);
    await expect(generate(m, tok, 'c', { temperature: -1 })).rejects.toThrow(/temperature/);
    await expect(generate(m, tok, 'c', { max_tokens: 0 })).rejects.toThrow(/max_tokens/);
    await expect(generate(m, tok, 'c', { seed: 1.5 })).rejects.toThrow(/seed/);
    await expect(generate(m, tok, 'c', { stop: [''] })).rejects.toThrow(/stop/);
    await expect(generate(m, tok, 'c', { eos_token_id: [-1] })).rejects.toThrow(/eos_token_id/);
  });
});
