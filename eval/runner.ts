// The shared runner of multiple-choice tasks: documents -> (context, continuation)
// requests -> tokens (harness rules, requests.ts) -> log-likelihoods (score.ts) ->
// per-document acc / acc_norm -> means with standard errors; and, when asked, the
// energy count (firing rates, synaptic ops, ACs/MACs, energy) of the scoring passes.
import { EnergyCounter, withRecorder } from '../src/energy/index.js';
import type { EnergyConfig, EnergyReport } from '../src/energy/index.js';
import type { CausalLM } from '../src/generate/types.js';
import { takeSubset } from '../datasets/tasks/index.js';
import {
  accItem,
  accNormItem,
  argmax,
  bootstrapStderr,
  BOOTSTRAP_ITERS,
  f1Score,
  matthewsCorrelation,
  mean,
  meanStderr,
} from './metrics.js';
import type { LabelPair } from './metrics.js';
import { encodePair } from './requests.js';
import type { EvalTokenizer, TokenizedRequest } from './requests.js';
import { resolvePath, scoreRequests } from './score.js';
import type { ScoringPath } from './score.js';
import { documentRequests } from './tasks/index.js';
import type { ChoiceMetric, MultipleChoiceTask } from './tasks/index.js';

/** A metric's value and standard error (NaN when it cannot be computed). */
export interface MetricValue {
  value: number;
  stderr: number;
}

/** One scored document (the harness's logged sample, in brief). */
export interface ScoredDoc {
  doc_id: number;
  target: number;
  loglikelihoods: number[];
  is_greedy: boolean[];
  acc: number;
  acc_norm?: number;
}

/** Options of the runner. */
export interface RunOptions {
  /** Rows per forward pass. @default 16 */
  batchSize?: number;
  /** @default 'auto' */
  path?: ScoringPath;
  /** Count energy while scoring (and report it per document). @default false */
  energy?: boolean;
  /** Energy convention overrides. */
  energyConfig?: Partial<EnergyConfig>;
  /** Bootstrap resamples of the F1 / MCC standard errors. @default 100000 */
  bootstrapIters?: number;
  /** Called with (requests done, requests in all). */
  onProgress?: (done: number, total: number) => void;
}

/** What scoring a task's documents gives. */
export interface ChoiceRun {
  metrics: Partial<Record<ChoiceMetric, MetricValue>>;
  samples: ScoredDoc[];
  /** Per-document energy report (null when not counted). */
  energy: EnergyReport | null;
  /** The scoring path taken. */
  path: Exclude<ScoringPath, 'auto'>;
  requests: number;
  /** Tokens in the scored sequences (context + continuation, before truncation). */
  tokens: number;
  /** Token positions the model was fed (after truncation; padding and shared prefixes as run). */
  fed_tokens: number;
  time_s: number;
}

/** Score `docs` of `task` with `model` (synchronous tensor work; see `runChoiceTask`). */
export function scoreChoiceDocs<D>(
  model: CausalLM,
  tok: EvalTokenizer,
  task: MultipleChoiceTask<D>,
  docs: readonly D[],
  options: RunOptions = {},
): ChoiceRun {
  const t0 = performance.now();
  const perDoc = docs.map((d) => documentRequests(task, d));
  const requests: TokenizedRequest[] = perDoc.flat().map((r) => encodePair(tok, r));
  const tokens = requests.reduce((s, r) => s + r.contextIds.length + r.continuationIds.length, 0);
  const path = resolvePath(model, options.path);
  const stats = { fedTokens: 0 };
  const score = () =>
    scoreRequests(model, requests, {
      batchSize: options.batchSize,
      path,
      stats,
      onProgress: (n) => options.onProgress?.(n, requests.length),
    });
  let energy: EnergyReport | null = null;
  let results;
  if (options.energy && docs.length > 0) {
    const counter = new EnergyCounter();
    results = withRecorder(counter, score);
    counter.addExamples(docs.length);
    energy = counter.report(options.energyConfig ?? {});
  } else {
    results = score();
  }
  const samples: ScoredDoc[] = [];
  let k = 0;
  docs.forEach((doc, i) => {
    const n = perDoc[i].length;
    const lls = results.slice(k, k + n).map((r) => r.ll);
    const greedy = results.slice(k, k + n).map((r) => r.greedy);
    k += n;
    const gold = task.gold(doc);
    const s: ScoredDoc = {
      doc_id: i,
      target: gold,
      loglikelihoods: lls,
      is_greedy: greedy,
      acc: accItem(lls, gold),
    };
    if (task.metrics.includes('acc_norm')) s.acc_norm = accNormItem(lls, task.choices(doc), gold);
    samples.push(s);
  });
  const metrics: Partial<Record<ChoiceMetric, MetricValue>> = {};
  const iters = options.bootstrapIters ?? BOOTSTRAP_ITERS;
  for (const m of task.metrics) {
    if (m === 'f1' || m === 'mcc') {
      // Corpus metrics over (gold, argmax) pairs; bootstrap stderr as the harness does.
      const pairs: LabelPair[] = samples.map((s) => [s.target, argmax(s.loglikelihoods)]);
      const f = m === 'f1' ? f1Score : matthewsCorrelation;
      metrics[m] = { value: f(pairs), stderr: bootstrapStderr(f, pairs, iters) };
      continue;
    }
    const xs = samples.map((s) => (m === 'acc' ? s.acc : s.acc_norm!));
    metrics[m] = { value: mean(xs), stderr: meanStderr(xs) };
  }
  return {
    metrics,
    samples,
    energy,
    path,
    requests: requests.length,
    tokens,
    fed_tokens: stats.fedTokens,
    time_s: (performance.now() - t0) / 1000,
  };
}

/** Options of `runChoiceTask`. */
export interface RunTaskOptions extends RunOptions {
  /** Folder with the official file layouts (qa/, nlu/, lm/). */
  dataDir: string;
  /** Score a seeded subset of this many documents. */
  limit?: number;
  /** Seed of the subset. @default 1234 */
  seed?: number;
}

/** A task run with where its data came from. */
export interface TaskRun extends ChoiceRun {
  task: string;
  file: string;
  n_original: number;
  n_effective: number;
}

/** Load a task's documents (a seeded subset with `limit`) and score them. */
export async function runChoiceTask<D>(
  model: CausalLM,
  tok: EvalTokenizer,
  task: MultipleChoiceTask<D>,
  options: RunTaskOptions,
): Promise<TaskRun> {
  const { docs, file } = await task.load(options.dataDir);
  const subset = takeSubset(docs, options.limit, options.seed);
  const run = scoreChoiceDocs(model, tok, task, subset.docs, options);
  run.samples.forEach((s, i) => (s.doc_id = subset.indices[i]));
  return {
    task: task.name,
    file,
    n_original: docs.length,
    n_effective: subset.docs.length,
    ...run,
  };
}
