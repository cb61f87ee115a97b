// The real stories260K (shared/models) served and asked through the openai
// client: greedy completion of "Once upon a time" gives the text of
// shared/models/MANIFEST.md, streamed or not, and its echo + logprobs agree
// with greedy decoding (each generated token is the top alternative).
import { existsSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../serve/server.js';
import type { RunningServer } from '../../serve/server.js';
import { setupBackend } from '../helpers.js';

const STORIES = path.resolve(
  import.meta.dirname,
  '../../../shared/models/transformersjs/stories260K',
);
const present = existsSync(path.join(STORIES, 'model.safetensors'));
if (!present) console.warn(`stories260K serving test skipped: no model at ${STORIES}`);

/** MANIFEST.md, section 1: the greedy continuation's first sentences. */
const EXPECTED = ', there was a little girl named Lily. She loved to play outside in the park.';

/** MANIFEST.md: the first ids of the greedy run (BOS, the prompt, then generated). */
const FIRST_IDS = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426];

let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  if (!present) return;
  await setupBackend();
  server = await startServer({ model: STORIES, port: 0, workers: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none', maxRetries: 0 });
});
afterAll(async () => server?.close());

describe('stories260K served', () => {
  it.skipIf(!present)('completes "Once upon a time" as the reference does', async () => {
    const r = await client.completions.create({
      model: 'stories260K',
      prompt: 'Once upon a time',
      max_tokens: 20,
      temperature: 0,
    });
    expect(r.model).toBe('stories260K');
    expect(r.usage!.prompt_tokens).toBe(5); // [1, 403, 407, 261, 378]
    expect(EXPECTED.startsWith(r.choices[0].text)).toBe(true);
    expect(r.choices[0].text.length).toBeGreaterThan(40);
  });

  it.skipIf(!present)('streams the same text', async () => {
    const stream = await client.completions.create({
      model: 'stories260K',
      prompt: 'Once upon a time',
      max_tokens: 20,
      temperature: 0,
      stream: true,
    });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.text ?? '';
    expect(EXPECTED.startsWith(text)).toBe(true);
    expect(text.length).toBeGreaterThan(40);
  });

  it.skipIf(!present)('scores the reference continuation as greedy', async () => {
    const r = await client.completions.create({
      model: 'stories260K',
      prompt: [FIRST_IDS],
      max_tokens: 1,
      temperature: 0,
      logprobs: 1,
      echo: true,
    });
    const lp = r.choices[0].logprobs!;
    // Every reference token after the prompt is the model's top choice (is_greedy in lm-eval).
    for (let i = 5; i < FIRST_IDS.length; i++) {
      const top = Math.max(...Object.values(lp.top_logprobs![i]!));
      expect(lp.token_logprobs![i]!).toBeCloseTo(top, 4);
    }
    const text = lp.tokens!.slice(0, FIRST_IDS.length).join('');
    expect(`Once upon a time${EXPECTED}`.startsWith(text)).toBe(true);
    expect(text.length).toBeGreaterThan(50);
  });
});
