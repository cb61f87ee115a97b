// `snnlm eval` end to end on tiny model folders: flag and data errors, the results layout
// (harness keys, configs, n-samples, energy of student and teacher, compare block), the
// printed table, perplexity, and the HTML report rendered in headless Chromium.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../eval/cli.js';
import { hasChromium, launchBrowser, noteMissingBrowser } from '../browser.js';
import { cli, setupBackend } from '../helpers.js';
import { writeTinyData, writeTinyModel } from './fixtures.js';

noteMissingBrowser('the HTML report test');
let dir: string;
let student: string;
let teacher: string;
let data: string;

beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(path.join(tmpdir(), 'snnlm-eval-cli-'));
  student = await writeTinyModel(path.join(dir, 'student'), 'bispikclm');
  teacher = await writeTinyModel(path.join(dir, 'teacher'), 'llama');
  data = await writeTinyData(path.join(dir, 'data'));
  await writeFile(
    path.join(dir, 'text.txt'),
    'the cup of water.\nA cup, the water and a cup.\n'.repeat(3),
  );
  delete process.env.SNNLM_DATA_DIR;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('snnlm eval errors', () => {
  it('asks for a data folder when none is given', async () => {
    const r = await cli(['eval', '--model', student, '--tasks', 'piqa']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no data folder for piqa .*pass --data-dir DIR or set SNNLM_DATA_DIR/);
  });

  it('names a missing data file and where to get it', async () => {
    const r = await cli(['eval', '--model', student, '--tasks', 'boolq', '--data-dir', data]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /missing data file for BoolQ dev \(validation\): .*qa\/boolq\/dev\.jsonl/,
    );
    expect(r.err).toMatch(/storage\.googleapis\.com\/boolq/);
  });

  it('rejects unknown tasks and bad numbers', async () => {
    const r = await cli(['eval', '--model', student, '--tasks', 'piqa,mmlu', '--data-dir', data]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown task "mmlu"; known: boolq, piqa, arc_easy/);
    const l = await cli([
      'eval',
      '--model',
      student,
      '--tasks',
      'piqa',
      '--data-dir',
      data,
      '--limit',
      '0',
    ]);
    expect(l.err).toMatch(/--limit must be a positive integer, got "0"/);
    const p = await cli(['eval', '--model', student, '--tasks', 'perplexity']);
    expect(p.err).toMatch(/perplexity task needs --text FILE/);
  });
});

describe('snnlm eval results', () => {
  let results: Record<string, Record<string, unknown>>;
  let out: string;
  let report: string;

  beforeAll(async () => {
    out = path.join(dir, 'out/results.json');
    report = path.join(dir, 'out/report.html');
    const r = await cli([
      'eval',
      ...['--model', student, '--compare', teacher, '--tasks', 'piqa,winogrande,perplexity'],
      ...['--data-dir', data, '--text', path.join(dir, 'text.txt'), '--limit', '4'],
      ...['--batch-size', '3', '--out', out, '--report', report],
    ]);
    expect(r.err).not.toMatch(/error|Error/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\|piqa +\|1 +\|0 +\|acc +\|/);
    expect(r.out).toMatch(/Teacher mJ\/example/);
    results = JSON.parse(await readFile(out, 'utf8')) as typeof results;
  });

  it('writes the harness layout with stderr, configs, versions and n-samples', () => {
    const piqa = results.results.piqa as Record<string, unknown>;
    expect(piqa.alias).toBe('piqa');
    for (const k of ['acc,none', 'acc_stderr,none', 'acc_norm,none', 'acc_norm_stderr,none']) {
      expect(typeof piqa[k]).toBe('number');
    }
    // 4 of 6 documents, so acc is a multiple of 1/4.
    expect(((piqa['acc,none'] as number) * 4) % 1).toBe(0);
    expect(results['n-samples'].piqa).toEqual({ original: 6, effective: 4 });
    expect(results['n-samples'].winogrande).toEqual({ original: 4, effective: 4 });
    expect(results.versions).toMatchObject({ piqa: 1, winogrande: 1 });
    expect(results['n-shot']).toMatchObject({ piqa: 0 });
    expect(results.configs.piqa).toMatchObject({
      doc_to_text: 'Question: {{goal}}\nAnswer:',
      target_delimiter: ' ',
    });
    expect(results.configs.winogrande).toMatchObject({ partial_evaluation: true });
    expect(String((results.configs.piqa as Record<string, unknown>).truncation)).toMatch(
      /^from the left/,
    );
    expect(results.config).toMatchObject({
      limit: 4,
      batch_size: 3,
      model_type: 'bispikclm',
      numpy_seed: 1234,
    });
    const ppl = results.results.perplexity as Record<string, unknown>;
    expect(ppl['word_perplexity,none']).toBeGreaterThan(1);
    expect(ppl['bits_per_byte_stderr,none']).toBe('N/A');
    expect(
      String((results.configs.perplexity as Record<string, unknown>).rolling_window_rule),
    ).toMatch(/every token predicted once/);
  });

  it('reports spike statistics of the student and MAC energy of the teacher', () => {
    const e = results.energy.piqa as Record<string, Record<string, unknown>>;
    const rates = e.model.firing_rate_per_layer as { encoding: string; firing_rate: number }[];
    const spiking = rates.filter((l) => l.encoding === 'spike');
    expect(spiking.length).toBeGreaterThan(0);
    for (const l of spiking) expect(l.firing_rate).toBeGreaterThanOrEqual(0);
    expect(e.model.acs_per_example).toBeGreaterThan(0);
    expect(e.model.examples).toBe(4);
    expect(e.teacher.acs_per_example).toBe(0);
    expect(e.teacher.macs_per_example).toBeGreaterThan(0);
    expect(e.teacher.scoring_path).toBe('prefix');
    expect(e.model.scoring_path).toBe('batched');
    const cmp = results.compare as Record<string, Record<string, Record<string, unknown>>>;
    expect(cmp.model).toBe(teacher);
    expect(typeof cmp.results.piqa['acc,none']).toBe('number');
    expect(existsSync(out.replace(/\.json$/, '.log.jsonl'))).toBe(true);
  });

  it.skipIf(!hasChromium)(
    'renders the HTML report with non-empty plots in headless Chromium',
    async () => {
      const browser = await launchBrowser();
      try {
        const page = await browser.context.newPage();
        const requests: string[] = [];
        page.on('request', (r) => requests.push(r.url()));
        await page.goto(`file://${report}`);
        const shot = await page.screenshot({ fullPage: true });
        expect(shot.length).toBeGreaterThan(1000);
        const svgs = await page.$$eval('svg', (els) =>
          els.map((s) => ({
            w: s.getBoundingClientRect().width,
            h: s.getBoundingClientRect().height,
            marks: s.querySelectorAll('rect.bar, polyline.line').length,
          })),
        );
        expect(svgs.length).toBe(3); // accuracy, energy, firing rates
        for (const s of svgs) {
          expect(s.w).toBeGreaterThan(100);
          expect(s.h).toBeGreaterThan(100);
          expect(s.marks).toBeGreaterThan(0);
        }
        // Accuracy bars: 2 tasks × (student, teacher); energy: 3 tasks × 2.
        const bars = await page.$$eval('svg', (els) =>
          els.map((s) => s.querySelectorAll('rect.bar').length),
        );
        expect(bars.slice(0, 2)).toEqual([4, 6]);
        expect(requests.every((u) => u.startsWith('file://'))).toBe(true);
      } finally {
        await browser.close();
      }
    },
  );
});
