// Real distillation run (issue "distillation", acceptance): the stories260K LLaMA teacher
// (converted from the llama2.c checkpoint) distilled into BiSpikCLM and WD-Spikingformer
// students at the teacher's width and depth on the TinyStories validation sample (10 %
// held out), each with SpAD and, as the baseline, with cross-entropy only, every run for
// the same fixed CPU-time budget. Reports validation perplexity of the teacher and of
// every run (the same held-out batches), estimated energy per token against the
// teacher's, and training tokens per second. JSON on stdout and in --out; progress on
// stderr.
//   node --import tsx bench/distill-stories.ts                       (30 CPU-minutes a run)
//   node --import tsx bench/distill-stories.ts --budget-minutes 2 --students bispikclm
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend.js';
import {
  readLlama2cCheckpoint,
  readLlama2cTokenizer,
  saveLlama2cAsHf,
  writeFileAtomic,
} from '../src/io/index.js';
import { llamaTokenizerFiles, vocabFromLlama2c } from '../src/tokenizer/index.js';
import { loadCausalLM } from '../models/index.js';
import { defaultRunConfig } from '../distill/config.js';
import type { RunConfig } from '../distill/config.js';
import { energyPerToken } from '../distill/energy.js';
import type { TokenEnergy } from '../distill/energy.js';
import { distillJob } from '../distill/jobs.js';
import { perplexity } from '../distill/loop.js';
import { loadDataTokenizer, prepareRunData } from '../distill/setup.js';

const SHARED = path.resolve(import.meta.dirname, '../../shared');
const BIN = path.join(SHARED, 'models/llama2c/stories260K.bin');
const TOK = path.join(SHARED, 'models/llama2c/tok512.bin');
const DATA = path.join(SHARED, 'datasets/lm/tinystories/tinystories_val_sample.txt');

interface RunReport {
  student: string;
  losses: 'spad' | 'ce';
  steps: number;
  tokens: number;
  cpu_seconds: number;
  tok_per_s: number;
  tok_per_cpu_s: number;
  val_ppl: number | null;
  energy: TokenEnergy;
  energy_vs_teacher: number;
  model_dir: string | null;
}

function config(o: {
  cacheDir: string;
  seqLen: number;
  batch: number;
  lr: number;
  evalBatches: number;
  steps: number;
  cpuSeconds: number;
  ceOnly: boolean;
}): RunConfig {
  const c = defaultRunConfig();
  c.data.seq_len = o.seqLen;
  c.data.batch_size = o.batch;
  c.data.validation = 0.1;
  c.data.cache_dir = o.cacheDir;
  c.train.steps = o.steps;
  c.train.lr = o.lr;
  c.train.min_lr = o.lr / 10;
  c.train.max_cpu_seconds = o.cpuSeconds;
  c.eval.every = 0;
  c.eval.max_batches = o.evalBatches;
  c.eval.batch_size = o.batch;
  c.checkpoint.every = Math.max(50, Math.floor(o.steps / 5));
  c.checkpoint.keep_last = 1;
  c.log.every = Math.max(1, Math.floor(o.steps / 50));
  if (o.ceOnly) {
    Object.assign(c.loss, { embedding: 0, attention: 0, hidden: 0, logits: 0 });
  }
  return c;
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    args: process.argv.slice(2),
    options: {
      'budget-minutes': { type: 'string', default: '30' },
      students: { type: 'string', default: 'bispikclm,wd-spikingformer' },
      'seq-len': { type: 'string', default: '64' },
      batch: { type: 'string', default: '8' },
      lr: { type: 'string', default: '1.5e-3' },
      'eval-batches': { type: 'string', default: '20' },
      out: { type: 'string', default: 'bench/results/distill-stories' },
      backend: { type: 'string' },
    },
    strict: true,
  });
  for (const f of [BIN, TOK, DATA]) {
    if (!existsSync(f)) throw new Error(`${f} is missing (shared models/datasets)`);
  }
  const info = await initBackend(v.backend);
  const budget = Number(v['budget-minutes']) * 60;
  const seqLen = Number(v['seq-len']);
  const batch = Number(v.batch);
  const lr = Number(v.lr);
  const evalBatches = Number(v['eval-batches']);
  const out = path.resolve(v.out);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const cacheDir = path.join(out, 'cache');
  const teacherDir = path.join(out, 'teacher');
  // What `snnlm convert llama2c --model stories260K.bin --tokenizer tok512.bin` does.
  const checkpoint = await readLlama2cCheckpoint(BIN);
  const vocab = await readLlama2cTokenizer(TOK, checkpoint.config.vocabSize);
  const tokenizerFiles = llamaTokenizerFiles(vocabFromLlama2c(vocab.pieces, vocab.scores), {
    modelMaxLength: checkpoint.config.seqLen,
  });
  await saveLlama2cAsHf(teacherDir, checkpoint, { extraFiles: { ...tokenizerFiles } });

  // The held-out batches every model is scored on (stream order, the first evalBatches).
  const base = config({
    cacheDir,
    seqLen,
    batch,
    lr,
    evalBatches,
    steps: 1,
    cpuSeconds: 0,
    ceOnly: false,
  });
  const data = await prepareRunData(DATA, await loadDataTokenizer(teacherDir), base);
  const val = data.val!;
  const teacher = await loadCausalLM(teacherDir);
  const teacherPpl = await perplexity((ids) => teacher.forward(ids).logits, val, {
    batchSize: batch,
    maxBatches: evalBatches,
  });
  const teacherEnergy = await energyPerToken(teacher, val);
  teacher.dispose();
  process.stderr.write(`teacher: val ppl ${teacherPpl.ppl.toFixed(3)}\n`);

  const runs: RunReport[] = [];
  for (const student of v.students.split(',')) {
    for (const losses of ['spad', 'ce'] as const) {
      const name = `${student}-${losses}`;
      const ceOnly = losses === 'ce';
      // Pilot: CPU seconds per step (after the first), to size the cosine schedule.
      const pilot = await distillJob({
        teacher: teacherDir,
        student: `${student}:teacher`,
        data: DATA,
        out: path.join(out, `${name}-pilot`),
        config: config({
          cacheDir,
          seqLen,
          batch,
          lr,
          evalBatches: 1,
          steps: 4,
          cpuSeconds: 0,
          ceOnly,
        }),
        echo: { write: () => true },
      });
      const perStep = pilot.cpuSeconds / pilot.steps;
      await rm(path.join(out, `${name}-pilot`), { recursive: true, force: true });
      const steps = Math.max(5, Math.floor((0.95 * budget) / perStep));
      process.stderr.write(`${name}: ~${perStep.toFixed(2)} CPU-s/step, planning ${steps} steps\n`);
      const r = await distillJob({
        teacher: teacherDir,
        student: `${student}:teacher`,
        data: DATA,
        out: path.join(out, name),
        config: config({
          cacheDir,
          seqLen,
          batch,
          lr,
          evalBatches,
          steps,
          cpuSeconds: budget,
          ceOnly,
        }),
        echo: { write: () => true },
      });
      const model = await loadCausalLM(r.modelDir!);
      const energy = await energyPerToken(model, val);
      model.dispose();
      runs.push({
        student,
        losses,
        steps: r.steps,
        tokens: r.tokens,
        cpu_seconds: Math.round(r.cpuSeconds),
        tok_per_s: Math.round(r.tokPerS),
        tok_per_cpu_s: Math.round(r.tokens / r.cpuSeconds),
        val_ppl: r.valPpl,
        energy,
        energy_vs_teacher: energy.energy_pj_per_token / teacherEnergy.energy_pj_per_token,
        model_dir: r.modelDir,
      });
      process.stderr.write(`${name}: val ppl ${r.valPpl?.toFixed(3)} after ${r.steps} steps\n`);
    }
  }
  await data.close();
  const result = {
    bench: 'distill-stories',
    backend: info.backend,
    budget_cpu_seconds: budget,
    data: {
      corpus: DATA,
      validation: 0.1,
      seq_len: seqLen,
      batch_size: batch,
      eval_batches: evalBatches,
    },
    teacher: {
      dir: teacherDir,
      val_ppl: teacherPpl.ppl,
      eval_tokens: teacherPpl.tokens,
      energy: teacherEnergy,
    },
    runs,
    spad_beats_ce: Object.fromEntries(
      v.students.split(',').map((s) => {
        const [a, b] = ['spad', 'ce'].map((l) =>
          runs.find((x) => x.student === s && x.losses === l),
        );
        return [
          s,
          typeof a?.val_ppl === 'number' && typeof b?.val_ppl === 'number'
            ? a.val_ppl < b.val_ppl
            : null,
        ];
      }),
    ),
  };
  const text = `${JSON.stringify(result, null, 2)}\n`;
  await writeFileAtomic(path.join(out, 'distill-stories.json'), text);
  process.stdout.write(text);
}

await main();
