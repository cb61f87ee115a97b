// The results file in lm-evaluation-harness's layout (conventions.md 2.3): `results`
// with `"<metric>,none"` and `"<metric>_stderr,none"` keys, `configs`, `versions`,
// `n-shot`, `higher_is_better`, `n-samples`, `config`, `date` — plus, per task, the
// spike statistics of the scoring passes (`energy`) and, with a teacher to compare,
// the teacher's metrics and statistics (`compare`). Also the printed table.
import type { EnergyReport } from '../src/energy/index.js';
import type { PerplexityRun } from './perplexity.js';
import type { MetricValue, TaskRun } from './runner.js';
import { TRUNCATION_RULE } from './requests.js';
import { choiceTask, TARGET_DELIMITER } from './tasks/index.js';

/** Spike and energy statistics of one model on one task, per example (document or window). */
export interface SpikeSummary {
  examples: number;
  scoring_path: string;
  tokens_per_example: number;
  /** Token positions fed to the model per example (padding and prefix sharing as run). */
  fed_tokens_per_example: number;
  /** Energy per fed token position (mJ): comparable across scoring paths. */
  energy_per_fed_token_mj: number;
  /** Σ events / Σ slots over every spiking input (null for a model without spikes). */
  firing_rate: number | null;
  firing_rate_per_layer: { layer: string; kind: string; encoding: string; firing_rate: number }[];
  sops_per_example: number;
  acs_per_example: number;
  macs_per_example: number;
  ann_macs_per_example: number;
  energy_per_example_mj: number;
  ann_energy_per_example_mj: number;
  snn_ann_ratio: number | null;
  /** `e_mac_pj`, `e_ac_pj` and the counting rules used. */
  convention: EnergyReport['convention'];
}

/** Summarise a per-example energy report. */
export function spikeSummary(
  report: EnergyReport,
  path: string,
  tokens: number,
  fedTokens: number,
): SpikeSummary {
  const t = report.totals;
  const per = (x: number) => (report.examples > 0 ? x / report.examples : x);
  return {
    examples: report.examples,
    scoring_path: path,
    tokens_per_example: per(tokens),
    fed_tokens_per_example: per(fedTokens),
    energy_per_fed_token_mj: fedTokens > 0 ? t.energy_mj / per(fedTokens) : 0,
    firing_rate: t.firing_rate,
    firing_rate_per_layer: report.layers.map((l) => ({
      layer: l.layer,
      kind: l.kind,
      encoding: l.encoding,
      firing_rate: l.firing_rate,
    })),
    sops_per_example: t.sops,
    acs_per_example: t.acs,
    macs_per_example: t.macs,
    ann_macs_per_example: t.ann_macs,
    energy_per_example_mj: t.energy_mj,
    ann_energy_per_example_mj: t.ann_energy_mj,
    snn_ann_ratio: t.snn_ann_ratio,
    convention: report.convention,
  };
}

/** One model's outcome on one task. */
export type TaskOutcome =
  | { kind: 'choice'; run: TaskRun }
  | { kind: 'perplexity'; task: string; file: string; run: PerplexityRun }
  | { kind: 'glue_finetuned'; run: FinetunedGlueRun };

/** A GLUE dev split scored with a fine-tuned classifier head (eval/finetune-data.ts). */
export interface FinetunedGlueRun {
  task: string;
  file: string;
  metrics: Record<string, MetricValue>;
  /** The fine-tuning record of the folder (`finetune_config.json`). */
  finetune: Json;
  n_original: number;
  n_effective: number;
  tokens: number;
  fed_tokens: number;
  energy: EnergyReport | null;
  time_s: number;
}

/** What the results file is built from. */
export interface ResultsInput {
  model: string;
  modelType: string;
  outcomes: TaskOutcome[];
  teacher?: { model: string; modelType: string; outcomes: TaskOutcome[] };
  config: {
    batch_size: number;
    limit: number | null;
    subset_seed: number;
    scoring_path: string;
    backend: string;
    data_dir: string | null;
  };
  versions: Record<string, string>;
  startedMs: number;
}

type Json = Record<string, unknown>;

const stderrValue = (m: MetricValue): number | 'N/A' =>
  Number.isFinite(m.stderr) ? m.stderr : 'N/A';

/** The harness's per-task metrics block. */
export function taskMetrics(o: TaskOutcome): Json {
  if (o.kind === 'choice' || o.kind === 'glue_finetuned') {
    const out: Json = { alias: o.run.task };
    for (const [name, m] of Object.entries(o.run.metrics)) {
      out[`${name},none`] = m.value;
      out[`${name}_stderr,none`] = stderrValue(m);
    }
    return out;
  }
  const r = o.run;
  return {
    alias: o.task,
    'word_perplexity,none': r.word_perplexity,
    'word_perplexity_stderr,none': 'N/A',
    'byte_perplexity,none': r.byte_perplexity,
    'byte_perplexity_stderr,none': 'N/A',
    'bits_per_byte,none': r.bits_per_byte,
    'bits_per_byte_stderr,none': 'N/A',
    'token_perplexity,none': r.token_perplexity,
    'token_perplexity_stderr,none': 'N/A',
  };
}

function taskName(o: TaskOutcome): string {
  return o.kind === 'perplexity' ? o.task : o.run.task;
}

function taskConfig(o: TaskOutcome): Json {
  if (o.kind === 'glue_finetuned') {
    return {
      task: o.run.task,
      dataset: `nyu-mll/glue ${o.run.task}, validation`,
      data_file: o.run.file,
      output_type: 'fine_tuned_classifier',
      num_fewshot: 0,
      finetune: o.run.finetune,
      metric_list: Object.keys(o.run.metrics).map((m) => ({ metric: m, higher_is_better: true })),
    };
  }
  if (o.kind === 'perplexity') {
    return {
      task: o.task,
      output_type: 'loglikelihood_rolling',
      data_file: o.file,
      num_fewshot: 0,
      rolling_window_rule: o.run.rule,
      window_tokens: o.run.window_tokens,
      metric_list: ['word_perplexity', 'byte_perplexity', 'bits_per_byte', 'token_perplexity'].map(
        (m) => ({
          metric: m,
        }),
      ),
    };
  }
  const t = choiceTask(o.run.task);
  return {
    task: t.name,
    dataset: t.dataset,
    data_file: o.run.file,
    output_type: 'multiple_choice',
    doc_to_text: t.template,
    num_fewshot: 0,
    target_delimiter: TARGET_DELIMITER,
    fewshot_delimiter: '\n\n',
    truncation: TRUNCATION_RULE,
    metric_list: t.metrics.map((m) => ({
      metric: m,
      aggregation: m === 'f1' || m === 'mcc' ? m : 'mean',
      higher_is_better: true,
    })),
    ...(t.partial ? { partial_evaluation: true } : {}),
  };
}

function summaries(outcomes: TaskOutcome[]): Record<string, SpikeSummary | null> {
  return Object.fromEntries(
    outcomes.map((o) => {
      const r = o.run;
      const path = o.kind === 'choice' ? o.run.path : 'batched';
      if (o.kind === 'glue_finetuned') {
        const e = o.run.energy;
        return [taskName(o), e ? spikeSummary(e, path, o.run.tokens, o.run.fed_tokens) : null];
      }
      return [taskName(o), r.energy ? spikeSummary(r.energy, path, r.tokens, r.fed_tokens) : null];
    }),
  );
}

/** Build the results JSON object. */
export function buildResults(input: ResultsInput): Json {
  const names = input.outcomes.map(taskName);
  const byName = <T>(f: (o: TaskOutcome) => T) =>
    Object.fromEntries(input.outcomes.map((o) => [taskName(o), f(o)]));
  const modelEnergy = summaries(input.outcomes);
  const teacherEnergy = input.teacher ? summaries(input.teacher.outcomes) : null;
  const out: Json = {
    results: byName(taskMetrics),
    group_subtasks: Object.fromEntries(names.map((n) => [n, []])),
    configs: byName(taskConfig),
    versions: byName((o) => (o.kind === 'choice' ? choiceTask(o.run.task).version : 1)),
    'n-shot': Object.fromEntries(names.map((n) => [n, 0])),
    higher_is_better: byName((o) =>
      o.kind !== 'perplexity'
        ? Object.fromEntries(Object.keys(o.run.metrics).map((m) => [m, true]))
        : {
            word_perplexity: false,
            byte_perplexity: false,
            bits_per_byte: false,
            token_perplexity: false,
          },
    ),
    'n-samples': byName((o) =>
      o.kind !== 'perplexity'
        ? { original: o.run.n_original, effective: o.run.n_effective }
        : { original: o.run.windows, effective: o.run.windows },
    ),
    config: {
      model: 'snnlm',
      model_args: `pretrained=${input.model}`,
      model_type: input.modelType,
      batch_size: input.config.batch_size,
      device: null,
      limit: input.config.limit,
      bootstrap_iters: 100000,
      gen_kwargs: null,
      random_seed: 0,
      numpy_seed: 1234,
      torch_seed: 1234,
      fewshot_seed: 1234,
      subset_seed: input.config.subset_seed,
      scoring_path: input.config.scoring_path,
      backend: input.config.backend,
      data_dir: input.config.data_dir,
    },
    versions_snnlm: input.versions,
    date: input.startedMs / 1000,
    total_evaluation_time_seconds: String((Date.now() - input.startedMs) / 1000),
    energy: Object.fromEntries(
      names.map((n) => [
        n,
        { model: modelEnergy[n], ...(teacherEnergy ? { teacher: teacherEnergy[n] ?? null } : {}) },
      ]),
    ),
  };
  if (input.teacher) {
    const t = input.teacher;
    out.compare = {
      model: t.model,
      model_type: t.modelType,
      results: Object.fromEntries(t.outcomes.map((o) => [taskName(o), taskMetrics(o)])),
      'n-samples': Object.fromEntries(
        t.outcomes.map((o) => [
          taskName(o),
          o.kind !== 'perplexity'
            ? { original: o.run.n_original, effective: o.run.n_effective }
            : { original: o.run.windows },
        ]),
      ),
    };
  }
  return out;
}

function fmt(x: unknown, digits = 4): string {
  if (typeof x !== 'number') return String(x ?? '');
  if (!Number.isFinite(x)) return String(x);
  return x.toFixed(digits);
}

function energyCell(s: SpikeSummary | null | undefined): string {
  return s ? s.energy_per_example_mj.toExponential(3) : '';
}

/** A Markdown table like the harness prints, with teacher and energy columns. */
export function formatTable(results: Json): string {
  const res = results.results as Record<string, Json>;
  const cmp = (results.compare as { results: Record<string, Json> } | undefined)?.results;
  const energy = results.energy as Record<
    string,
    { model: SpikeSummary | null; teacher?: SpikeSummary | null }
  >;
  const versions = results.versions as Record<string, number>;
  const head = ['Tasks', 'Version', 'n-shot', 'Metric', 'Value', '± Stderr'];
  if (cmp) head.push('Teacher', '± Stderr');
  head.push('mJ/example');
  if (cmp) head.push('Teacher mJ/example');
  const rows: string[][] = [];
  for (const [task, metrics] of Object.entries(res)) {
    let first = true;
    for (const key of Object.keys(metrics)) {
      if (!key.endsWith(',none') || key.includes('_stderr,')) continue;
      const m = key.slice(0, -',none'.length);
      const row = [first ? task : '', first ? String(versions[task]) : '', first ? '0' : '', m];
      row.push(fmt(metrics[key]), fmt(metrics[`${m}_stderr,none`]));
      if (cmp) row.push(fmt(cmp[task]?.[key]), fmt(cmp[task]?.[`${m}_stderr,none`]));
      row.push(first ? energyCell(energy[task]?.model) : '');
      if (cmp) row.push(first ? energyCell(energy[task]?.teacher) : '');
      rows.push(row);
      first = false;
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `|${cells.map((c, i) => c.padEnd(widths[i])).join('|')}|`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w)).join('|')}|`, ...rows.map(line)].join(
    '\n',
  );
}
