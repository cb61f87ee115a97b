// The results table of the vision training methods (issue: one row per method on the
// MNIST and Fashion-MNIST test sets): trains every registered method under one fixed
// budget and writes the table as JSON and markdown. Rerunnable:
//   node --import tsx bench/vision-table.ts [--epochs 1] [--limit-train N] [--methods a,b]
//     [--datasets mnist,fashion-mnist] [--arch mlp] [--data-dir DIR] [--out bench/results/vision-table]
// The budget is stated in the output: epochs, training examples per epoch, batch size,
// the method's default T and net, SGD momentum 0.9 with a cosine schedule, one seed.
// Every run reports its wall time; runs share one process (peak RSS is the process's).
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend.js';
import { trainVision } from '../vision/train.js';
import type { VisionResults } from '../vision/train.js';
import { visionMethod, visionMethodNames } from '../vision/all-methods.js';

/** Paper anchors (methods-vision.md 11) shown beside our rows, where one exists. */
const ANCHORS: Record<string, Record<string, string>> = {
  'fashion-mnist': {
    ottt: 'OTTT_A R400 T5: 90.36 [S]',
    'ottt-o': 'OTTT_O R400 T5: 90.40 [S]',
    bptt: 'BPTT R400 T5: 90.58 [S]',
    ide: 'IDE F400 T5 (IF): 90.04 [V]',
  },
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      epochs: { type: 'string', default: '1' },
      'limit-train': { type: 'string' },
      methods: { type: 'string' },
      datasets: { type: 'string', default: 'mnist,fashion-mnist' },
      arch: { type: 'string', default: 'mlp' },
      'batch-size': { type: 'string', default: '128' },
      'data-dir': { type: 'string' },
      out: { type: 'string', default: 'bench/results/vision-table' },
    },
  });
  const info = await initBackend();
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const shared = path.resolve(root, '..', 'shared', 'datasets', 'vision');
  const searchRoots = values['data-dir']
    ? [values['data-dir']]
    : existsSync(shared)
      ? [shared]
      : [];
  const methods = values.methods ? values.methods.split(',') : visionMethodNames();
  const datasets = values.datasets.split(',');
  const epochs = Number(values.epochs);
  const limitTrain = values['limit-train'] ? Number(values['limit-train']) : undefined;
  const batchSize = Number(values['batch-size']);
  const arch = values.arch as 'mlp' | 'cnn';
  const rows: (Pick<
    VisionResults,
    | 'method'
    | 'dataset'
    | 'data_source'
    | 'arch'
    | 'time_steps'
    | 'test_accuracy'
    | 'train_examples'
    | 'test_examples'
  > & {
    hidden: unknown;
    time_s: number;
    firing_rates: number[];
    error?: string;
  })[] = [];
  for (const dataset of datasets) {
    for (const method of methods) {
      process.stderr.write(`vision-table: ${method} on ${dataset} ...\n`);
      const t0 = performance.now();
      try {
        // A method with its own net (ide, spide: the feedback net) trains that net.
        const own = visionMethod(method).archs as readonly string[] | undefined;
        const r = await trainVision({
          method,
          dataset,
          arch: own && !own.includes(arch) ? own[0] : arch,
          epochs,
          batchSize,
          limitTrain,
          searchRoots,
          progress: null,
        });
        rows.push({
          method,
          dataset,
          data_source: r.data_source,
          arch: r.arch,
          hidden:
            (r.config as { hidden?: unknown; hidden_sizes?: unknown }).hidden ??
            r.config.hidden_sizes,
          time_steps: r.time_steps,
          train_examples: r.train_examples,
          test_examples: r.test_examples,
          test_accuracy: r.test_accuracy,
          firing_rates: r.firing_rates.map((f) => Math.round(f.rate * 1000) / 1000),
          time_s: Math.round((performance.now() - t0) / 100) / 10,
        });
      } catch (e) {
        rows.push({
          method,
          dataset,
          data_source: '',
          arch,
          hidden: null,
          time_steps: 0,
          train_examples: 0,
          test_examples: 0,
          test_accuracy: NaN,
          firing_rates: [],
          time_s: 0,
          error: e instanceof Error ? e.message : String(e),
        });
      }
      const last = rows[rows.length - 1];
      process.stderr.write(
        `vision-table: ${method} ${dataset}: ${last.error ?? `${(100 * last.test_accuracy).toFixed(2)}% in ${last.time_s} s`}\n`,
      );
    }
  }
  const budget = {
    epochs,
    train_examples_per_epoch: limitTrain ?? 'all (60000)',
    batch_size: batchSize,
    optimizer: 'SGD momentum 0.9, lr 0.1 (ide 0.05), cosine to 0 over the run',
    time_steps: "the method's default (bptt/sltt/ottt/opzo 6, dsr 20, ide 5, spide 30)",
    arch: `${arch} (ide, spide: their feedback net, F400)`,
    seed: 0,
    backend: info.backend,
    cpu: '2 cores (shared machine; wall times include contention)',
  };
  const json = { budget, rows };
  const md = [
    `# Vision training methods: test accuracy under one budget`,
    '',
    `Budget: ${epochs} epoch(s) of ${budget.train_examples_per_epoch} training examples, batch ${batchSize}, ${budget.optimizer}, T = ${budget.time_steps}, arch ${arch}, seed 0, backend ${info.backend}.`,
    '',
    '| dataset | method | net | T | test accuracy | train examples | wall time (s) | firing rates | paper anchor |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) =>
      r.error
        ? `| ${r.dataset} | ${r.method} | - | - | error: ${r.error} | - | - | - | - |`
        : `| ${r.dataset} | ${r.method} | ${r.arch} ${JSON.stringify(r.hidden)} | ${r.time_steps} | ${(100 * r.test_accuracy).toFixed(2)}% | ${r.train_examples} | ${r.time_s} | ${r.firing_rates.join(', ')} | ${ANCHORS[r.dataset]?.[r.method] ?? '-'} |`,
    ),
    '',
  ].join('\n');
  const out = path.resolve(root, values.out);
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(`${out}.json`, JSON.stringify(json, null, 2) + '\n');
  await writeFile(`${out}.md`, md);
  process.stdout.write(md);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
