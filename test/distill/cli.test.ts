// `snnlm distill` and `snnlm train` through the in-process CLI: help, bad flags and
// config keys, and a tiny end-to-end distillation whose folder `snnlm generate` uses.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../models/cli.js';
import '../../distill/cli.js';
import { loadCausalLM } from '../../models/index.js';
import { cli, setupBackend } from '../helpers.js';
import { tempFolder } from '../io/fixtures.js';
import { makeFixture } from './fixtures.js';
import type { DistillFixture } from './fixtures.js';

let fx: DistillFixture;
let cleanup = async (): Promise<void> => undefined;

beforeAll(async () => {
  await setupBackend();
  let dir: string;
  ({ dir, cleanup } = await tempFolder());
  fx = await makeFixture(dir);
});
afterAll(() => cleanup());

const tiny = () => [
  '--data.seq_len=16',
  '--data.batch_size=4',
  `--data.cache_dir=${path.join(fx.root, 'cache')}`,
  '--train.steps=3',
  '--eval.max_batches=1',
  '--checkpoint.every=2',
  '--log.every=1',
];

describe('snnlm distill / train: usage', () => {
  it('prints help', async () => {
    const r = await cli(['distill', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/usage: snnlm distill --teacher DIR --student PRESET\|config.json\|DIR/);
    expect(r.out).toMatch(/bispikclm:teacher/);
    const t = await cli(['train', '--help']);
    expect(t.out).toMatch(/usage: snnlm train --model PRESET\|config.json\|DIR/);
  });

  it('requires --teacher', async () => {
    const r = await cli(['distill', '--student', 'bispikclm:tiny', '--data', 'x', '--out', 'y']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--teacher is required/);
  });

  it('names the nearest key of an unknown override and rejects a bad type', async () => {
    const base = ['distill', '--teacher', fx.teacherDir, '--student', 'bispikclm:tiny'];
    const more = ['--data', fx.corpus, '--out', path.join(fx.root, 'bad')];
    const a = await cli([...base, ...more, '--train.stepz=3']);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/unknown config key "train.stepz"; did you mean "train.steps"\?/);
    const b = await cli([...base, ...more, '--train.steps=many']);
    expect(b.err).toMatch(/"train.steps" must be an integer >= 1, got "many"/);
    const c = await cli([...base, ...more, '--model.time_stepz=4']);
    expect(c.err).toMatch(
      /unknown config key "model.time_stepz" .*did you mean "model.time_steps"/,
    );
    const d = await cli([...base.slice(0, 3), '--student', 'bispikclm:huge', ...more]);
    expect(d.err).toMatch(/unknown size "huge"; known: tiny, small, teacher/);
  });
});

describe('snnlm distill: end to end', () => {
  it('distills a tiny student into a folder that snnlm generate uses', async () => {
    const out = path.join(fx.root, 'cli-run');
    const r = await cli([
      'distill',
      '--teacher',
      fx.teacherDir,
      '--student',
      'bispikclm:teacher',
      '--data',
      fx.corpus,
      '--out',
      out,
      ...tiny(),
      '--model.time_steps=1',
    ]);
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({
      status: 'completed',
      steps: 3,
      model: path.join(out, 'model'),
    });
    expect(Number.isFinite(summary.val_ppl)).toBe(true);
    expect(r.err).toMatch(/effective config:/);
    const saved = JSON.parse(await readFile(path.join(out, 'run_config.json'), 'utf8'));
    expect(saved.train.steps).toBe(3);
    expect(saved.model).toEqual({ time_steps: 1 });
    // the student is at the teacher's width and depth, with the override applied
    const model = await loadCausalLM(path.join(out, 'model'));
    expect(model.getConfig()).toMatchObject({
      model_type: 'bispikclm',
      hidden_size: 16,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      vocab_size: fx.vocabSize,
      time_steps: 1,
    });
    model.dispose();
    expect(existsSync(path.join(out, 'model', 'spad_projections.safetensors'))).toBe(false);
    const g = await cli([
      'generate',
      '--model',
      path.join(out, 'model'),
      '--prompt',
      'The cat',
      '--max-new-tokens',
      '5',
      '--seed',
      '1',
    ]);
    expect(g.code, g.err).toBe(0);
    expect(g.out.startsWith('The cat')).toBe(true);
    expect(JSON.parse(g.err.trim().split('\n').at(-1)!)).toMatchObject({ completion_tokens: 5 });
    // a second run into the same folder resumes (it holds checkpoints) and is already done
    const again = await cli([
      'distill',
      '--teacher',
      fx.teacherDir,
      '--student',
      'bispikclm:teacher',
      '--data',
      fx.corpus,
      '--out',
      out,
    ]);
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out.trim())).toMatchObject({ steps: 3 });
  });

  it('trains an ANN with snnlm train', async () => {
    const out = path.join(fx.root, 'cli-train');
    const r = await cli([
      'train',
      '--model',
      'llama:tiny',
      '--tokenizer',
      fx.tokenizerDir,
      '--data',
      fx.corpus,
      '--out',
      out,
      ...tiny(),
    ]);
    expect(r.code, r.err).toBe(0);
    const record = JSON.parse(
      await readFile(path.join(out, 'model', 'distill_config.json'), 'utf8'),
    );
    expect(record).toMatchObject({ job: 'train', teacher: null, rule: 'backprop', steps: 3 });
    const events = (await readFile(path.join(out, 'train_log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const step = events.find((e) => e.step === 1 && e.loss !== undefined);
    expect(Object.keys(step)).toEqual(
      expect.arrayContaining(['step', 'loss', 'ce', 'lr', 'grad_norm', 'tok_per_s', 'time_s']),
    );
    expect(events.some((e) => e.split === 'val' && Number.isFinite(e.ppl))).toBe(true);
  });
});
