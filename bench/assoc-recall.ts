// methods-language.md 1(f) check 7: WD-Spikingformer (D 64, L 2, H 2, T 2, CWSSA) on
// synthetic associative recall (K pairs a→b, then a query a; answer b) must exceed 90 %
// held-out accuracy within a few thousand CPU steps, while the same model with its
// attention replaced by zeros (attention output projections zeroed and frozen) stays at
// chance 1 / values. Trains both from the same initialisation and batches; JSON on
// stdout, progress on stderr.
//   node --import tsx bench/assoc-recall.ts
//   node --import tsx bench/assoc-recall.ts --steps 3000 --pairs 4 --lr 3e-3 --wta-k 1
//   node --import tsx bench/assoc-recall.ts --only full --attention softmax_spiking   (diagnostic)
//   node --import tsx bench/assoc-recall.ts --only reference   (softmax LLaMA of the same shape)
// `--only reference` trains a float softmax LLaMA with the same D, L, H under the same
// recipe: a calibration of the step budget (not part of check 7).
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend.js';
import { tf } from '../src/tf.js';
import { createRng } from '../src/generate/rng.js';
import {
  buildRecallModel,
  buildRecallReference,
  recallBatch,
  seqLength,
  trainRecall,
  vocabSize,
} from './assoc-recall-task.js';
import type {
  RecallModel,
  RecallModelOptions,
  RecallRun,
  RecallTask,
} from './assoc-recall-task.js';

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    args: process.argv.slice(2),
    options: {
      steps: { type: 'string', default: '2500' },
      pairs: { type: 'string', default: '4' },
      keys: { type: 'string', default: '32' },
      values: { type: 'string', default: '32' },
      batch: { type: 'string', default: '32' },
      lr: { type: 'string', default: '3e-3' },
      warmup: { type: 'string', default: '100' },
      'weight-decay': { type: 'string', default: '0.01' },
      clip: { type: 'string', default: '1' },
      'wta-k': { type: 'string', default: '1' },
      attention: { type: 'string', default: 'cwssa' }, // cwssa | sfsa | ssa | softmax_spiking
      hidden: { type: 'string', default: '64' },
      layers: { type: 'string', default: '2' },
      heads: { type: 'string', default: '2' },
      'time-steps': { type: 'string', default: '2' },
      'eval-every': { type: 'string', default: '250' },
      'eval-size': { type: 'string', default: '512' },
      seed: { type: 'string', default: '1' },
      only: { type: 'string' }, // "full", "zero" or "reference"
    },
  });
  const num = (k: keyof typeof v): number => {
    const x = Number(v[k]);
    if (!Number.isFinite(x)) throw new Error(`--${k} must be a number, got ${String(v[k])}`);
    return x;
  };
  const info = await initBackend();
  const task: RecallTask = { pairs: num('pairs'), numKeys: num('keys'), numValues: num('values') };
  const model = {
    hiddenSize: num('hidden'),
    layers: num('layers'),
    heads: num('heads'),
    timeSteps: num('time-steps'),
    wtaK: num('wta-k'),
    attentionType: v.attention as RecallModelOptions['attentionType'],
  };
  const seed = num('seed');
  const heldOut = recallBatch(task, num('eval-size'), createRng(seed + 1_000_003));
  const train = {
    steps: num('steps'),
    batchSize: num('batch'),
    lr: num('lr'),
    warmupSteps: num('warmup'),
    weightDecay: num('weight-decay'),
    maxGradNorm: num('clip'),
    seed,
    evalEvery: num('eval-every'),
  };
  const runs: Record<string, RecallRun> = {};
  const variants =
    v.only === 'reference' ? (['reference'] as const) : (['full', 'zero_attention'] as const);
  for (const variant of variants) {
    if (v.only && !variant.startsWith(v.only)) continue;
    const m: RecallModel =
      variant === 'reference' ? buildRecallReference(task, model) : buildRecallModel(task, model);
    const zero = variant === 'zero_attention';
    try {
      runs[variant] = await trainRecall(m, task, heldOut, {
        ...train,
        zeroAttention: zero,
        label: variant,
      });
    } finally {
      m.dispose();
    }
  }
  tf.dispose([heldOut.ids, heldOut.targets]);
  const chance = 1 / task.numValues;
  const out = {
    snnlm_bench: 'assoc-recall',
    check: 'methods-language.md 1(f) check 7',
    date: new Date().toISOString(),
    backend: info.backend,
    cpus: (await import('node:os')).cpus().length,
    task: { ...task, seq_length: seqLength(task), vocab_size: vocabSize(task) },
    model: {
      model_type: v.only === 'reference' ? 'llama' : 'wd-spikingformer',
      attention_type: v.only === 'reference' ? 'softmax' : model.attentionType,
      hidden_size: model.hiddenSize,
      num_hidden_layers: model.layers,
      num_attention_heads: model.heads,
      time_steps: model.timeSteps,
      ...(model.attentionType === 'cwssa' ? { wta_k: model.wtaK } : {}),
    },
    train: { ...train, schedule: 'warmup + cosine to lr/10', optimizer: 'AdamW' },
    held_out_sequences: heldOut.targets.shape[0],
    chance,
    final_accuracy: Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, r.finalAccuracy])),
    passes_check:
      runs.full && runs.zero_attention
        ? runs.full.finalAccuracy > 0.9 && runs.zero_attention.finalAccuracy < chance + 0.05
        : null,
    runs,
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
