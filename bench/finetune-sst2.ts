// SST-2 fine-tuning from scratch: the spiking `we-spikingformer-small` next to an ANN
// `bert-small` of the same trunk (D 256, L 4, H 4, MLP 4D), both trained the same way
// (same tokenizer, data order, schedule, batch, length and wall-clock budget), each scored
// on the SST-2 dev split at every evaluation point. The tokenizer is a 4096-token
// byte-level BPE trained on the SST-2 train sentences (the size of the `small` preset's
// vocabulary [P]; a 30k WordPiece table would make the one-hot embedding gradient of the
// wasm backend, conventions.md 5.2, too large). `<s>` opens every text and is the pooled
// position. Writes `<out>/tokenizer/`, `<out>/<preset>/` model folders and a JSON summary.
//
//   npx tsx bench/finetune-sst2.ts [--budget MIN] [--out DIR] [--only PRESET] [--epochs E]
//                                  [--lr X] [--batch-size B] [--max-length N] [--eval-every S]
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend.js';
import { saveTokenizerFolder, trainBpeTokenizer } from '../src/tokenizer/index.js';
import { readGlue } from '../datasets/tasks/index.js';
import { finetune } from '../eval/finetune.js';
import type { FinetunePreset } from '../eval/finetune.js';

const SHARED = path.resolve(import.meta.dirname, '../../shared');
const DATA_DIR = path.join(SHARED, 'datasets');

const { values } = parseArgs({
  options: {
    budget: { type: 'string', default: '30' },
    out: { type: 'string', default: 'runs/finetune-sst2' },
    only: { type: 'string' },
    epochs: { type: 'string', default: '1' },
    'warmup-ratio': { type: 'string', default: '0.02' },
    lr: { type: 'string', default: '5e-4' },
    'batch-size': { type: 'string', default: '32' },
    'max-length': { type: 'string', default: '64' },
    'eval-every': { type: 'string', default: '250' },
    seed: { type: 'string', default: '0' },
    'we-pooling': { type: 'string', default: 'mean' },
  },
});

if (!existsSync(path.join(DATA_DIR, 'nlu/sst2/train.tsv'))) {
  process.stdout.write(JSON.stringify({ skipped: `needs ${DATA_DIR}/nlu/sst2` }) + '\n');
  process.exit(0);
}

const TOKENIZER = path.join(values.out, 'tokenizer');
if (!existsSync(path.join(TOKENIZER, 'tokenizer.json'))) {
  const train = await readGlue(DATA_DIR, 'sst2', 'train');
  const bpe = await trainBpeTokenizer(
    train.map((d) => d.sentence1),
    { vocabSize: 4096, specialTokens: ['<unk>', '<s>', '</s>', '<pad>'] },
  );
  await saveTokenizerFolder(TOKENIZER, bpe.json, { padToken: '<pad>', modelMaxLength: 128 });
}

const info = await initBackend();
const presets: FinetunePreset[] = values.only
  ? [values.only as FinetunePreset]
  : ['we-spikingformer-small', 'bert-small'];
const summary: Record<string, unknown> = {
  backend: info.backend,
  budget_min: Number(values.budget),
};
for (const preset of presets) {
  const t0 = performance.now();
  // [P] from-scratch settings: a larger peak lr than run_glue's 2e-5 (which is for
  // pretrained bodies), length 64 (SST-2 sentences are short), one epoch (a budget stops it earlier), 2% warm-up, dev checks every 250 steps.
  const r = await finetune({
    model: preset,
    tokenizer: TOKENIZER,
    task: 'sst2',
    dataDir: DATA_DIR,
    out: path.join(values.out, preset),
    epochs: Number(values.epochs),
    lr: Number(values.lr),
    batchSize: Number(values['batch-size']),
    maxLength: Number(values['max-length']),
    evalEvery: Number(values['eval-every']),
    warmupRatio: Number(values['warmup-ratio']),
    seed: Number(values.seed),
    timeBudgetMin: Number(values.budget),
    // [P] the spiking encoder pools the mean firing rate over the tokens; BERT keeps its
    // [CLS]-position pooler.
    ...(preset.startsWith('we-')
      ? { modelConfig: { classifier_pooling: values['we-pooling'] } }
      : {}),
  });
  summary[preset] = {
    steps: r.step,
    total_steps: r.totalSteps,
    epoch: r.epoch,
    stopped: r.stopped,
    best: r.best,
    wall_s: (performance.now() - t0) / 1000,
  };
  process.stderr.write(`${preset}: ${JSON.stringify(summary[preset])}\n`);
}
process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
