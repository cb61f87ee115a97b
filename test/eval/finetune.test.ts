// `snnlm finetune` on tiny encoders (BERT and WE-Spikingformer presets) and a synthetic
// GLUE-format SST-2 whose label is the presence of one word: both learn it well above
// chance, the saved folder reloads and `snnlm eval` reproduces the dev score reported at
// the end of training, bad input fails with clear messages, and a run stopped and resumed
// ends with the parameters of an uninterrupted run. Also the pair encoding/truncation.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../eval/cli.js';
import { buildFinetuneModel, epochBatches, finetune, presetConfig } from '../../eval/finetune.js';
import { buildModel, savePretrained } from '../../models/index.js';
import { encodeGlueDocs } from '../../eval/finetune-data.js';
import { checkpointTensors, findLatestCheckpoint, loadCheckpoint } from '../../src/train/index.js';
import { Tokenizer, saveTokenizerFolder, trainBpeTokenizer } from '../../src/tokenizer/index.js';
import { cli, rng, setupBackend, values } from '../helpers.js';

let dir: string;
let data: string;
let tokDir: string;

const WORDS = ['movie', 'plot', 'actor', 'scene', 'story', 'film', 'music', 'cast'];

/** `n` sentences of 3–6 filler words; label 1 iff the word "great" is among them. */
function sentences(n: number, seed: number): string[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const len = 3 + Math.floor(r() * 4);
    const w = Array.from({ length: len }, () => WORDS[Math.floor(r() * WORDS.length)]);
    if (i % 2 === 0) w.splice(Math.floor(r() * len), 0, 'great');
    return `${w.join(' ')}\t${i % 2 === 0 ? 1 : 0}`;
  });
}

beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(path.join(tmpdir(), 'snnlm-finetune-'));
  data = path.join(dir, 'data');
  await mkdir(path.join(data, 'nlu/sst2'), { recursive: true });
  await writeFile(
    path.join(data, 'nlu/sst2/train.tsv'),
    ['sentence\tlabel', ...sentences(96, 1)].join('\n') + '\n',
  );
  await writeFile(
    path.join(data, 'nlu/sst2/dev.tsv'),
    ['sentence\tlabel', ...sentences(40, 2)].join('\n') + '\n',
  );
  const bpe = await trainBpeTokenizer(
    [...WORDS, 'great', 'a b'].map((w) => `${w} ${w}`),
    {
      vocabSize: 280,
      specialTokens: ['<unk>', '<s>', '</s>', '<pad>'],
    },
  );
  tokDir = path.join(dir, 'tok');
  await saveTokenizerFolder(tokDir, bpe.json, { padToken: '<pad>' });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = (model: string, out: string) => ({
  model,
  tokenizer: tokDir,
  task: 'sst2' as const,
  dataDir: data,
  out: path.join(dir, out),
  maxLength: 16,
  batchSize: 8,
  seed: 3,
  progress: false,
});

describe('snnlm finetune', () => {
  // The spiking encoder pools the mean firing rate over the tokens (its [CLS] position
  // would first have to gather the word through winner-take-all attention).
  for (const [preset, epochs, lr, modelConfig] of [
    ['bert-tiny', 4, 3e-3, {}],
    ['we-spikingformer-tiny', 4, 1e-2, { classifier_pooling: 'mean' }],
  ] as const) {
    it(`${preset} learns a one-word rule; snnlm eval reproduces the dev score`, async () => {
      const r = await finetune({
        ...base(preset, preset),
        ...{ epochs, lr, warmupRatio: 0, modelConfig },
      });
      expect(r.stopped).toBe('done');
      expect(r.step).toBe(epochs * 12);
      const acc = r.bestMetrics!.accuracy.value;
      expect(acc).toBeGreaterThanOrEqual(0.85);
      const cfg = JSON.parse(await readFile(path.join(r.out, 'config.json'), 'utf8'));
      expect(cfg.num_labels).toBe(2);
      expect(cfg.problem_type).toBe('single_label_classification');
      expect(cfg.architectures[0]).toMatch(/ForSequenceClassification$/);
      const rec = JSON.parse(await readFile(path.join(r.out, 'finetune_config.json'), 'utf8'));
      expect(rec).toMatchObject({ task: 'sst2', max_length: 16, best_step: r.best!.step });
      const ev = await cli([
        'eval',
        '--model',
        r.out,
        '--tasks',
        'sst2',
        '--data-dir',
        data,
        '--json',
      ]);
      expect(ev.err).toContain('fine-tuned head');
      expect(ev.code).toBe(0);
      const res = JSON.parse(ev.out);
      expect(res.results.sst2['accuracy,none']).toBeCloseTo(acc, 10);
      expect(res.configs.sst2.output_type).toBe('fine_tuned_classifier');
      expect(res['n-samples'].sst2).toEqual({ original: 40, effective: 40 });
    }, 60_000);
  }

  it('resumes to the parameters of an uninterrupted run', async () => {
    const opts = { ...base('bert-tiny', 'full'), epochs: 1, lr: 1e-3, evalEvery: 4 };
    const full = await finetune(opts);
    expect(full.step).toBe(12);
    const cut = { ...opts, out: path.join(dir, 'cut') };
    const first = await finetune({ ...cut, maxStepsThisRun: 5 });
    expect(first).toMatchObject({ step: 5, stopped: 'steps' });
    const second = await finetune(cut);
    expect(second).toMatchObject({ step: 12, stopped: 'done' });
    const a = await loadCheckpoint(
      (await findLatestCheckpoint(path.join(full.out, 'checkpoints')))!.dir,
    );
    const b = await loadCheckpoint(
      (await findLatestCheckpoint(path.join(cut.out, 'checkpoints')))!.dir,
    );
    expect(a.step).toBe(12);
    expect(b.step).toBe(12);
    const [ta, tb] = [checkpointTensors(a), checkpointTensors(b)];
    expect([...tb.keys()].sort()).toEqual([...ta.keys()].sort());
    let maxDiff = 0;
    for (const [name, t] of ta) {
      const [x, y] = [values(t), values(tb.get(name)!)];
      x.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - y[i]))));
    }
    expect(maxDiff).toBeLessThanOrEqual(1e-6);
    expect(second.best!.value).toBe(full.best!.value);
    [...ta.values(), ...tb.values()].forEach((t) => t.dispose());
  }, 60_000);

  it('distils from a fine-tuned teacher: alpha 1 follows the teacher, not the labels', async () => {
    // Train labels flipped: only the teacher (fine-tuned above on the true rule) can lead
    // the student to the dev labels.
    const flipped = path.join(dir, 'flipped');
    await mkdir(path.join(flipped, 'nlu/sst2'), { recursive: true });
    const rows = sentences(96, 1).map((l) => l.replace(/\t(\d)$/, (_, y) => `\t${1 - Number(y)}`));
    await writeFile(
      path.join(flipped, 'nlu/sst2/train.tsv'),
      ['sentence\tlabel', ...rows].join('\n'),
    );
    await writeFile(
      path.join(flipped, 'nlu/sst2/dev.tsv'),
      await readFile(path.join(data, 'nlu/sst2/dev.tsv'), 'utf8'),
    );
    const teacher = path.join(dir, 'bert-tiny');
    const opts = {
      ...base('bert-tiny', 'kd'),
      dataDir: flipped,
      epochs: 4,
      lr: 1e-2,
      warmupRatio: 0,
    };
    const kd = await finetune({ ...opts, teacher, alpha: 1, temperature: 1 });
    expect(kd.bestMetrics!.accuracy.value).toBeGreaterThanOrEqual(0.85);
    const rec = JSON.parse(await readFile(path.join(kd.out, 'finetune_config.json'), 'utf8'));
    expect(rec).toMatchObject({ teacher, alpha: 1, temperature: 1 });
  }, 30_000);

  it('fine-tunes STS-B as a regression with one output; snnlm eval scores it', async () => {
    const pairs = (n: number, seed: number) =>
      sentences(n, seed).map((l, i) => {
        const [text, label] = l.split('\t');
        return `${text}\t${WORDS[i % WORDS.length]}\t${label === '1' ? 4.5 : 0.5}`;
      });
    const stsData = path.join(dir, 'sts');
    await mkdir(path.join(stsData, 'nlu/stsb'), { recursive: true });
    const head = 'sentence1\tsentence2\tscore';
    await writeFile(path.join(stsData, 'nlu/stsb/train.tsv'), [head, ...pairs(32, 4)].join('\n'));
    await writeFile(path.join(stsData, 'nlu/stsb/dev.tsv'), [head, ...pairs(12, 5)].join('\n'));
    const r = await finetune({
      ...base('bert-tiny', 'stsb'),
      ...{ task: 'stsb', dataDir: stsData, epochs: 2, lr: 3e-3 },
    });
    const cfg = JSON.parse(await readFile(path.join(r.out, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ num_labels: 1, problem_type: 'regression' });
    expect(Object.keys(r.bestMetrics!)).toEqual(['pearson', 'spearmanr']);
    const ev = await cli([
      'eval',
      '--model',
      r.out,
      '--tasks',
      'stsb',
      '--data-dir',
      stsData,
      '--json',
    ]);
    expect(ev.code).toBe(0);
    const res = JSON.parse(ev.out).results.stsb;
    expect(res['pearson,none']).toBeCloseTo(r.bestMetrics!.pearson.value, 6);
    expect(res['spearmanr,none']).toBeCloseTo(r.bestMetrics!.spearmanr.value, 6);
    const zeroShot = await cli([
      'eval',
      '--model',
      r.out,
      '--tasks',
      'piqa',
      '--data-dir',
      stsData,
    ]);
    expect(zeroShot.code).toBe(2);
    expect(zeroShot.err).toContain('scores GLUE tasks only');
    // A regression teacher cannot teach a two-class student.
    await expect(
      finetune({ ...base('bert-tiny', 'kd2'), epochs: 1, teacher: r.out }),
    ).rejects.toThrow(/needs a classifier head with num_labels 2/);
  }, 30_000);

  it('rejects a bad task, a missing file, a head of the wrong size and a non-empty folder', async () => {
    const bad = await cli([
      'finetune',
      '--model',
      'bert-tiny',
      '--task',
      'sst3',
      '--data-dir',
      data,
      '--out',
      path.join(dir, 'x'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('unknown GLUE task "sst3"');
    expect(bad.err).toContain('stsb');

    await expect(finetune({ ...base('bert-tiny', 'y'), task: 'mrpc', epochs: 1 })).rejects.toThrow(
      /nlu\/mrpc\/train\.tsv/,
    );

    await mkdir(path.join(data, 'nlu/stsb'), { recursive: true });
    await writeFile(
      path.join(data, 'nlu/stsb/train.tsv'),
      'sentence1\tsentence2\tscore\na\tb\t1.5\n',
    );
    await writeFile(
      path.join(data, 'nlu/stsb/dev.tsv'),
      'sentence1\tsentence2\tscore\na\tb\t1.5\n',
    );
    await expect(
      finetune({ ...base(path.join(dir, 'bert-tiny'), 'z'), task: 'stsb', epochs: 1 }),
    ).rejects.toThrow(/num_labels 2, the task needs 1/);

    const preset = await cli([
      'finetune',
      '--model',
      'bert-tiny',
      '--task',
      'sst2',
      '--data-dir',
      data,
      '--out',
      path.join(dir, 'w'),
    ]);
    expect(preset.code).toBe(2);
    expect(preset.err).toContain('--tokenizer');

    await writeFile(path.join(dir, 'notes.txt'), 'x');
    await mkdir(path.join(dir, 'busy'), { recursive: true });
    await writeFile(path.join(dir, 'busy', 'notes.txt'), 'x');
    await expect(finetune({ ...base('bert-tiny', 'busy'), epochs: 1 })).rejects.toThrow(
      /not empty and holds no checkpoint/,
    );
  }, 30_000);
});

describe('starting from a model folder', () => {
  it('puts a fresh classifier on the body of an MLM folder', async () => {
    const tok = await Tokenizer.fromFolder(tokDir);
    const mlm = buildModel(
      { ...presetConfig('bert-tiny', tok.vocabSize, 2), architectures: ['BertForMaskedLM'] },
      'test',
    );
    const body = path.join(dir, 'mlm-body');
    try {
      await savePretrained(mlm, body);
      const m = await buildFinetuneModel(body, tok, 2, 0);
      try {
        expect(m.getConfig().architectures).toEqual(['BertForSequenceClassification']);
        const mine = new Map(m.namedParameters());
        for (const [name, v] of mlm.namedParameters()) {
          if (name.startsWith('mlm.')) continue;
          expect(values(mine.get(name)!)).toEqual(values(v));
        }
        expect(mine.get('classifier.weight')!.shape).toEqual([2, 32]);
      } finally {
        m.dispose();
      }
    } finally {
      mlm.dispose();
    }
  });
});

describe('GLUE encoding and batching', () => {
  it('truncates the longer sentence first and keeps the special tokens', async () => {
    const tok = await Tokenizer.fromFolder(tokDir);
    const docs = [{ sentence1: 'movie plot actor scene story film', sentence2: 'great', label: 1 }];
    const full = encodeGlueDocs(tok, docs, 64)[0];
    const cut = encodeGlueDocs(tok, docs, full.ids.length - 2)[0];
    expect(cut.ids.length).toBe(full.ids.length - 2);
    const seg1 = full.types.filter((t) => t === 1).length;
    expect(cut.types.filter((t) => t === 1).length).toBe(seg1);
    expect(cut.ids[0]).toBe(full.ids[0]);
    expect(cut.ids.at(-1)).toBe(full.ids.at(-1));
    expect(() => encodeGlueDocs(tok, docs, 1)).toThrow(/--max-length 1/);
  });

  it('covers every example once per epoch in length-sorted batches', () => {
    const lengths = Array.from({ length: 37 }, (_, i) => (i * 7) % 11);
    const batches = epochBatches(lengths, 4, 5, 0);
    expect(batches.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
    expect(batches.filter((b) => b.length < 4)).toHaveLength(1);
    for (const b of batches) {
      const l = b.map((i) => lengths[i]);
      expect(l).toEqual([...l].sort((x, y) => y - x));
    }
    expect(epochBatches(lengths, 4, 5, 1)).not.toEqual(batches);
    expect(epochBatches(lengths, 4, 5, 0)).toEqual(batches);
  });
});
