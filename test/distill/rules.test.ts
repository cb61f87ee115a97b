// Every gradient rule of the config drives the loop (bptt, sltt, sltt-k, ottt) with every
// SpAD term on and learned projections, logging finite terms and a spike rate, and a run
// (teacher, student, projections disposed) leaves no tensors behind.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GRADIENT_RULES } from '../../models/index.js';
import { runTraining } from '../../distill/loop.js';
import { instantiate, prepareRunData, resolveModelSource } from '../../distill/setup.js';
import { SpadProjections } from '../../distill/spad.js';
import { loadTeacher } from '../../distill/teacher.js';
import { loadDataTokenizer } from '../../datasets/index.js';
import { log } from '../../src/log.js';
import { readRunLog } from '../../src/progress.js';
import { tf } from '../../src/tf.js';
import { setupBackend } from '../helpers.js';
import { tempFolder } from '../io/fixtures.js';
import { makeFixture, tinyRunConfig } from './fixtures.js';
import type { DistillFixture } from './fixtures.js';

let fx: DistillFixture;
let cleanup = async (): Promise<void> => undefined;
const quiet = { write: () => true };

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

async function distillSteps(rule: (typeof GRADIENT_RULES)[number], out: string) {
  const c = tinyRunConfig(fx.root, 2);
  c.train.rule = rule;
  c.checkpoint.every = 0;
  const before = tf.memory().numTensors;
  const teacher = await loadTeacher(fx.teacherDir);
  const tok = await loadDataTokenizer(fx.teacherDir);
  const source = await resolveModelSource('bispikclm:tiny', {
    vocabSize: teacher.vocabSize,
    teacher,
    seqLen: c.data.seq_len,
  });
  const data = await prepareRunData(fx.corpus, tok, c);
  const model = await instantiate(source, c.seed);
  const projections = new SpadProjections(32, 16, 2, 0);
  const r = await runTraining({
    model,
    teacher,
    projections,
    train: data.train,
    val: data.val,
    config: c,
    outDir: out,
    progress: quiet,
  });
  model.dispose();
  projections.dispose();
  await teacher.dispose();
  await data.close();
  const leaked = tf.memory().numTensors - before;
  return { r, leaked };
}

describe('gradient rules', () => {
  it.each(GRADIENT_RULES)(
    '%s trains a student with every SpAD term, without leaks',
    async (rule) => {
      const out = path.join(fx.root, `rule-${rule}`);
      const { r, leaked } = await distillSteps(rule, out);
      expect(r.status).toBe('completed');
      expect(Number.isFinite(r.valPpl)).toBe(true);
      expect(leaked).toBe(0);
      const step = readRunLog(path.join(out, 'train_log.jsonl')).find(
        (e) => e.step === 2 && !e.split,
      )!;
      for (const k of ['ce', 'kl', 'embedding', 'hidden', 'attention', 'grad_norm', 'spike_rate']) {
        expect(Number.isFinite(step[k]), `${rule}: ${k}`).toBe(true);
      }
    },
  );
});
