// `snnlm quickstart`, the embedded default: with only what `npm ci` installed, train a
// byte-level BPE tokenizer on a built-in corpus, train a small LLaMA teacher on it
// (the `snnlm train` job), distill a BiSpikCLM student at the teacher's width and depth
// (the `snnlm distill` job), then report validation perplexity of both, the student's
// estimated energy per token against the teacher's, a sample from each, and how to
// serve the student. Sizes and steps are OURS [P], chosen to finish in under 15 minutes
// on 2 cores (`--fast`: a smoke run of under 2 minutes).
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../src/errors.js';
import { writeFileAtomic } from '../src/io/index.js';
import type { JsonObject } from '../src/io/index.js';
import { generate } from '../src/generate/index.js';
import { Tokenizer, saveTokenizerFolder, trainBpeTokenizer } from '../src/tokenizer/index.js';
import { readDocuments } from '../datasets/index.js';
import { loadCausalLM } from '../models/index.js';
import { defaultRunConfig } from './config.js';
import type { RunConfig } from './config.js';
import { energyPerToken } from './energy.js';
import type { TokenEnergy } from './energy.js';
import { distillJob, trainJob } from './jobs.js';
import { loadDataTokenizer, prepareRunData } from './setup.js';

export const QUICKSTART_USAGE =
  'snnlm quickstart [--out DIR (default runs/quickstart)] [--fast] [--corpus builtin:moby-dick|builtin:sotu|SRC] [--overwrite] [--backend B]';

/** Everything a quickstart size decides. */
interface QuickstartPlan {
  corpus: string;
  /** Tokenizer: vocabulary and characters of text it is trained on. */
  vocabSize: number;
  tokenizerChars: number;
  /** Steps, peak learning rate, and a CPU-time cap (seconds) that ends the phase early. */
  teacher: {
    preset: string;
    /** Overrides of the preset's config.json. */
    model: JsonObject;
    steps: number;
    lr: number;
    cpuSeconds: number;
  };
  student: { steps: number; lr: number; cpuSeconds: number };
  seqLen: number;
  batchSize: number;
  evalBatches: number;
}

/**
 * [P] sizes. The CPU-time caps keep the full run under 15 minutes on 2 cores whatever the
 * machine's speed (the wasm backend runs one thread, so CPU time is close to wall time);
 * on a fast machine the step counts end each phase first.
 */
const PLANS: Readonly<Record<'fast' | 'full', QuickstartPlan>> = {
  fast: {
    corpus: 'builtin:moby-dick',
    vocabSize: 320,
    tokenizerChars: 100_000,
    teacher: { preset: 'llama:tiny', model: {}, steps: 30, lr: 3e-3, cpuSeconds: 20 },
    student: { steps: 20, lr: 3e-3, cpuSeconds: 30 },
    seqLen: 32,
    batchSize: 8,
    evalBatches: 4,
  },
  full: {
    corpus: 'builtin:moby-dick',
    vocabSize: 1024,
    tokenizerChars: 1_300_000,
    // NOTE: two layers, because the BiSpikCLM student at the teacher's depth stops
    // learning from cross-entropy as the depth grows (4-5 binary-weight spiking layers
    // stayed near uniform perplexity in our runs, 2-3 learn).
    teacher: {
      preset: 'llama:small',
      model: { num_hidden_layers: 2 },
      steps: 1200,
      lr: 3e-3,
      cpuSeconds: 240,
    },
    student: { steps: 1000, lr: 3e-3, cpuSeconds: 420 },
    seqLen: 64,
    batchSize: 8,
    evalBatches: 20,
  },
};

/** Options of `runQuickstart`. */
export interface QuickstartOptions {
  out?: string;
  fast?: boolean;
  /** Corpus spec instead of the plan's built-in corpus. */
  corpus?: string;
  overwrite?: boolean;
  /** Token cache folder. @default the run config's (`.snnlm-cache`) */
  cacheDir?: string;
  /** Where the summary lines go. @default process.stderr */
  echo?: { write(s: string): unknown };
}

/** One model's line of the summary. */
interface ModelReport {
  dir: string;
  model_type: string;
  parameters: number;
  val_ppl: number | null;
  steps: number;
  tokens: number;
  tok_per_s: number;
  /** CPU time of the training phase, seconds. */
  cpu_seconds: number;
  energy: TokenEnergy;
  sample: string;
}

/** What `quickstart.json` holds. */
export interface QuickstartSummary {
  out: string;
  fast: boolean;
  corpus: string;
  tokenizer: { dir: string; vocab_size: number };
  teacher: ModelReport;
  student: ModelReport;
  /** Student energy per token / teacher energy per token. */
  energy_ratio: number;
  /** Wall time and CPU time of the whole quickstart, seconds. */
  seconds: number;
  cpu_seconds: number;
  serve: string;
}

function runConfig(
  plan: QuickstartPlan,
  phase: { steps: number; lr: number; cpuSeconds: number },
  cacheDir: string | undefined,
): RunConfig {
  const { steps, lr } = phase;
  const c = defaultRunConfig();
  if (cacheDir) c.data.cache_dir = cacheDir;
  c.train.max_cpu_seconds = phase.cpuSeconds;
  c.data.seq_len = plan.seqLen;
  c.data.batch_size = plan.batchSize;
  c.data.validation = 0.05;
  c.train.steps = steps;
  c.train.lr = lr;
  c.train.min_lr = lr / 10;
  c.eval.every = 0;
  c.eval.max_batches = plan.evalBatches;
  c.eval.batch_size = plan.batchSize;
  c.checkpoint.every = Math.max(50, Math.floor(steps / 4));
  c.checkpoint.keep_last = 1;
  c.log.every = Math.max(1, Math.floor(steps / 20));
  return c;
}

const SAMPLE_PROMPT = 'The whale';

async function describe(
  dir: string,
  val: Parameters<typeof energyPerToken>[1],
  r: { valPpl: number | null; steps: number; tokens: number; tokPerS: number; cpuSeconds: number },
): Promise<ModelReport> {
  const model = await loadCausalLM(dir);
  try {
    const tok = await Tokenizer.fromFolder(dir);
    const energy = await energyPerToken(model, val);
    const g = await generate(model, tok, SAMPLE_PROMPT, {
      max_tokens: 40,
      temperature: 0.8,
      top_k: 40,
      seed: 1,
    });
    const parameters = model
      .namedParameters()
      .reduce((n, [, v]) => n + (v.trainable ? v.size : 0), 0);
    return {
      dir,
      model_type: model.modelType,
      parameters,
      val_ppl: r.valPpl,
      steps: r.steps,
      tokens: r.tokens,
      tok_per_s: Math.round(r.tokPerS),
      cpu_seconds: Math.round(r.cpuSeconds),
      energy,
      sample: SAMPLE_PROMPT + g.text,
    };
  } finally {
    model.dispose();
  }
}

/** Run the quickstart into `out` (see the file header); returns the summary it writes. */
export async function runQuickstart(o: QuickstartOptions = {}): Promise<QuickstartSummary> {
  const t0 = performance.now();
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const cpu0 = cpuNow();
  const echo = o.echo ?? process.stderr;
  const out = resolve(o.out ?? 'runs/quickstart');
  const plan = PLANS[o.fast ? 'fast' : 'full'];
  const corpus = o.corpus ?? plan.corpus;
  const names = await readdir(out).catch(() => [] as string[]);
  if (names.length > 0 && !o.overwrite) {
    throw new ConfigError(`output folder ${out} is not empty`, 'pass --overwrite or another --out');
  }
  const say = (line: string) => echo.write(`quickstart: ${line}\n`);

  // 1. tokenizer
  const tokDir = join(out, 'tokenizer');
  say(`training a ${plan.vocabSize}-token byte-level BPE tokenizer on ${corpus}`);
  async function* texts(): AsyncGenerator<string> {
    for await (const d of readDocuments(corpus)) yield d.text;
  }
  const bpe = await trainBpeTokenizer(texts(), {
    vocabSize: plan.vocabSize,
    maxChars: plan.tokenizerChars,
  });
  await saveTokenizerFolder(tokDir, bpe.json, { modelMaxLength: Math.max(256, plan.seqLen) });

  // 2. teacher
  say(`training the teacher (${plan.teacher.preset}, ${plan.teacher.steps} steps)`);
  const teacherCfg = runConfig(plan, plan.teacher, o.cacheDir);
  teacherCfg.model = { ...plan.teacher.model };
  const teacherRun = await trainJob({
    model: plan.teacher.preset,
    tokenizer: tokDir,
    data: corpus,
    out: join(out, 'teacher'),
    config: teacherCfg,
    overwrite: o.overwrite,
    echo: { write: () => true },
  });
  if (!teacherRun.modelDir) throw new ConfigError('quickstart: the teacher run was stopped');

  // 3. student
  say(`distilling a BiSpikCLM student at the teacher's size (${plan.student.steps} steps)`);
  const studentCfg = runConfig(plan, plan.student, o.cacheDir);
  const studentRun = await distillJob({
    teacher: teacherRun.modelDir,
    student: 'bispikclm:teacher',
    data: corpus,
    out: join(out, 'student'),
    config: studentCfg,
    overwrite: o.overwrite,
    echo: { write: () => true },
  });
  if (!studentRun.modelDir) throw new ConfigError('quickstart: the student run was stopped');

  // 4. report: perplexity (from the runs), energy per token, samples
  const data = await prepareRunData(corpus, await loadDataTokenizer(tokDir), studentCfg);
  let teacher: ModelReport;
  let student: ModelReport;
  try {
    const val = data.val ?? data.train;
    teacher = await describe(teacherRun.modelDir, val, teacherRun);
    student = await describe(studentRun.modelDir, val, studentRun);
  } finally {
    await data.close();
  }
  const ratio = student.energy.energy_pj_per_token / teacher.energy.energy_pj_per_token;
  const summary: QuickstartSummary = {
    out,
    fast: Boolean(o.fast),
    corpus,
    tokenizer: { dir: tokDir, vocab_size: bpe.vocabSize },
    teacher,
    student,
    energy_ratio: ratio,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    cpu_seconds: Math.round(cpuNow() - cpu0),
    serve: `snnlm serve --model ${studentRun.modelDir}`,
  };
  await writeFileAtomic(join(out, 'quickstart.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
  say(`teacher ${teacher.model_type}: val ppl ${f(teacher.val_ppl)}, ${teacher.parameters} params`);
  say(`student ${student.model_type}: val ppl ${f(student.val_ppl)}, ${student.parameters} params`);
  say(
    `energy per token: student ${(student.energy.energy_pj_per_token / 1e6).toFixed(3)} µJ vs ` +
      `teacher ${(teacher.energy.energy_pj_per_token / 1e6).toFixed(3)} µJ (ratio ${ratio.toFixed(3)})`,
  );
  say(`teacher sample: ${JSON.stringify(teacher.sample)}`);
  say(`student sample: ${JSON.stringify(student.sample)}`);
  say(`summary: ${join(out, 'quickstart.json')}`);
  say(`serve the student: ${summary.serve}`);
  return summary;
}
