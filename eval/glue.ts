// GLUE scoring as reported for fine-tuned encoders (conventions.md 2.4, the `glue`
// metric of the evaluate library): CoLA matthews_correlation; SST-2, QNLI, RTE accuracy;
// MRPC accuracy and F1; STS-B pearson and spearmanr. A fine-tuning loop produces
// predictions for a dev split (datasets/tasks readGlue) and calls `scoreGlue`; standard
// errors follow the harness (mean stderr for accuracy, bootstrap for F1 and MCC; the
// correlations are bootstrapped too [P]).
import type { GlueTask } from '../datasets/tasks/index.js';
import { ConfigError } from '../src/errors.js';
import {
  BOOTSTRAP_ITERS,
  bootstrapStderr,
  f1Score,
  matthewsCorrelation,
  mean,
  meanStderr,
  pearson,
  spearman,
} from './metrics.js';
import type { LabelPair } from './metrics.js';
import type { MetricValue } from './runner.js';

/** The metrics reported per GLUE task. */
export const GLUE_METRICS: Readonly<Record<GlueTask, readonly string[]>> = {
  sst2: ['accuracy'],
  mrpc: ['accuracy', 'f1'],
  rte: ['accuracy'],
  cola: ['matthews_correlation'],
  qnli: ['accuracy'],
  stsb: ['pearson', 'spearmanr'],
};

/**
 * Score predictions of a GLUE task against gold labels (class ids, or STS-B scores);
 * `iters` bootstrap resamples for the non-mean metrics.
 */
export function scoreGlue(
  task: GlueTask,
  gold: readonly number[],
  pred: readonly number[],
  iters = BOOTSTRAP_ITERS,
): Record<string, MetricValue> {
  if (gold.length !== pred.length || gold.length === 0) {
    throw new ConfigError(`${task}: ${pred.length} predictions for ${gold.length} gold labels`);
  }
  const pairs: LabelPair[] = gold.map((g, i) => [g, pred[i]]);
  const out: Record<string, MetricValue> = {};
  for (const m of GLUE_METRICS[task]) {
    switch (m) {
      case 'accuracy': {
        const hits = pairs.map(([g, p]) => (g === p ? 1 : 0));
        out[m] = { value: mean(hits), stderr: meanStderr(hits) };
        break;
      }
      case 'f1':
        out[m] = { value: f1Score(pairs), stderr: bootstrapStderr(f1Score, pairs, iters) };
        break;
      case 'matthews_correlation':
        out[m] = {
          value: matthewsCorrelation(pairs),
          stderr: bootstrapStderr(matthewsCorrelation, pairs, iters),
        };
        break;
      case 'pearson':
      case 'spearmanr': {
        const f = m === 'pearson' ? pearson : spearman;
        const corr = (ps: readonly LabelPair[]) =>
          f(
            ps.map((p) => p[0]),
            ps.map((p) => p[1]),
          );
        out[m] = { value: corr(pairs), stderr: bootstrapStderr(corr, pairs, iters) };
        break;
      }
    }
  }
  return out;
}
