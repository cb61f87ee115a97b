// The engine without HTTP: jobs on a tiny teacher and a tiny spiking student,
// in this thread and in worker threads (same greedy tokens either way), streamed
// pieces that add up to the text, spike statistics per token, logprobs that
// match a full forward pass, the bounded queue, cancellation, and shutdown.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCausalLM } from '../../models/index.js';
import { tf } from '../../src/tf.js';
import { Engine, OverloadedError, UnavailableError } from '../../serve/engine.js';
import type { Job, TokenEvent } from '../../serve/types.js';
import { expectClose, setupBackend } from '../helpers.js';
import { tempDir, writeTinyModel } from './fixtures.js';

let tmp: { dir: string; remove(): Promise<void> };
let llamaDir: string;
let studentDir: string;

beforeAll(async () => {
  await setupBackend();
  tmp = await tempDir();
  llamaDir = await writeTinyModel(path.join(tmp.dir, 'tiny-llama'), 'llama');
  studentDir = await writeTinyModel(path.join(tmp.dir, 'tiny-bispikclm'), 'bispikclm');
});
afterAll(async () => tmp?.remove());

function job(over: Partial<Job> = {}): Job {
  return {
    prompt_ids: [1, 265, 266, 267],
    options: { temperature: 0, max_tokens: 8, eos_token_id: [] },
    logprobs: null,
    echo: false,
    spike_stats: false,
    ...over,
  };
}

describe('Engine in this thread', () => {
  it('runs a job, streams pieces adding up to the text, and reports counts', async () => {
    const engine = await Engine.start({ model: llamaDir, workers: 0 });
    try {
      expect(engine.info).toMatchObject({
        id: 'tiny-llama',
        model_type: 'llama',
        context_length: 64,
      });
      const events: TokenEvent[] = [];
      const r = await engine.submit(job(), { onEvent: (e) => events.push(e) });
      expect(r.completion_tokens).toBe(8);
      expect(r.prompt_tokens).toBe(4);
      expect(r.finish_reason).toBe('length');
      expect(events.map((e) => e.text).join('')).toBe(r.text);
      expect(events.filter((e) => e.id !== null).map((e) => e.id)).toEqual(r.ids);
      // An ANN teacher: no spikes, and its energy is the ANN energy.
      expect(r.energy.spikes).toBe(0);
      expect(r.energy.firing_rate).toBeNull();
      expect(r.energy.energy_pj).toBeGreaterThan(0);
      expectClose([r.energy.energy_pj], [r.energy.ann_energy_pj], 0, 1e-9);
    } finally {
      await engine.close();
    }
  });

  it('returns logprobs that match log-softmax of a full forward pass', async () => {
    const engine = await Engine.start({ model: llamaDir, workers: 0 });
    const model = await loadCausalLM(llamaDir);
    try {
      const r = await engine.submit(job({ logprobs: 3, echo: true }));
      const all = [...r.prompt_logprobs!.ids, ...r.logprobs!.ids];
      const n = all.length - 1; // the last generated token is never fed
      const lp = tf.tidy(() =>
        tf.logSoftmax(model.forward(tf.tensor2d([all.slice(0, n)], [1, n], 'int32')).logits),
      );
      const rows = lp.dataSync();
      lp.dispose();
      const V = model.vocabSize;
      const expected = all.slice(1).map((id, p) => rows[p * V + id]);
      const got = [...r.prompt_logprobs!.token_logprobs, ...r.logprobs!.token_logprobs];
      expect(got[0]).toBeNull();
      expectClose(got.slice(1) as number[], expected, 1e-4, 1e-4);
      // Greedy: each generated token is the top alternative.
      r.logprobs!.top_logprobs.forEach((top, i) => {
        expect(top!.length).toBeGreaterThan(0);
        expect(top![0][1]).toBeCloseTo(r.logprobs!.token_logprobs[i]!, 5);
      });
      const promptText = engine.tokenizer.decode(job().prompt_ids, { skipSpecialTokens: true });
      expect(r.prompt_logprobs!.tokens.join('')).toBe(promptText);
      expect(r.logprobs!.text_offset[0]).toBe(promptText.length);
    } finally {
      model.dispose();
      await engine.close();
    }
  });

  it('streams per-token spike statistics of a spiking student', async () => {
    const engine = await Engine.start({ model: studentDir, workers: 0 });
    try {
      const events: TokenEvent[] = [];
      const r = await engine.submit(job({ spike_stats: true }), {
        onEvent: (e) => events.push(e),
      });
      expect(r.layers.length).toBeGreaterThan(0);
      expect(events[0].layers).toEqual(r.layers);
      const stats = events.filter((e) => e.stats).map((e) => e.stats!);
      expect(stats).toHaveLength(8);
      for (const s of stats) {
        expect(s.firing_rates).toHaveLength(r.layers.length);
        for (const fr of s.firing_rates) expect(fr >= 0 && fr <= 1).toBe(true);
      }
      expect(r.energy.spikes).toBeGreaterThan(0);
      expect(r.energy.spikes).toBe(stats.reduce((s, x) => s + x.spikes, 0));
      expect(r.energy.firing_rate!).toBeGreaterThan(0);
      expect(r.energy.energy_pj).toBeLessThan(r.energy.ann_energy_pj);
    } finally {
      await engine.close();
    }
  });

  it('refuses jobs beyond the queue, and drops a queued job whose signal fires', async () => {
    const engine = await Engine.start({ model: llamaDir, workers: 0, maxQueue: 1 });
    try {
      const long = job({ options: { temperature: 0, max_tokens: 40, eos_token_id: [] } });
      const first = engine.submit(long);
      const ac = new AbortController();
      const second = engine.submit(long, { signal: ac.signal });
      expect(engine.running).toBe(1);
      expect(engine.queued).toBe(1);
      await expect(engine.submit(long)).rejects.toBeInstanceOf(OverloadedError);
      ac.abort(new Error('client gone'));
      await expect(second).rejects.toThrow('client gone');
      expect(engine.queued).toBe(0);
      expect((await first).completion_tokens).toBe(40);
    } finally {
      await engine.close();
    }
  });

  it('cancels a running job when its signal fires, freeing every tensor', async () => {
    const engine = await Engine.start({ model: llamaDir, workers: 0 });
    try {
      await engine.submit(job()); // warm up
      const before = tf.memory().numTensors;
      const ac = new AbortController();
      let seen = 0;
      const run = engine.submit(
        job({ options: { temperature: 0, max_tokens: 50, eos_token_id: [] } }),
        {
          signal: ac.signal,
          onEvent: () => {
            if (++seen === 3) ac.abort(new Error('went away'));
          },
        },
      );
      await expect(run).rejects.toThrow('went away');
      expect(seen).toBeLessThan(50);
      expect(tf.memory().numTensors).toBe(before);
      expect(engine.running).toBe(0);
    } finally {
      await engine.close();
    }
  });

  it('says it is unavailable while loading and after closing', async () => {
    const engine = new Engine({ model: llamaDir, workers: 0 });
    await expect(engine.submit(job())).rejects.toBeInstanceOf(UnavailableError);
    await engine.ready;
    await engine.close();
    await expect(engine.submit(job())).rejects.toBeInstanceOf(UnavailableError);
    expect(engine.state).toBe('closed');
  });

  it('fails to start on a folder without a model, naming the file', async () => {
    await expect(Engine.start({ model: path.join(tmp.dir, 'nope'), workers: 0 })).rejects.toThrow(
      /nope/,
    );
  });
});

describe('Engine with worker threads', () => {
  let engine: Engine;
  let expected: Awaited<ReturnType<Engine['submit']>>;
  beforeAll(async () => {
    const local = await Engine.start({ model: studentDir, workers: 0 });
    expected = await local.submit(job({ spike_stats: true }));
    await local.close();
    engine = await Engine.start({ model: studentDir, workers: 2 });
  });
  afterAll(async () => engine?.close());

  it('gives the same greedy tokens as this thread, and runs jobs on two workers', async () => {
    expect(engine.info.model_type).toBe('bispikclm');
    const events: TokenEvent[] = [];
    const runs = await Promise.all([
      engine.submit(job({ spike_stats: true }), { onEvent: (e) => events.push(e) }),
      engine.submit(job()),
    ]);
    for (const r of runs) expect(r.ids).toEqual(expected.ids);
    expect(runs[0].energy.spikes).toBe(expected.energy.spikes);
    expect(events.filter((e) => e.id !== null).map((e) => e.id)).toEqual(expected.ids);
    expect(events[0].layers).toEqual(expected.layers);
  });

  it('cancels a job running in a worker, which then takes the next job', async () => {
    const ac = new AbortController();
    let seen = 0;
    const run = engine.submit(
      job({ options: { temperature: 0, max_tokens: 50, eos_token_id: [] } }),
      {
        signal: ac.signal,
        onEvent: () => {
          if (++seen === 2) ac.abort(new Error('client closed'));
        },
      },
    );
    await expect(run).rejects.toThrow('client closed');
    expect(seen).toBeLessThan(50);
    expect(engine.running).toBe(0);
    const again = await Promise.all([engine.submit(job()), engine.submit(job())]);
    for (const r of again) expect(r.ids).toEqual(expected.ids);
  });
});
