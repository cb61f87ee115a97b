// Bad input: several hundred generated malformed requests (broken JSON, wrong
// content types, non-UTF-8 and oversize bodies, missing fields, misspelt
// fields, wrong types and out-of-range values for every field of every route,
// bad token ids, unknown routes). Every one must get a 4xx with the OpenAI error
// envelope as JSON, and /health must stay OK throughout.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../serve/server.js';
import type { RunningServer } from '../../serve/server.js';
import { setupBackend } from '../helpers.js';
import { VOCAB, json as readJson, type AnyJson, tempDir, writeTinyModel } from './fixtures.js';

let tmp: { dir: string; remove(): Promise<void> };
let server: RunningServer;
const MAX_BODY = 16 * 1024;

beforeAll(async () => {
  await setupBackend();
  tmp = await tempDir();
  const dir = await writeTinyModel(path.join(tmp.dir, 'tiny-llama'), 'llama');
  server = await startServer({
    model: dir,
    host: '127.0.0.1',
    port: 0,
    workers: 0,
    limits: { maxBodyBytes: MAX_BODY, maxTokensCap: 32 },
  });
});
afterAll(async () => {
  await server?.close();
  await tmp?.remove();
});

interface Case {
  name: string;
  method?: string;
  route: string;
  body?: string | Uint8Array;
  contentType?: string | null;
}

const json = (route: string, value: unknown, name: string): Case => ({
  name,
  route,
  body: JSON.stringify(value),
});

/** Wrong-typed values of every JSON kind but the ones a field accepts. */
const WRONG: Record<string, unknown[]> = {
  string: [1, 0, true, null, [], {}, ['a'], { a: 1 }],
  number: ['1', '', true, [], {}, [1], { n: 1 }],
  int: ['1', 1.5, 0.1, true, [], {}, [2]],
  bool: ['true', 1, 0, 'yes', [], {}, [true]],
};
// `null` is accepted for optional fields (OpenAI clients send it), so it is not "wrong".
const optional = (kind: string) => WRONG[kind].filter((v) => v !== null);

function completionCases(): Case[] {
  const route = '/v1/completions';
  const base = { prompt: 'ab', max_tokens: 2 };
  const cases: Case[] = [];
  const fields: [string, string][] = [
    ['model', 'string'],
    ['max_tokens', 'int'],
    ['temperature', 'number'],
    ['top_p', 'number'],
    ['top_k', 'int'],
    ['seed', 'int'],
    ['n', 'int'],
    ['logprobs', 'int'],
    ['echo', 'bool'],
    ['stream', 'bool'],
    ['presence_penalty', 'number'],
    ['frequency_penalty', 'number'],
    ['repetition_penalty', 'number'],
    ['ignore_eos', 'bool'],
    ['spike_stats', 'bool'],
    ['user', 'string'],
    ['suffix', 'string'],
  ];
  for (const [field, kind] of fields) {
    for (const v of optional(kind)) {
      cases.push(json(route, { ...base, [field]: v }, `completions ${field}=${JSON.stringify(v)}`));
    }
  }
  const ranges: [string, unknown][] = [
    ['max_tokens', 0],
    ['max_tokens', -1],
    ['max_tokens', 33], // over the server's cap
    ['max_tokens', 1e12],
    ['temperature', -0.1],
    ['temperature', 1e9],
    ['top_p', 0],
    ['top_p', -1],
    ['top_p', 1.01],
    ['top_k', -2],
    ['seed', -2],
    ['seed', 2 ** 60],
    ['n', 0],
    ['n', 2],
    ['n', 100],
    ['logprobs', -1],
    ['logprobs', 21],
    ['presence_penalty', 0.5],
    ['presence_penalty', 3],
    ['frequency_penalty', -3],
    ['frequency_penalty', 1],
    ['repetition_penalty', 0],
    ['repetition_penalty', -1],
    ['stop', ''],
    ['stop', ['']],
    ['stop', ['a', 'b', 'c', 'd', 'e']],
    ['stop', 5],
    ['stop', [1]],
    ['stop', { s: 'x' }],
    ['stream_options', 'yes'],
    ['stream_options', { include_usage: 'yes' }],
  ];
  for (const [field, v] of ranges) {
    cases.push(json(route, { ...base, [field]: v }, `completions ${field}=${JSON.stringify(v)}`));
  }
  const prompts: unknown[] = [
    undefined,
    null,
    1,
    true,
    {},
    [],
    [[]],
    [null],
    [1, 'a'],
    ['a', 1],
    [[1], 'a'],
    [[1, 'x']],
    [-1],
    [1.5],
    [VOCAB],
    [1, 100000],
    [[1, 2], [VOCAB + 5]],
    Array.from({ length: 64 }, () => 265), // longer than the context
    'a'.repeat(0) + ' ab'.repeat(70), // longer than the context once tokenized
  ];
  for (const p of prompts) {
    const body = p === undefined ? { max_tokens: 2 } : { prompt: p, max_tokens: 2 };
    cases.push(json(route, body, `completions prompt=${JSON.stringify(p)?.slice(0, 40)}`));
  }
  // Misspelt (unknown) fields leave a required one missing.
  for (const typo of ['promt', 'Prompt', 'prompts', 'input', 'text']) {
    cases.push(
      json(route, { [typo]: 'ab', max_tokens: 2, extra: { x: 1 } }, `completions ${typo}`),
    );
  }
  cases.push(json(route, { prompt: 'ab', stream: true, logprobs: 1 }, 'stream with logprobs'));
  return cases;
}

function chatCases(): Case[] {
  const route = '/v1/chat/completions';
  const msgs = [{ role: 'user', content: 'ab' }];
  const base = { messages: msgs, max_tokens: 2 };
  const cases: Case[] = [];
  const fields: [string, string][] = [
    ['max_tokens', 'int'],
    ['max_completion_tokens', 'int'],
    ['temperature', 'number'],
    ['top_p', 'number'],
    ['seed', 'int'],
    ['logprobs', 'bool'],
    ['top_logprobs', 'int'],
    ['stream', 'bool'],
  ];
  for (const [field, kind] of fields) {
    for (const v of optional(kind)) {
      cases.push(json(route, { ...base, [field]: v }, `chat ${field}=${JSON.stringify(v)}`));
    }
  }
  const messages: unknown[] = [
    undefined,
    null,
    'hello',
    [],
    {},
    [null],
    ['hi'],
    [{}],
    [{ role: 'user' }],
    [{ content: 'hi' }],
    [{ role: 'robot', content: 'hi' }],
    [{ role: 'user', content: 3 }],
    [{ role: 'user', content: null }],
    [{ role: 'user', content: [{ type: 'image_url', image_url: 'x' }] }],
    [{ role: 'user', content: [{ type: 'text' }] }],
    [{ role: 1, content: 'hi' }],
    [{ role: 'user', content: ' ab'.repeat(80) }],
  ];
  for (const m of messages) {
    const body = m === undefined ? { max_tokens: 2 } : { messages: m, max_tokens: 2 };
    cases.push(json(route, body, `chat messages=${JSON.stringify(m)?.slice(0, 40)}`));
  }
  for (const [field, v] of [
    ['max_tokens', 0],
    ['max_completion_tokens', 1000],
    ['top_logprobs', 99],
    ['n', 3],
  ] as const) {
    cases.push(json(route, { ...base, [field]: v }, `chat ${field}=${v}`));
  }
  cases.push(json(route, { message: msgs }, 'chat misspelt messages'));
  return cases;
}

function tokenizerCases(): Case[] {
  const cases: Case[] = [];
  for (const body of [{}, { content: 1 }, { prompt: [] }, { content: 'a', add_special: 'no' }]) {
    cases.push(json('/tokenize', body, `tokenize ${JSON.stringify(body)}`));
  }
  for (const body of [
    {},
    { tokens: 'a b' },
    { tokens: [1.5] },
    { tokens: [-1] },
    { tokens: [VOCAB] },
    { tokens: [[1]] },
    { content: [1] },
  ]) {
    cases.push(json('/detokenize', body, `detokenize ${JSON.stringify(body)}`));
  }
  return cases;
}

function bodyCases(): Case[] {
  const routes = ['/v1/completions', '/v1/chat/completions', '/tokenize', '/detokenize'];
  const broken = [
    '',
    '{',
    '}',
    '{"prompt": "a"',
    '{"prompt": }',
    '{prompt: "a"}',
    "{'prompt': 'a'}",
    '{"prompt": "a",}',
    '{"prompt": "a" "max_tokens": 2}',
    '[1, 2',
    'null',
    'true',
    '42',
    '"prompt"',
    'prompt=a',
    '{"prompt": "\\x"}',
    '{"prompt": "a"}}',
    '\u0000',
    '{"a":' + '['.repeat(50),
    'NaN',
  ];
  const cases: Case[] = [];
  for (const route of routes) {
    for (const b of broken) cases.push({ name: `broken ${JSON.stringify(b)}`, route, body: b });
    const valid = route.includes('chat')
      ? JSON.stringify({ messages: [{ role: 'user', content: 'a' }] })
      : JSON.stringify({ prompt: 'a', content: 'a', tokens: [1] });
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      null,
    ]) {
      cases.push({ name: `content type ${type}`, route, body: valid, contentType: type });
    }
    cases.push({
      name: 'latin-1 charset',
      route,
      body: valid,
      contentType: 'application/json; charset=latin1',
    });
    // Invalid UTF-8 inside a JSON string: lone continuation bytes, a truncated sequence, overlong forms.
    for (const bad of [
      [0x80],
      [0xc3],
      [0xff, 0xfe],
      [0xe2, 0x82],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
    ]) {
      const head = Buffer.from('{"prompt": "a');
      const tail = Buffer.from(
        '", "content": "x", "messages": [{"role": "user", "content": "a"}]}',
      );
      cases.push({
        name: `non-UTF-8 ${bad.join(',')}`,
        route,
        body: Buffer.concat([head, Buffer.from(bad), tail]),
      });
    }
    // Over the body limit: a huge prompt, and huge padding in an unknown field.
    cases.push(json(route, { prompt: 'a'.repeat(MAX_BODY + 10) }, 'huge prompt'));
    cases.push(json(route, { prompt: 'a', pad: 'x'.repeat(4 * MAX_BODY) }, 'huge unknown field'));
    cases.push(json(route, { prompt: Array(MAX_BODY).fill(1) }, 'huge id list'));
    // The right shape at the top level is an object.
    for (const v of [[], [{ prompt: 'a' }], 'a', 1])
      cases.push(json(route, v, `top-level ${JSON.stringify(v)}`));
  }
  for (const [method, route] of [
    ['GET', '/v1/completions'],
    ['PUT', '/v1/completions'],
    ['DELETE', '/v1/models'],
    ['POST', '/v1/models'],
    ['GET', '/v1/nope'],
    ['POST', '/v2/completions'],
    ['GET', '/v1/chat/completions'],
    ['GET', '/tokenize'],
    ['POST', '/health'],
    ['GET', '/%'],
  ]) {
    cases.push({
      name: `${method} ${route}`,
      method,
      route,
      body: method === 'GET' ? undefined : '{}',
    });
  }
  return cases;
}

async function send(c: Case): Promise<Response> {
  const headers: Record<string, string> = {};
  if (c.contentType !== null) headers['content-type'] = c.contentType ?? 'application/json';
  return fetch(`${server.url}${c.route}`, {
    method: c.method ?? 'POST',
    headers,
    body: c.body,
  });
}

describe('malformed requests', () => {
  const cases = [...completionCases(), ...chatCases(), ...tokenizerCases(), ...bodyCases()];

  it('has at least 300 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(300);
  });

  it('answers every one with a 4xx JSON error envelope, and /health stays OK', async () => {
    const failures: string[] = [];
    for (const [i, c] of cases.entries()) {
      const res = await send(c);
      const text = await res.text();
      let body: AnyJson = null;
      try {
        body = JSON.parse(text) as AnyJson;
      } catch {
        body = null;
      }
      const e = body?.error;
      const ok =
        res.status >= 400 &&
        res.status < 500 &&
        (res.headers.get('content-type') ?? '').startsWith('application/json') &&
        typeof e?.message === 'string' &&
        (e.message as string).length > 0 &&
        typeof e.type === 'string' &&
        'param' in e &&
        'code' in e;
      if (!ok) failures.push(`${c.name}: ${res.status} ${text.slice(0, 160)}`);
      if (i % 25 === 0) {
        const h = await fetch(`${server.url}/health`);
        if (h.status !== 200) failures.push(`/health after ${c.name}: ${h.status}`);
      }
    }
    expect(failures).toEqual([]);
    const h = await fetch(`${server.url}/health`);
    expect(await readJson(h)).toEqual({ status: 'ok' });
  });

  it('names the offending field in `param`', async () => {
    const r = await send(json('/v1/completions', { prompt: 'a', temperature: 'hot' }, 't'));
    expect(r.status).toBe(400);
    const e = (await readJson(r)).error;
    expect(e).toMatchObject({ type: 'invalid_request_error', param: 'temperature', code: 400 });
    expect(e.message).toMatch(/temperature/);
    const m = await send(
      json('/v1/chat/completions', { messages: [{ role: 'x', content: 'a' }] }, 'm'),
    );
    expect((await readJson(m)).error.param).toBe('messages.0.role');
  });

  it('uses 413 for an oversize body and 415 for a non-UTF-8 charset', async () => {
    const big = await send(json('/v1/completions', { prompt: 'a'.repeat(MAX_BODY * 2) }, 'big'));
    expect(big.status).toBe(413);
    const latin = await send({
      name: 'latin',
      route: '/tokenize',
      body: '{"content": "a"}',
      contentType: 'application/json; charset=latin1',
    });
    expect(latin.status).toBe(415);
  });

  it('accepts unknown fields next to valid ones (as vLLM does)', async () => {
    const r = await send(
      json('/v1/completions', { prompt: 'a', max_tokens: 1, best_of: 1, logit_bias: {} }, 'ok'),
    );
    expect(r.status).toBe(200);
  });
});
