// `snnlm eval`: score a model folder on the QA tasks (and perplexity of a text file),
// optionally side by side with a teacher, and write the lm-evaluation-harness results
// layout with per-task spike/energy statistics, a printed table and an HTML report.
// Registered on import (bin/snnlm.js imports the compiled file).
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend.js';
import { registerCommand } from '../src/cli.js';
import { ConfigError } from '../src/errors.js';
import type { CausalLM } from '../src/generate/types.js';
import { CONFIG_FILE, writeFileAtomic } from '../src/io/index.js';
import type { JsonObject } from '../src/io/index.js';
import { ProgressBar, RunLog } from '../src/progress.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { GLUE_TASKS, SUBSET_SEED } from '../datasets/tasks/index.js';
import type { GlueTask } from '../datasets/tasks/index.js';
import { loadCausalLM, loadPretrained } from '../models/index.js';
import {
  GLUE_NUM_LABELS,
  isSequenceClassifier,
  readFinetuneRecord,
  scoreGlueDev,
} from './finetune-data.js';
import type { SequenceClassifier } from './finetune-data.js';
import { FINETUNE_PRESETS, finetune } from './finetune.js';
import { perplexityOfFile } from './perplexity.js';
import { evalTokenizer } from './requests.js';
import { buildResults, formatTable } from './results.js';
import type { TaskOutcome } from './results.js';
import { renderReport } from './report.js';
import { runChoiceTask } from './runner.js';
import { SCORING_PATHS } from './score.js';
import type { ScoringPath } from './score.js';
import { choiceTask, GLUE_CHOICE_TASK_NAMES, QA_TASK_NAMES } from './tasks/index.js';

export const EVAL_USAGE =
  'snnlm eval --model DIR --tasks piqa,arc_easy,...|qa|glue|perplexity|sst2,...,stsb [--data-dir DIR] [--text FILE] ' +
  '[--limit N] [--seed S] [--batch-size B] [--scoring auto|prefix|batched|single] [--out results.json] ' +
  '[--compare TEACHER_DIR] [--report report.html] [--no-energy] [--json] [--backend tensorflow|wasm|cpu]';

/** Environment variable naming the data folder when `--data-dir` is not given. */
export const DATA_DIR_ENV = 'SNNLM_DATA_DIR';

function intFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n <= 0) {
    throw new ConfigError(`--${flag} must be a positive integer, got "${value}"`);
  }
  return n;
}

const isGlueTask = (n: string): n is GlueTask => (GLUE_TASKS as readonly string[]).includes(n);

/** Task names of `--tasks` (`qa` = the seven QA tasks), validated. */
export function parseTasks(spec: string | undefined): string[] {
  if (!spec)
    throw new ConfigError('--tasks is required', `e.g. --tasks ${QA_TASK_NAMES.join(',')}`);
  const names = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .flatMap((s) => (s === 'qa' ? QA_TASK_NAMES : s === 'glue' ? GLUE_CHOICE_TASK_NAMES : [s]));
  for (const n of names) if (n !== 'perplexity' && !isGlueTask(n)) choiceTask(n);
  return [...new Set(names)];
}

/** Options of one evaluation (the parsed flags). */
export interface EvalSettings {
  tasks: string[];
  dataDir: string | null;
  text: string | null;
  limit?: number;
  seed: number;
  batchSize: number;
  scoring: ScoringPath;
  energy: boolean;
  log: RunLog | null;
}

/** Evaluate one model folder on every task; progress on stderr. */
export async function evaluateModel(
  dir: string,
  s: EvalSettings,
): Promise<{ modelType: string; outcomes: TaskOutcome[] }> {
  // A folder with a sequence-classification head (what `snnlm finetune` writes) is scored
  // on GLUE dev with that head; any other model on the zero-shot log-likelihood tasks.
  if (isSequenceClassifier(await readModelConfig(dir))) return evaluateFinetuned(dir, s);
  const stsb = s.tasks.find((t) => t === 'stsb');
  if (stsb) {
    throw new ConfigError(
      `${dir}: task stsb is scored only with a fine-tuned regression head`,
      'fine-tune first: snnlm finetune --task stsb ...',
    );
  }
  const tokenizer = evalTokenizer(await Tokenizer.fromFolder(dir));
  const model = await loadCausalLM(dir);
  const outcomes: TaskOutcome[] = [];
  try {
    for (const name of s.tasks) {
      let bar: ProgressBar | null = null;
      const onProgress = (done: number, total: number) => {
        bar ??= new ProgressBar({ total, everySteps: Math.max(1, Math.round(total / 10)) });
        bar.update(done);
      };
      process.stderr.write(`eval: ${dir} ${name}\n`);
      let outcome: TaskOutcome;
      if (name === 'perplexity') {
        const file = s.text!;
        const run = await perplexityOfFile(model as CausalLM, tokenizer, file, {
          batchSize: s.batchSize,
          limit: s.limit,
          energy: s.energy,
          onProgress,
        });
        outcome = { kind: 'perplexity', task: name, file, run };
      } else {
        const run = await runChoiceTask(model as CausalLM, tokenizer, choiceTask(name), {
          dataDir: s.dataDir!,
          limit: s.limit,
          seed: s.seed,
          batchSize: s.batchSize,
          path: s.scoring,
          energy: s.energy,
          onProgress,
        });
        outcome = { kind: 'choice', run };
      }
      (bar as ProgressBar | null)?.close();
      const r = outcome.run;
      s.log?.write({
        event: 'task_done',
        model: dir,
        task: name,
        time_s: r.time_s,
        tokens: r.tokens,
        ...(outcome.kind === 'choice'
          ? Object.fromEntries(Object.entries(outcome.run.metrics).map(([k, v]) => [k, v.value]))
          : {
              word_perplexity: outcome.run.word_perplexity,
              token_perplexity: outcome.run.token_perplexity,
            }),
        energy_per_example_mj: r.energy?.totals.energy_mj ?? null,
      });
      outcomes.push(outcome);
    }
  } finally {
    model.dispose();
  }
  return { modelType: model.modelType, outcomes };
}

async function readModelConfig(dir: string): Promise<JsonObject> {
  const file = join(dir, CONFIG_FILE);
  const text = await readFile(file, 'utf8').catch(() => {
    throw new ConfigError(`--model ${dir}: no ${CONFIG_FILE} there (is it a model folder?)`);
  });
  try {
    return JSON.parse(text) as JsonObject;
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** Score a fine-tuned classifier folder on the dev split of each (GLUE) task. */
async function evaluateFinetuned(
  dir: string,
  s: EvalSettings,
): Promise<{ modelType: string; outcomes: TaskOutcome[] }> {
  const record = await readFinetuneRecord(dir);
  const wrong = s.tasks.filter((t) => !isGlueTask(t));
  if (wrong.length > 0) {
    throw new ConfigError(
      `${dir} is a fine-tuned classifier (${record.task}); it scores GLUE tasks only, not ${wrong.join(', ')}`,
    );
  }
  const tok = await Tokenizer.fromFolder(dir);
  const model = (await loadPretrained(dir)) as unknown as SequenceClassifier;
  const outcomes: TaskOutcome[] = [];
  try {
    const labels = Number(model.getConfig().num_labels ?? 2);
    for (const name of s.tasks as GlueTask[]) {
      if (GLUE_NUM_LABELS[name] !== labels) {
        throw new ConfigError(
          `${dir}: its head has ${labels} output(s), task ${name} needs ${GLUE_NUM_LABELS[name]}`,
        );
      }
      process.stderr.write(`eval: ${dir} ${name} (fine-tuned head)\n`);
      const r = await scoreGlueDev(model, tok, name, s.dataDir!, {
        maxLength: Number(record.max_length),
        batchSize: Number(record.eval_batch_size),
        limit: s.limit,
        seed: s.seed,
      });
      s.log?.write({
        event: 'task_done',
        model: dir,
        task: name,
        time_s: r.time_s,
        ...Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [k, v.value])),
      });
      outcomes.push({
        kind: 'glue_finetuned',
        run: {
          task: name,
          file: r.file,
          metrics: r.metrics,
          finetune: record,
          n_original: r.n_original,
          n_effective: r.n_effective,
          tokens: r.tokens,
          fed_tokens: r.tokens,
          energy: null,
          time_s: r.time_s,
        },
      });
    }
  } finally {
    model.dispose();
  }
  return { modelType: model.modelType, outcomes };
}

registerCommand('eval', {
  summary:
    'score a model on QA tasks / perplexity (lm-evaluation-harness rules) with energy statistics',
  usage: EVAL_USAGE,
  run: async (args) => {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: 'string' },
        tasks: { type: 'string' },
        'data-dir': { type: 'string' },
        text: { type: 'string' },
        limit: { type: 'string' },
        seed: { type: 'string' },
        'batch-size': { type: 'string' },
        scoring: { type: 'string', default: 'auto' },
        out: { type: 'string' },
        compare: { type: 'string' },
        report: { type: 'string' },
        'no-energy': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        backend: { type: 'string' },
      },
      strict: true,
    });
    if (!values.model) throw new ConfigError('--model is required', EVAL_USAGE);
    const tasks = parseTasks(values.tasks);
    const needsData = tasks.some((t) => t !== 'perplexity');
    const dataDir = values['data-dir'] ?? process.env[DATA_DIR_ENV] ?? null;
    if (needsData && !dataDir) {
      throw new ConfigError(
        `no data folder for ${tasks.filter((t) => t !== 'perplexity').join(', ')}`,
        `pass --data-dir DIR or set ${DATA_DIR_ENV}; the folder holds the official files, e.g. DIR/qa/piqa/valid.jsonl`,
      );
    }
    if (tasks.includes('perplexity') && !values.text) {
      throw new ConfigError('the perplexity task needs --text FILE (a UTF-8 text file)');
    }
    if (!(SCORING_PATHS as readonly string[]).includes(values.scoring!)) {
      throw new ConfigError(
        `--scoring must be one of ${SCORING_PATHS.join(', ')}, got "${values.scoring}"`,
      );
    }
    const info = await initBackend(values.backend);
    const started = Date.now();
    let log: RunLog | null = null;
    if (values.out) {
      await mkdir(dirname(values.out), { recursive: true });
      log = new RunLog(values.out.replace(/\.json$/, '') + '.log.jsonl');
    }
    const settings: EvalSettings = {
      tasks,
      dataDir,
      text: values.text ?? null,
      limit: intFlag(values.limit, 'limit'),
      seed: values.seed === undefined ? SUBSET_SEED : (intFlag(values.seed, 'seed') ?? SUBSET_SEED),
      batchSize: intFlag(values['batch-size'], 'batch-size') ?? 16,
      scoring: values.scoring as ScoringPath,
      energy: !values['no-energy'],
      log,
    };
    try {
      log?.write({
        event: 'start',
        model: values.model,
        compare: values.compare ?? null,
        tasks,
        limit: settings.limit ?? null,
      });
      const main = await evaluateModel(values.model, settings);
      const teacher = values.compare ? await evaluateModel(values.compare, settings) : null;
      const results = buildResults({
        model: values.model,
        modelType: main.modelType,
        outcomes: main.outcomes,
        ...(teacher
          ? {
              teacher: {
                model: values.compare!,
                modelType: teacher.modelType,
                outcomes: teacher.outcomes,
              },
            }
          : {}),
        config: {
          batch_size: settings.batchSize,
          limit: settings.limit ?? null,
          subset_seed: settings.seed,
          scoring_path: settings.scoring,
          backend: info.backend,
          data_dir: dataDir,
        },
        versions: info.versions,
        startedMs: started,
      });
      const json = JSON.stringify(results, null, 2) + '\n';
      if (values.out) await writeFileAtomic(values.out, json);
      if (values.report) {
        await mkdir(dirname(values.report), { recursive: true });
        await writeFileAtomic(values.report, renderReport(results));
      }
      log?.write({ event: 'done', time_s: (Date.now() - started) / 1000 });
      process.stdout.write(values.json ? json : formatTable(results) + '\n');
    } finally {
      log?.close();
    }
    return 0;
  },
});

export const FINETUNE_USAGE =
  'snnlm finetune --model DIR|PRESET --task sst2|mrpc|rte|cola|qnli|stsb --data-dir DIR --out DIR ' +
  '[--tokenizer DIR] [--epochs E] [--lr X] [--batch-size B] [--max-length N] [--seed S] ' +
  '[--time-budget MIN] [--eval-every STEPS] [--train-limit N] [--max-batch-tokens N] ' +
  '[--model-config \'{"classifier_pooling":"mean"}\'] [--teacher DIR] [--temperature T] ' +
  '[--alpha A] [--warmup-ratio R] [--weight-decay W] [--overwrite-output-dir] [--json] ' +
  `[--backend tensorflow|wasm|cpu]   (presets: ${FINETUNE_PRESETS.join(', ')})`;

function numberFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) {
    throw new ConfigError(`--${flag} must be a number, got "${value}"`);
  }
  return n;
}

function jsonObjectFlag(value: string | undefined, flag: string): JsonObject | undefined {
  if (value === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch (e) {
    throw new ConfigError(`--${flag} must be a JSON object: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ConfigError(`--${flag} must be a JSON object, e.g. '{"classifier_pooling":"mean"}'`);
  }
  return v as JsonObject;
}

registerCommand('finetune', {
  summary: 'fine-tune an encoder (bert, we-spikingformer) on a GLUE task; writes a model folder',
  usage: FINETUNE_USAGE,
  run: async (args) => {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: 'string' },
        tokenizer: { type: 'string' },
        task: { type: 'string' },
        'data-dir': { type: 'string' },
        out: { type: 'string' },
        epochs: { type: 'string' },
        lr: { type: 'string' },
        'batch-size': { type: 'string' },
        'max-length': { type: 'string' },
        seed: { type: 'string' },
        'time-budget': { type: 'string' },
        'eval-every': { type: 'string' },
        'train-limit': { type: 'string' },
        'max-batch-tokens': { type: 'string' },
        'model-config': { type: 'string' },
        teacher: { type: 'string' },
        temperature: { type: 'string' },
        alpha: { type: 'string' },
        'warmup-ratio': { type: 'string' },
        'weight-decay': { type: 'string' },
        'overwrite-output-dir': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        backend: { type: 'string' },
      },
      strict: true,
    });
    if (!values.model) throw new ConfigError('--model is required', FINETUNE_USAGE);
    if (!values.task) throw new ConfigError('--task is required', FINETUNE_USAGE);
    if (!values.out) throw new ConfigError('--out is required', FINETUNE_USAGE);
    if (!isGlueTask(values.task)) {
      throw new ConfigError(
        `unknown GLUE task ${JSON.stringify(values.task)}; known: ${GLUE_TASKS.join(', ')}`,
      );
    }
    const dataDir = values['data-dir'] ?? process.env[DATA_DIR_ENV];
    if (!dataDir) {
      throw new ConfigError(
        'no data folder',
        `pass --data-dir DIR or set ${DATA_DIR_ENV}; e.g. DIR/nlu/${values.task}/train.tsv`,
      );
    }
    const seed = values.seed === undefined ? 0 : Number(values.seed);
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new ConfigError(`--seed must be an integer >= 0, got "${values.seed}"`);
    }
    await initBackend(values.backend);
    const r = await finetune({
      model: values.model,
      tokenizer: values.tokenizer,
      task: values.task,
      dataDir,
      out: values.out,
      epochs: intFlag(values.epochs, 'epochs'),
      lr: numberFlag(values.lr, 'lr'),
      batchSize: intFlag(values['batch-size'], 'batch-size'),
      maxLength: intFlag(values['max-length'], 'max-length'),
      seed,
      timeBudgetMin: numberFlag(values['time-budget'], 'time-budget'),
      evalEvery: intFlag(values['eval-every'], 'eval-every'),
      trainLimit: intFlag(values['train-limit'], 'train-limit'),
      maxBatchTokens: intFlag(values['max-batch-tokens'], 'max-batch-tokens'),
      modelConfig: jsonObjectFlag(values['model-config'], 'model-config'),
      teacher: values.teacher,
      temperature: numberFlag(values.temperature, 'temperature'),
      alpha: numberFlag(values.alpha, 'alpha'),
      warmupRatio: numberFlag(values['warmup-ratio'], 'warmup-ratio'),
      weightDecay: numberFlag(values['weight-decay'], 'weight-decay'),
      overwrite: values['overwrite-output-dir'],
    });
    const summary = {
      out: r.out,
      step: r.step,
      total_steps: r.totalSteps,
      epoch: r.epoch,
      stopped: r.stopped,
      best: r.best,
      best_metrics: r.bestMetrics
        ? Object.fromEntries(Object.entries(r.bestMetrics).map(([k, v]) => [k, v.value]))
        : null,
    };
    process.stdout.write(
      values.json
        ? JSON.stringify(summary, null, 2) + '\n'
        : `fine-tuned ${values.task}: ${r.step}/${r.totalSteps} steps (${r.stopped}); best ${
            r.best ? `${r.best.metric} ${r.best.value.toFixed(4)} at step ${r.best.step}` : 'none'
          }; model folder ${r.out}\n`,
    );
    return 0;
  },
});
