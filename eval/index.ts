// Public surface of eval/: metrics, harness tokenisation rules, scoring paths, the task
// table and runner, perplexity, the results layout and the HTML report.
export * from './metrics.js';
export { encodePair, evalTokenizer, truncateRequest, TRUNCATION_RULE } from './requests.js';
export type { EvalTokenizer, LoglikelihoodRequest, TokenizedRequest } from './requests.js';
export { resolvePath, scoreRequests, SCORING_PATHS } from './score.js';
export type { ScoreOptions, ScoreResult, ScoringPath } from './score.js';
export { runChoiceTask, scoreChoiceDocs } from './runner.js';
export type {
  ChoiceRun,
  MetricValue,
  RunOptions,
  RunTaskOptions,
  ScoredDoc,
  TaskRun,
} from './runner.js';
export { perplexity, perplexityOfFile, rollingWindows, ROLLING_WINDOW_RULE } from './perplexity.js';
export type { PerplexityOptions, PerplexityRun } from './perplexity.js';
export { buildResults, formatTable, spikeSummary, taskMetrics } from './results.js';
export type { ResultsInput, SpikeSummary, TaskOutcome } from './results.js';
export { barChart, escapeHtml, lineChart, renderReport } from './report.js';
export { GLUE_METRICS, scoreGlue } from './glue.js';
export * from './tasks/index.js';
