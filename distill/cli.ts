// The training commands of `snnlm`, registered on import (bin/snnlm.js imports this
// file): `distill` (teacher -> spiking student with SpAD), `train` (any registry causal
// LM with cross-entropy) and `quickstart` (the embedded default, end to end). Settings
// come from a JSON config file, then dotted overrides (`--train.lr=3e-4`,
// `--model.time_steps=4`); the command's own flags are few (conventions.md 4).
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend.js';
import { registerCommand } from '../src/cli.js';
import { ConfigError } from '../src/errors.js';
import { readConfigFile, splitOverrides } from './config.js';
import { distillJob, trainJob } from './jobs.js';
import type { JobResult } from './jobs.js';
import { QUICKSTART_USAGE, runQuickstart } from './quickstart.js';

const DISTILL_USAGE =
  'snnlm distill --teacher DIR --student PRESET|config.json|DIR --data SRC --out DIR ' +
  '[--config distill.json] [--resume latest|PATH] [--overwrite] [--backend B] [--KEY.SUB=VALUE ...]\n\n' +
  '  --student   bispikclm:teacher (the teacher width and depth), bispikclm:tiny|small,\n' +
  '              wd-spikingformer:teacher|tiny|small, a config.json, or a model folder\n' +
  '  --data      a .txt/.jsonl file, a glob, or builtin:moby-dick | builtin:sotu\n' +
  '  --workers N worker threads sharing each batch (= --train.workers; default 1: this thread)\n' +
  '  overrides   e.g. --train.steps=2000 --train.rule=sltt --loss.hidden=0.5 --model.time_steps=4\n' +
  '              (keys: seed, data.*, train.*, loss.*, eval.*, checkpoint.*, log.*, teacher.engine, model.*)\n' +
  '  output      <out>/run_config.json, train_log.jsonl, checkpoint-<step>/, model/ (the final folder)';

const TRAIN_USAGE =
  'snnlm train --model PRESET|config.json|DIR --data SRC --out DIR [--tokenizer DIR] ' +
  '[--config train.json] [--resume latest|PATH] [--overwrite] [--backend B] [--KEY.SUB=VALUE ...]\n\n' +
  '  --model     llama:tiny|small, bispikclm:tiny|small, wd-spikingformer:tiny|small,\n' +
  '              a config.json, or a model folder (trained further)\n' +
  '  --tokenizer folder with tokenizer.json (default: the model folder)\n' +
  '  --workers N worker threads sharing each batch (= --train.workers; default 1: this thread)';

const COMMON = {
  data: { type: 'string' },
  out: { type: 'string' },
  config: { type: 'string' },
  resume: { type: 'string' },
  overwrite: { type: 'boolean', default: false },
  backend: { type: 'string' },
} as const;

function required(value: string | undefined, flag: string, usage: string): string {
  if (!value) throw new ConfigError(`--${flag} is required`, `usage: ${usage.split('\n')[0]}`);
  return value;
}

function printResult(r: JobResult): number {
  const summary = {
    out: r.outDir,
    model: r.modelDir,
    status: r.status,
    steps: r.steps,
    tokens: r.tokens,
    val_ppl: r.valPpl,
    best_val_ppl: r.bestValPpl,
    tok_per_s: Math.round(r.tokPerS),
    checkpoint: r.lastCheckpoint,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (r.status === 'stopped') {
    process.stderr.write(`stopped; resume with --resume latest --out ${r.outDir}\n`);
    return 130;
  }
  return 0;
}

async function parse(
  args: string[],
  own: Record<string, { type: 'string' | 'boolean'; default?: boolean }>,
) {
  const { rest, overrides } = splitOverrides(args, Object.keys(own));
  const { values, positionals } = parseArgs({
    args: rest,
    options: own,
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length) {
    throw new ConfigError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  }
  const v = values as Record<string, string | boolean | undefined>;
  const configFile = v.config ? await readConfigFile(v.config as string) : null;
  return { v, overrides, configFile };
}

registerCommand('distill', {
  summary: 'distill a spiking student from a teacher model (SpAD), with checkpoints and resume',
  usage: DISTILL_USAGE,
  run: async (args) => {
    const own = { ...COMMON, teacher: { type: 'string' }, student: { type: 'string' } } as const;
    const { v, overrides, configFile } = await parse(args, own);
    const teacher = required(v.teacher as string | undefined, 'teacher', DISTILL_USAGE);
    const student = required(v.student as string | undefined, 'student', DISTILL_USAGE);
    const data = required(v.data as string | undefined, 'data', DISTILL_USAGE);
    const out = required(v.out as string | undefined, 'out', DISTILL_USAGE);
    await initBackend(v.backend as string | undefined);
    const r = await distillJob({
      teacher,
      student,
      data,
      out,
      configFile,
      configFileName: v.config as string | undefined,
      overrides,
      resume: (v.resume as string | undefined) ?? null,
      overwrite: Boolean(v.overwrite),
    });
    return printResult(r);
  },
});

registerCommand('train', {
  summary: 'train any registry causal LM (ANN or spiking) on a corpus with cross-entropy',
  usage: TRAIN_USAGE,
  run: async (args) => {
    const own = { ...COMMON, model: { type: 'string' }, tokenizer: { type: 'string' } } as const;
    const { v, overrides, configFile } = await parse(args, own);
    const model = required(v.model as string | undefined, 'model', TRAIN_USAGE);
    const data = required(v.data as string | undefined, 'data', TRAIN_USAGE);
    const out = required(v.out as string | undefined, 'out', TRAIN_USAGE);
    await initBackend(v.backend as string | undefined);
    const r = await trainJob({
      model,
      tokenizer: (v.tokenizer as string | undefined) ?? null,
      data,
      out,
      configFile,
      configFileName: v.config as string | undefined,
      overrides,
      resume: (v.resume as string | undefined) ?? null,
      overwrite: Boolean(v.overwrite),
    });
    return printResult(r);
  },
});

registerCommand('quickstart', {
  summary: 'train a small teacher on a built-in corpus, distill a BiSpikCLM student, compare',
  usage: QUICKSTART_USAGE,
  run: async (args) => {
    const { values } = parseArgs({
      args,
      options: {
        out: { type: 'string', default: 'runs/quickstart' },
        fast: { type: 'boolean', default: false },
        corpus: { type: 'string' },
        overwrite: { type: 'boolean', default: false },
        backend: { type: 'string' },
      },
      strict: true,
    });
    await initBackend(values.backend);
    const summary = await runQuickstart({
      out: values.out,
      fast: values.fast,
      corpus: values.corpus,
      overwrite: values.overwrite,
    });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  },
});
