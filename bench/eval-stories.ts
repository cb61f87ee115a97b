// Real evaluation run: the stories260K teacher (llama2.c checkpoint converted to a model
// folder) and a BiSpikCLM student of the same shape (D 64, L 5, H 8, V 512, context 512)
// side by side on the seven QA tasks, with energy per example, through `snnlm eval`.
//   node --import tsx bench/eval-stories.ts [--limit 100] [--student DIR] [--out-dir DIR]
// Without --student, an UNTRAINED student (fresh initialisation) is built and saved, so
// its scores are a chance-level reference, not a distillation result.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend.js';
import { main } from '../src/cli.js';
import { buildModel, savePretrained, studentPreset } from '../models/index.js';
import '../eval/cli.js';
import { convertStories260K, DATA_DIR, STORIES_BIN } from './eval-piqa.js';

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

async function buildStudent(dir: string, teacherDir: string): Promise<void> {
  const config = studentPreset('bispikclm', 'small', {
    vocab_size: 512,
    hidden_size: 64,
    num_hidden_layers: 5,
    num_attention_heads: 8,
    max_position_embeddings: 512,
  });
  const model = buildModel(config);
  const extraFiles: Record<string, string> = {};
  for (const f of TOKENIZER_FILES) extraFiles[f] = await readFile(path.join(teacherDir, f), 'utf8');
  await savePretrained(model, dir, { extraFiles, overwrite: true });
  model.dispose();
}

async function run(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      limit: { type: 'string', default: '100' },
      student: { type: 'string' },
      'out-dir': { type: 'string', default: 'bench/results/eval-stories' },
      tasks: { type: 'string', default: 'qa' },
      'batch-size': { type: 'string', default: '16' },
    },
  });
  if (!existsSync(STORIES_BIN) || !existsSync(DATA_DIR)) {
    throw new Error(`needs ${STORIES_BIN} and ${DATA_DIR}`);
  }
  await initBackend();
  const out = values['out-dir'];
  await mkdir(out, { recursive: true });
  const teacher = path.join(out, 'stories260K');
  await convertStories260K(teacher);
  let student = values.student;
  if (!student) {
    student = path.join(out, 'bispikclm-untrained');
    await buildStudent(student, teacher);
  }
  const args = [
    'eval',
    ...['--model', student, '--compare', teacher, '--tasks', values.tasks],
    ...['--data-dir', DATA_DIR, '--limit', values.limit, '--batch-size', values['batch-size']],
    ...['--out', path.join(out, 'results.json'), '--report', path.join(out, 'report.html')],
  ];
  process.stderr.write(`eval-stories: snnlm ${args.join(' ')}\n`);
  process.exitCode = await main(args);
}

run().catch((err: unknown) => {
  process.stderr.write(
    `eval-stories failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
