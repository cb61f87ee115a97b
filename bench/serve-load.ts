// Serving under load: a bounded client of our own keeps 16 streaming
// completion requests in flight for a fixed time against `snnlm serve`'s app
// (worker threads, as the CLI runs it), first with the stories260K teacher
// (shared/models/transformersjs/stories260K), then with a BiSpikCLM student of
// the same shape (D 64, L 5, H 8, V 512, context 512; random weights: speed does
// not depend on their values) using the teacher's tokenizer. Reported per model:
// requests/s, generated tokens/s, p50/p99 time to first token, p50/p99
// per-token latency (a request's (last token - first token) / (tokens - 1), as
// vLLM's TPOT), status counts and the number of 5xx; plus the student's
// throughput as a ratio of the teacher's measured in the same run.
//   node --import tsx bench/serve-load.ts [--duration 30] [--clients 16] [--max-tokens 32]
//     [--workers N] [--jobs-per-worker K]
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildModel, savePretrained, studentPreset } from '../models/index.js';
import { initBackend } from '../src/backend.js';
import { startServer } from '../serve/server.js';
import { round } from './timing.js';

const STORIES = path.resolve(import.meta.dirname, '../../shared/models/transformersjs/stories260K');
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
const PROMPTS = [
  'Once upon a time',
  'The little dog',
  'Lily and Tim went to the park. They',
  'One day, a big bird',
  'Tom had a red ball.',
];

/** Options of `benchServeLoad`. */
export interface ServeLoadOptions {
  durationS?: number;
  clients?: number;
  maxTokens?: number;
  /** Worker threads of the server (default: the server's default). */
  workers?: number;
  /** Jobs each worker interleaves (default: the server's default). */
  jobsPerWorker?: number;
}

interface Sample {
  status: number;
  ttftMs: number | null;
  tpotMs: number | null;
  tokens: number;
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return round(sorted[i], 2);
}

/** One streamed request: times of its first and last content chunks, its token count. */
async function oneRequest(url: string, prompt: string, maxTokens: number): Promise<Sample> {
  const start = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      prompt,
      max_tokens: maxTokens,
      temperature: 0.8,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!res.ok || !res.body) {
    await res.text().catch(() => '');
    return { status: res.status, ttftMs: null, tpotMs: null, tokens: 0 };
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let first: number | null = null;
  let last = 0;
  let tokens = 0;
  let failed = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const data = buffer.slice(6, cut);
      buffer = buffer.slice(cut + 2);
      if (data === '[DONE]') continue;
      const chunk = JSON.parse(data) as {
        error?: unknown;
        choices: { text: string }[];
        usage?: { completion_tokens: number };
      };
      if (chunk.error) failed = true;
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
      if (chunk.choices[0]?.text) {
        const now = performance.now();
        first ??= now;
        last = now;
      }
    }
  }
  return {
    status: failed ? 500 : res.status,
    ttftMs: first === null ? null : first - start,
    tpotMs: first !== null && tokens > 1 ? (last - first) / (tokens - 1) : null,
    tokens,
  };
}

/** Keep `clients` requests in flight for `durationS` seconds against `url`. */
async function load(url: string, o: Required<Omit<ServeLoadOptions, 'workers' | 'jobsPerWorker'>>) {
  const samples: Sample[] = [];
  const t0 = performance.now();
  const end = t0 + o.durationS * 1000;
  let next = 0;
  const client = async (): Promise<void> => {
    while (performance.now() < end) {
      const prompt = PROMPTS[next++ % PROMPTS.length];
      samples.push(
        await oneRequest(url, prompt, o.maxTokens).catch(() => ({
          status: 0,
          ttftMs: null,
          tpotMs: null,
          tokens: 0,
        })),
      );
    }
  };
  await Promise.all(Array.from({ length: o.clients }, client));
  const elapsed = (performance.now() - t0) / 1000;
  const ok = samples.filter((s) => s.status === 200);
  const ttft = ok.flatMap((s) => (s.ttftMs === null ? [] : [s.ttftMs])).sort((a, b) => a - b);
  const tpot = ok.flatMap((s) => (s.tpotMs === null ? [] : [s.tpotMs])).sort((a, b) => a - b);
  const tokens = ok.reduce((n, s) => n + s.tokens, 0);
  const statuses: Record<string, number> = {};
  for (const s of samples) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  return {
    elapsed_s: round(elapsed, 2),
    requests: samples.length,
    requests_per_s: round(ok.length / elapsed, 2),
    tokens,
    tokens_per_s: round(tokens / elapsed, 1),
    ttft_ms: { p50: percentile(ttft, 50), p99: percentile(ttft, 99) },
    per_token_ms: { p50: percentile(tpot, 50), p99: percentile(tpot, 99) },
    statuses,
    errors_5xx: samples.filter((s) => s.status >= 500 || s.status === 0).length,
  };
}

/** A BiSpikCLM student of the teacher's shape, with the teacher's tokenizer, in `dir`. */
async function writeStudent(dir: string): Promise<string> {
  const config = studentPreset('bispikclm', 'small', {
    vocab_size: 512,
    hidden_size: 64,
    num_hidden_layers: 5,
    num_attention_heads: 8,
    max_position_embeddings: 512,
  });
  const model = buildModel(config, 'bench bispikclm');
  try {
    await savePretrained(model, dir);
  } finally {
    model.dispose();
  }
  for (const f of TOKENIZER_FILES) await copyFile(path.join(STORIES, f), path.join(dir, f));
  return dir;
}

/** Run the load against the teacher and the student (see the file header). */
export async function benchServeLoad(options: ServeLoadOptions = {}): Promise<unknown> {
  const o = {
    durationS: options.durationS ?? 30,
    clients: options.clients ?? 16,
    maxTokens: options.maxTokens ?? 32,
  };
  if (!existsSync(path.join(STORIES, 'model.safetensors'))) {
    return { skipped: `no stories260K folder at ${STORIES}` };
  }
  await initBackend(); // builds the student in this thread
  const tmp = await mkdtemp(path.join(tmpdir(), 'snnlm-serve-load-'));
  const results: Record<string, unknown> = { ...o };
  try {
    const models: [string, string][] = [
      ['teacher_stories260K', STORIES],
      ['student_bispikclm', await writeStudent(path.join(tmp, 'bispikclm'))],
    ];
    for (const [name, dir] of models) {
      process.stderr.write(`serve-load: ${name}, ${o.clients} clients for ${o.durationS} s ...\n`);
      const server = await startServer({
        model: dir,
        port: 0,
        workers: options.workers,
        jobsPerWorker: options.jobsPerWorker,
      });
      try {
        results.workers = server.engine.options.workers;
        results.jobs_per_worker = server.engine.options.jobsPerWorker;
        results[name] = await load(server.url, o);
      } finally {
        await server.close(5_000);
      }
    }
    const tps = (k: string) => (results[k] as { tokens_per_s: number }).tokens_per_s;
    results.student_vs_teacher_tokens_per_s = round(
      tps('student_bispikclm') / tps('teacher_stories260K'),
      3,
    );
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      duration: { type: 'string', default: '30' },
      clients: { type: 'string', default: '16' },
      'max-tokens': { type: 'string', default: '32' },
      workers: { type: 'string' },
      'jobs-per-worker': { type: 'string' },
    },
  });
  const r = await benchServeLoad({
    durationS: Number(values.duration),
    clients: Number(values.clients),
    maxTokens: Number(values['max-tokens']),
    workers: values.workers === undefined ? undefined : Number(values.workers),
    jobsPerWorker:
      values['jobs-per-worker'] === undefined ? undefined : Number(values['jobs-per-worker']),
  });
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}
