// The HTTP contract through a client nobody here wrote: the `openai` npm package
// against the server on 127.0.0.1 with tiny models (a LLaMA teacher with a Jinja
// chat template, a BiSpikCLM student with the default chat format): completions
// and chat, streamed and not, echo + logprobs as lm-evaluation-harness asks,
// token-id prompts, stop strings, seeds, usage with spike fields, tokenizer
// endpoints, models, metrics, and the API key.
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../serve/server.js';
import type { RunningServer } from '../../serve/server.js';
import { setupBackend } from '../helpers.js';
import { CHAT_TEMPLATE, json, tempDir, writeTinyModel } from './fixtures.js';

let tmp: { dir: string; remove(): Promise<void> };
let teacher: RunningServer;
let student: RunningServer;
let client: OpenAI;
let studentClient: OpenAI;
const KEY = 'test-key-123';

beforeAll(async () => {
  await setupBackend();
  tmp = await tempDir();
  const llama = await writeTinyModel(path.join(tmp.dir, 'tiny-llama'), 'llama', {
    chatTemplate: CHAT_TEMPLATE,
  });
  const bispik = await writeTinyModel(path.join(tmp.dir, 'tiny-bispikclm'), 'bispikclm');
  teacher = await startServer({ model: llama, host: '127.0.0.1', port: 0, workers: 0 });
  student = await startServer({
    model: bispik,
    host: '127.0.0.1',
    port: 0,
    workers: 0,
    apiKey: KEY,
  });
  client = new OpenAI({ baseURL: `${teacher.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  studentClient = new OpenAI({ baseURL: `${student.url}/v1`, apiKey: KEY, maxRetries: 0 });
});

afterAll(async () => {
  await teacher?.close();
  await student?.close();
  await tmp?.remove();
});

const post = (s: RunningServer, route: string, body: unknown, headers = {}): Promise<Response> =>
  fetch(`${s.url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('completions with the openai client', () => {
  it('returns a text completion with usage, timings and spike fields', async () => {
    const r = await client.completions.create({
      model: 'anything',
      prompt: 'ab c',
      max_tokens: 6,
      temperature: 0,
    });
    expect(r.object).toBe('text_completion');
    expect(r.id).toMatch(/^cmpl-[0-9a-f]{24}$/);
    expect(r.model).toBe('tiny-llama');
    expect(r.choices).toHaveLength(1);
    const c = r.choices[0];
    expect(['length', 'stop']).toContain(c.finish_reason);
    const u = r.usage as unknown as Record<string, number>;
    expect(u.prompt_tokens).toBe(3); // <s> ▁ab ▁c
    expect(u.total_tokens).toBe(u.prompt_tokens + u.completion_tokens);
    expect(u.completion_tokens).toBeLessThanOrEqual(6);
    expect(u.energy_pj).toBeGreaterThan(0);
    expect(u.spikes).toBe(0); // an ANN teacher
    const t = (r as unknown as { timings: Record<string, number> }).timings;
    expect(t.prompt_n).toBe(3);
  });

  it('is deterministic for a seed and greedy at temperature 0', async () => {
    const ask = (seed: number) =>
      client.completions.create({ prompt: 'a', max_tokens: 8, temperature: 1, seed, model: 'm' });
    const [a, b] = [await ask(7), await ask(7)];
    expect(a.choices[0].text).toBe(b.choices[0].text);
    const g1 = await client.completions.create({
      prompt: 'a',
      max_tokens: 8,
      temperature: 0,
      model: 'm',
    });
    const g2 = await client.completions.create({
      prompt: 'a',
      max_tokens: 8,
      temperature: 0,
      model: 'm',
    });
    expect(g1.choices[0].text).toBe(g2.choices[0].text);
  });

  it('streams chunks whose text adds up to the non-streamed completion', async () => {
    const full = await client.completions.create({
      prompt: 'ab',
      max_tokens: 10,
      temperature: 0,
      model: 'm',
    });
    const stream = await client.completions.create({
      prompt: 'ab',
      max_tokens: 10,
      temperature: 0,
      model: 'm',
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: Record<string, number> | null = null;
    for await (const chunk of stream) {
      if (chunk.choices.length === 0) usage = chunk.usage as unknown as Record<string, number>;
      for (const ch of chunk.choices) {
        text += ch.text;
        if (ch.finish_reason) finish = ch.finish_reason;
      }
    }
    expect(text).toBe(full.choices[0].text);
    expect(finish).toBe(full.choices[0].finish_reason);
    expect(usage!.completion_tokens).toBe(full.usage!.completion_tokens);
  });

  it('scores token-id prompts with echo and logprobs as lm-evaluation-harness asks', async () => {
    const prompts = [
      [1, 265, 266, 267],
      [1, 270, 262],
    ];
    const r = await client.completions.create({
      model: 'm',
      prompt: prompts,
      temperature: 0,
      max_tokens: 1,
      logprobs: 1,
      echo: true,
      seed: 1234,
    });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1]);
    for (const [i, c] of r.choices.entries()) {
      const lp = c.logprobs!;
      expect(lp.tokens).toHaveLength(prompts[i].length + 1);
      expect(lp.token_logprobs![0]).toBeNull();
      for (let j = 1; j < lp.token_logprobs!.length; j++) {
        const v = lp.token_logprobs![j]!;
        expect(v).toBeLessThanOrEqual(0);
        const top = Object.values(lp.top_logprobs![j]!);
        expect(top).toHaveLength(1);
        expect(Math.max(...top)).toBeGreaterThanOrEqual(v - 1e-6);
      }
      // The generated token is greedy: its logprob is the top one.
      const last = lp.token_logprobs!.length - 1;
      expect(Object.values(lp.top_logprobs![last]!)[0]).toBeCloseTo(lp.token_logprobs![last]!, 5);
      // ... and its text, as it follows the prompt, is the top alternative's key (a byte
      // token that leaves a character incomplete streams '' and is keyed by U+FFFD).
      const key = Object.keys(lp.top_logprobs![last]!)[0];
      if (lp.tokens![last] === '') expect(key).toContain('\ufffd');
      else expect(key).toBe(lp.tokens![last]);
      expect(lp.text_offset).toHaveLength(lp.tokens!.length);
      expect(c.text.startsWith(lp.tokens!.slice(0, prompts[i].length).join(''))).toBe(true);
    }
  });

  it('cuts the text before a stop string', async () => {
    const free = await client.completions.create({
      prompt: 'a',
      max_tokens: 12,
      temperature: 0,
      model: 'm',
    });
    const text = free.choices[0].text;
    const stop = text.slice(3, 5);
    if (stop.trim().length === 0) return; // nothing usable to stop on in this sample
    const r = await client.completions.create({
      prompt: 'a',
      max_tokens: 12,
      temperature: 0,
      model: 'm',
      stop: [stop],
    });
    expect(r.choices[0].text).toBe(text.slice(0, text.indexOf(stop)));
    expect(r.choices[0].finish_reason).toBe('stop');
  });

  it('rejects n > 1, a prompt longer than the context, and a max_tokens over the cap', async () => {
    await expect(
      client.completions.create({ prompt: 'a', n: 2, model: 'm' }),
    ).rejects.toMatchObject({ status: 400, param: 'n' });
    const long = Array.from({ length: 64 }, () => 265);
    const e = await post(teacher, '/v1/completions', { prompt: long });
    expect(e.status).toBe(400);
    expect((await json(e)).error).toMatchObject({
      code: 'context_length_exceeded',
      param: 'prompt',
    });
    const cap = await post(teacher, '/v1/completions', { prompt: 'a', max_tokens: 100000 });
    expect(cap.status).toBe(400);
    expect((await json(cap)).error.param).toBe('max_tokens');
  });

  it('clamps max_tokens to the room left in the context', async () => {
    const prompt = Array.from({ length: 60 }, () => 265);
    const r = await client.completions.create({
      prompt,
      max_tokens: 50,
      temperature: 0,
      model: 'm',
      ...({ ignore_eos: true } as object),
    });
    expect(r.usage!.completion_tokens).toBe(4);
    expect(r.choices[0].finish_reason).toBe('length');
  });
});

describe('chat with the openai client', () => {
  it('renders the Jinja chat template and answers as the assistant', async () => {
    const r = await client.chat.completions.create({
      model: 'm',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'ab' },
      ],
      max_tokens: 5,
      temperature: 0,
    });
    expect(r.object).toBe('chat.completion');
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(r.choices[0].message.role).toBe('assistant');
    expect(typeof r.choices[0].message.content).toBe('string');
    // The template writes '<|system|>\nbe brief\n<|user|>\nab\n<|assistant|>\n', no BOS.
    const tok = await post(teacher, '/tokenize', {
      content: '<|system|>\nbe brief\n<|user|>\nab\n<|assistant|>\n',
      add_special: false,
    });
    expect(r.usage!.prompt_tokens).toBe((await json(tok)).count);
  });

  it('streams deltas: the role first, then content, then the finish reason', async () => {
    const full = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'c' }],
      max_tokens: 8,
      temperature: 0,
    });
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'c' }],
      max_tokens: 8,
      temperature: 0,
      stream: true,
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe(full.choices[0].finish_reason);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(full.choices[0].message.content);
  });

  it('returns chat logprobs with top alternatives', async () => {
    const r = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'a' }],
      max_tokens: 3,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
    });
    const content = r.choices[0].logprobs!.content!;
    expect(content.length).toBe(r.usage!.completion_tokens);
    for (const t of content) {
      expect(t.top_logprobs.length).toBeGreaterThan(0);
      expect(t.top_logprobs[0].logprob).toBeCloseTo(t.logprob, 5);
    }
  });

  it('uses the default chat format on a model without a template, with spike usage', async () => {
    const r = await studentClient.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'ab' }],
      max_tokens: 4,
      temperature: 0,
    });
    const u = r.usage as unknown as Record<string, number>;
    expect(u.spikes).toBeGreaterThan(0);
    expect(u.firing_rate).toBeGreaterThan(0);
    expect(u.energy_pj).toBeLessThan(u.ann_energy_pj);
    const tok = await post(
      student,
      '/tokenize',
      { prompt: 'User: ab\nAssistant:' },
      { authorization: `Bearer ${KEY}` },
    );
    expect(r.usage!.prompt_tokens).toBe((await json(tok)).count);
  });

  it('streams per-token spike statistics when asked', async () => {
    const res = await post(
      student,
      '/v1/completions',
      {
        prompt: 'a',
        max_tokens: 5,
        temperature: 0,
        stream: true,
        spike_stats: true,
        ignore_eos: true,
      },
      { authorization: `Bearer ${KEY}` },
    );
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await res.text()).split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)));
    const spikes = chunks.filter((c) => c.snnlm).map((c) => c.snnlm);
    expect(spikes).toHaveLength(5);
    expect(spikes[0].layers.length).toBeGreaterThan(0);
    expect(spikes.map((s) => s.token_index)).toEqual([0, 1, 2, 3, 4]);
    for (const s of spikes) expect(s.firing_rates).toHaveLength(spikes[0].layers.length);
  });
});

describe('other endpoints', () => {
  it('lists the model with its shape', async () => {
    const list = await client.models.list();
    expect(list.data).toHaveLength(1);
    expect(list.data[0]).toMatchObject({ id: 'tiny-llama', object: 'model', owned_by: 'snnlm' });
  });

  it('tokenizes and detokenizes in both spellings', async () => {
    const a = await json(await post(teacher, '/tokenize', { content: 'ab c' }));
    expect(a.tokens).toEqual([1, 270, 267]);
    const b = await json(
      await post(teacher, '/tokenize', {
        prompt: 'ab c',
        add_special_tokens: false,
        with_pieces: true,
      }),
    );
    expect(b.tokens).toEqual([
      { id: 270, piece: '▁ab' },
      { id: 267, piece: '▁c' },
    ]);
    expect(b.max_model_len).toBe(64);
    const d = await json(await post(teacher, '/detokenize', { tokens: [1, 270, 267] }));
    expect(d).toEqual({ content: 'ab c', prompt: 'ab c' });
  });

  it('answers /health, /props and /tokenizer_info', async () => {
    const h = await fetch(`${student.url}/health`); // public even with an API key
    expect(h.status).toBe(200);
    expect(await json(h)).toEqual({ status: 'ok' });
    const p = await json(await fetch(`${teacher.url}/props`));
    expect(p).toMatchObject({ n_ctx: 64, chat_format: 'jinja', chat_template: CHAT_TEMPLATE });
    const t = await json(await fetch(`${teacher.url}/tokenizer_info`));
    expect(t).toMatchObject({ eos_token: '</s>', bos_token: '<s>', model_max_length: 64 });
  });

  it('exports Prometheus metrics with the token and spike counters', async () => {
    const res = await fetch(`${student.url}/metrics`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const name of [
      'snnlm:requests_total',
      'snnlm:tokens_predicted_total',
      'snnlm:spikes_total',
      'snnlm:energy_picojoules_total',
      'snnlm:time_to_first_token_seconds_bucket',
      'snnlm:requests_deferred',
      'snnlm:spike_rate',
    ]) {
      expect(text).toContain(name);
    }
    const spikes = Number(/^snnlm:spikes_total (\S+)$/m.exec(text)![1]);
    expect(spikes).toBeGreaterThan(0);
    expect(text).toMatch(/# HELP snnlm:spikes_total/);
  });

  it('refuses a missing or wrong API key with 401', async () => {
    const bad = new OpenAI({ baseURL: `${student.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await expect(bad.models.list()).rejects.toMatchObject({ status: 401 });
    const none = await fetch(`${student.url}/v1/models`);
    expect(none.status).toBe(401);
    expect((await json(none)).error.type).toBe('authentication_error');
  });
});
