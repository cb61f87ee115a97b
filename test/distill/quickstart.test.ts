// `snnlm quickstart --fast`: tokenizer, teacher and student folders that load, finite
// perplexities, an energy estimate, samples, and quickstart.json in the out folder.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQuickstart } from '../../distill/quickstart.js';
import '../../distill/cli.js';
import { loadCausalLM } from '../../models/index.js';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { cli, setupBackend } from '../helpers.js';
import { tempFolder } from '../io/fixtures.js';

let dir = '';
let cleanup = async (): Promise<void> => undefined;
beforeAll(async () => {
  await setupBackend();
  ({ dir, cleanup } = await tempFolder());
});
afterAll(() => cleanup());

describe('quickstart --fast', () => {
  it('trains a teacher, distills a student and writes the summary', async () => {
    const out = path.join(dir, 'qs');
    const lines: string[] = [];
    const summary = await runQuickstart({
      out,
      fast: true,
      cacheDir: path.join(dir, 'cache'),
      echo: { write: (s: string) => lines.push(s) },
    });
    const saved = JSON.parse(await readFile(path.join(out, 'quickstart.json'), 'utf8'));
    expect(saved).toEqual(JSON.parse(JSON.stringify(summary)));
    for (const who of ['teacher', 'student'] as const) {
      const r = summary[who];
      expect(Number.isFinite(r.val_ppl), who).toBe(true);
      expect(r.val_ppl!).toBeGreaterThan(1);
      // no better than uniform over the vocabulary would be a broken run
      expect(r.val_ppl!).toBeLessThan(summary.tokenizer.vocab_size);
      expect(r.energy.energy_pj_per_token).toBeGreaterThan(0);
      expect(r.sample.startsWith('The whale')).toBe(true);
      const model = await loadCausalLM(r.dir);
      expect(model.modelType).toBe(who === 'teacher' ? 'llama' : 'bispikclm');
      model.dispose();
      expect((await Tokenizer.fromFolder(r.dir)).vocabSize).toBe(summary.tokenizer.vocab_size);
    }
    expect(summary.student.energy.firing_rate).not.toBeNull();
    expect(summary.energy_ratio).toBeGreaterThan(0);
    expect(summary.energy_ratio).toBeLessThan(1); // ACs at sparse rates vs dense MACs
    expect(summary.serve).toBe(`snnlm serve --model ${path.join(out, 'student', 'model')}`);
    expect(lines.join('')).toMatch(/serve the student: snnlm serve --model/);
  });

  it('refuses a non-empty output folder', async () => {
    const r = await cli(['quickstart', '--fast', '--out', dir]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is not empty .*--overwrite/);
  });
});
