// The training loop: resume after an interruption gives the same parameters as an
// uninterrupted run; a corrupt or partial checkpoint is refused and the previous one
// still loads (and resuming from it reproduces the run); a NaN stops training with the
// last good checkpoint intact; the output-folder rule; clear data errors.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { distillJob, trainJob } from '../../distill/jobs.js';
import { prepareRunDir, runTraining, TrainingDivergedError } from '../../distill/loop.js';
import { instantiate, prepareRunData, resolveModelSource } from '../../distill/setup.js';
import { loadDataTokenizer } from '../../datasets/index.js';
import { readSafetensors } from '../../src/io/index.js';
import { log } from '../../src/log.js';
import { readRunLog } from '../../src/progress.js';
import { tf } from '../../src/tf.js';
import type { StopSignal } from '../../src/train/index.js';
import { findLatestCheckpoint, installStopSignal, loadCheckpoint } from '../../src/train/index.js';
import { setupBackend } from '../helpers.js';
import { tempFolder } from '../io/fixtures.js';
import { makeFixture, tinyRunConfig } from './fixtures.js';
import type { DistillFixture } from './fixtures.js';

/** A stop flag that turns on at the `after`-th check (the loop checks before each step). */
function stopAfter(after: number): StopSignal {
  let checks = 0;
  const controller = new AbortController();
  return {
    get requested() {
      checks++;
      return checks > after;
    },
    reason: 'manual',
    signal: controller.signal,
    request: () => undefined,
    dispose: () => undefined,
  };
}

const quiet = { write: () => true };
let fx: DistillFixture;
let cleanup = async (): Promise<void> => undefined;

beforeAll(async () => {
  await setupBackend();
  let dir: string;
  ({ dir, cleanup } = await tempFolder());
  fx = await makeFixture(dir);
  vi.spyOn(log, 'info').mockImplementation(() => undefined);
});
afterAll(async () => {
  vi.restoreAllMocks();
  await cleanup();
});

async function weights(dir: string): Promise<Map<string, Float32Array>> {
  const st = readSafetensors(await readFile(path.join(dir, 'model.safetensors')));
  return new Map([...st.tensors].map(([n, t]) => [n, new Float32Array(t.data.slice().buffer)]));
}

const distill = (out: string, extra: Partial<Parameters<typeof distillJob>[0]> = {}) =>
  distillJob({
    teacher: fx.teacherDir,
    student: 'bispikclm:tiny',
    data: fx.corpus,
    out,
    config: tinyRunConfig(fx.root),
    progress: quiet,
    echo: quiet,
    ...extra,
  });

describe('resume', () => {
  let full: string;

  it('an interrupted and resumed run ends with the parameters of an uninterrupted one', async () => {
    full = path.join(fx.root, 'full');
    const a = await distill(full);
    expect(a.status).toBe('completed');
    expect(a.steps).toBe(4);
    const part = path.join(fx.root, 'part');
    const b1 = await distill(part, { stop: stopAfter(3) });
    expect(b1.status).toBe('stopped');
    expect(b1.steps).toBe(3);
    expect(b1.modelDir).toBeNull();
    expect(existsSync(path.join(part, 'checkpoint-3'))).toBe(true);
    const b2 = await distill(part, { resume: 'latest' });
    expect(b2.status).toBe('completed');
    expect(b2.startStep).toBe(3);
    expect(b2.tokens).toBe(a.tokens);
    const [wa, wb] = [await weights(a.modelDir!), await weights(b2.modelDir!)];
    expect([...wb.keys()].sort()).toEqual([...wa.keys()].sort());
    for (const [name, va] of wa) expect(wb.get(name), name).toEqual(va); // bitwise
    // the learned projections (student width 32 -> teacher 16) are saved and equal too
    const proj = (d: string) => readFile(path.join(d, 'spad_projections.safetensors'));
    expect((await proj(b2.modelDir!)).equals(await proj(a.modelDir!))).toBe(true);
    // the loss curves continue exactly
    const last = (d: string) =>
      readRunLog(path.join(d, 'train_log.jsonl')).filter((e) => e.step === 4 && !e.split);
    const [la, lb] = [last(full), last(part)];
    expect(lb[0].loss).toBe(la[0].loss);
    const record = JSON.parse(
      await readFile(path.join(a.modelDir!, 'distill_config.json'), 'utf8'),
    );
    expect(record).toMatchObject({ job: 'distill', steps: 4, rule: 'bptt', seed: 0 });
    expect(record.data.corpus_hash).toMatch(/^sha256:/);
    expect(Number.isFinite(record.val_ppl)).toBe(true);
  });

  it('refuses a corrupt or partial checkpoint; the previous one loads and resumes exactly', async () => {
    const reference = await weights(path.join(full, 'model'));
    const four = path.join(full, 'checkpoint-4');
    const file = path.join(four, 'model.safetensors');
    const bytes = await readFile(file);
    bytes[bytes.length - 5] ^= 0xff;
    await writeFile(file, bytes);
    await expect(loadCheckpoint(four)).rejects.toThrow(/model\.safetensors/);
    await mkdir(path.join(full, 'checkpoint-6')); // a partial write: no manifest
    await writeFile(path.join(full, 'checkpoint-6', 'model.safetensors'), 'x');
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => undefined);
    const latest = await findLatestCheckpoint(full);
    expect(latest?.step).toBe(2);
    expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/checkpoint-4/);
    await expect(distill(full, { resume: four })).rejects.toThrow(/model\.safetensors/);
    const r = await distill(full, { resume: 'latest' });
    warn.mockRestore();
    expect(r.startStep).toBe(2);
    const resumed = await weights(r.modelDir!);
    for (const [name, v] of reference) expect(resumed.get(name), name).toEqual(v);
  });
});

describe('NaN / Inf', () => {
  it('stops with a clear message and keeps the last good checkpoint', async () => {
    const out = path.join(fx.root, 'nan');
    const c = tinyRunConfig(fx.root);
    const tok = await loadDataTokenizer(fx.tokenizerDir);
    const source = await resolveModelSource('llama:tiny', {
      vocabSize: tok.tokenizer.vocabSize,
      seqLen: c.data.seq_len,
    });
    const model = await instantiate(source, c.seed);
    const data = await prepareRunData(fx.corpus, tok, c);
    const run = runTraining({
      model,
      train: data.train,
      val: data.val,
      config: c,
      outDir: out,
      progress: quiet,
      afterStep: (step) => {
        if (step === 2) {
          const [, w] = model.namedParameters().find(([n]) => n === 'embed.weight')!;
          w.assign(tf.fill(w.shape, NaN));
        }
      },
    });
    await expect(run).rejects.toThrow(TrainingDivergedError);
    await expect(run).rejects.toThrow(
      /training stopped at step 3: non-finite loss \(NaN\); the last good checkpoint is .*checkpoint-2/,
    );
    expect(existsSync(path.join(out, 'checkpoint-3'))).toBe(false);
    const ckpt = await loadCheckpoint(path.join(out, 'checkpoint-2'));
    const embed = ckpt.model.tensors.get('embed.weight')!;
    expect(Array.from(embed.data as Uint8Array).length).toBeGreaterThan(0);
    const values = new Float32Array((embed.data as Uint8Array).slice().buffer);
    expect(values.every(Number.isFinite)).toBe(true);
    const events = readRunLog(path.join(out, 'train_log.jsonl'));
    expect(events.at(-1)).toMatchObject({ step: 3, event: 'diverged' });
    model.dispose();
    await data.close();
  });
});

describe('SIGINT', () => {
  it('saves a checkpoint at the current step and returns; the run then resumes', async () => {
    const out = path.join(fx.root, 'sigint');
    const c = tinyRunConfig(fx.root);
    const tok = await loadDataTokenizer(fx.tokenizerDir);
    const source = await resolveModelSource('llama:tiny', {
      vocabSize: tok.tokenizer.vocabSize,
      seqLen: c.data.seq_len,
    });
    const data = await prepareRunData(fx.corpus, tok, c);
    const listeners = new Map<string, (s: NodeJS.Signals) => void>();
    const target = {
      pid: 1,
      on: (s: NodeJS.Signals, f: (s: NodeJS.Signals) => void) => listeners.set(s, f),
      removeListener: (s: NodeJS.Signals) => listeners.delete(s),
      kill: () => undefined,
    };
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => undefined);
    const stop = installStopSignal({ target });
    const model = await instantiate(source, c.seed);
    const r = await runTraining({
      model,
      train: data.train,
      val: data.val,
      config: c,
      outDir: out,
      progress: quiet,
      stop,
      afterStep: (step) => {
        if (step === 3) listeners.get('SIGINT')!('SIGINT');
      },
    });
    stop.dispose();
    warn.mockRestore();
    expect(r.status).toBe('stopped');
    expect(r.steps).toBe(3);
    expect(r.lastCheckpoint).toBe(path.join(out, 'checkpoint-3'));
    expect((await loadCheckpoint(r.lastCheckpoint!)).trainerState.step).toBe(3);
    const again = await runTraining({
      model,
      train: data.train,
      val: data.val,
      config: c,
      outDir: out,
      resume: 'latest',
      progress: quiet,
      stop: installStopSignal({ target }),
    });
    expect(again).toMatchObject({ status: 'completed', startStep: 3, steps: 4 });
    model.dispose();
    await data.close();
  });
});

describe('output folder and data errors', () => {
  it('refuses a non-empty folder without a checkpoint, resumes one with, overwrites on request', async () => {
    const dir = path.join(fx.root, 'outrule');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'notes.txt'), 'mine');
    await expect(prepareRunDir(dir, {})).rejects.toThrow(/is not empty and holds no checkpoint/);
    expect(await prepareRunDir(path.join(fx.root, 'full'), {})).toBe('latest');
    await writeFile(path.join(dir, 'train_log.jsonl'), '{}\n');
    await mkdir(path.join(dir, 'checkpoint-2'));
    expect(await prepareRunDir(dir, { overwrite: true })).toBeNull();
    expect(existsSync(path.join(dir, 'checkpoint-2'))).toBe(false);
    expect(existsSync(path.join(dir, 'train_log.jsonl'))).toBe(false);
    expect(existsSync(path.join(dir, 'notes.txt'))).toBe(true); // not a run file: kept
  });

  it('names a corpus path that does not exist', async () => {
    await expect(
      distill(path.join(fx.root, 'e1'), { data: path.join(fx.root, 'nope.txt') }),
    ).rejects.toThrow(/nope\.txt does not exist/);
  });

  it('refuses an empty corpus', async () => {
    const empty = path.join(fx.root, 'empty.txt');
    await writeFile(empty, '');
    await expect(distill(path.join(fx.root, 'e2'), { data: empty })).rejects.toThrow(/empty/i);
  });

  it('refuses a student whose vocabulary differs from the teacher tokenizer', async () => {
    const cfg = path.join(fx.root, 'student.json');
    await writeFile(
      cfg,
      JSON.stringify({
        model_type: 'bispikclm',
        vocab_size: 999,
        hidden_size: 16,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        max_position_embeddings: 32,
      }),
    );
    await expect(distill(path.join(fx.root, 'e3'), { student: cfg })).rejects.toThrow(
      new RegExp(
        `tokenizer mismatch: the teacher .* has a vocabulary of ${fx.vocabSize}, the student .*student\\.json has 999`,
      ),
    );
  });

  it('refuses a student folder whose tokenizer files differ from the teacher', async () => {
    const other = path.join(fx.root, 'other-student');
    const r = await trainJob({
      model: 'bispikclm:tiny',
      tokenizer: fx.tokenizerDir,
      data: fx.corpus,
      out: path.join(fx.root, 'other-run'),
      config: tinyRunConfig(fx.root, 2),
      progress: quiet,
      echo: quiet,
    });
    const { cp } = await import('node:fs/promises');
    await cp(r.modelDir!, other, { recursive: true });
    const tj = JSON.parse(await readFile(path.join(other, 'tokenizer.json'), 'utf8'));
    tj.normalizer = { type: 'Lowercase' };
    await writeFile(path.join(other, 'tokenizer.json'), JSON.stringify(tj));
    await expect(distill(path.join(fx.root, 'e4'), { student: other })).rejects.toThrow(
      /tokenizer mismatch: the tokenizer files of the student .* differ from the teacher's/,
    );
  });
});
