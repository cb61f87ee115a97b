// Readers of the GLUE sets in the files of the GLUE download (tab-separated, no
// quoting: a `"` is literal text) and the converted RTE JSONL of the data MANIFEST.
// Every reader returns `{ sentence1, sentence2?, label }` with GLUE's label ids
// (STS-B: a float score in [0, 5]); test files without labels are refused.
import { FormatError } from '../../src/errors.js';
import type { DataFileSpec, NumberedLine } from './files.js';
import { readDataLines, readJsonlRecords, resolveDataFile } from './files.js';

/** GLUE tasks we read. */
export const GLUE_TASKS = ['sst2', 'mrpc', 'rte', 'cola', 'qnli', 'stsb'] as const;
export type GlueTask = (typeof GLUE_TASKS)[number];
export type GlueSplit = 'train' | 'dev';

/** One GLUE example. */
export interface GlueDoc {
  sentence1: string;
  /** The second sentence of pair tasks (MRPC, RTE, QNLI, STS-B). */
  sentence2?: string;
  /** Class id (SST-2/CoLA 1 = positive/acceptable, MRPC 1 = paraphrase, RTE/QNLI 0 = entailment), STS-B score. */
  label: number;
}

const GLUE_SOURCE = 'the GLUE data (https://gluebenchmark.com/tasks, download_glue_data.py)';

/** Where each task's split lives (relative to the data folder). */
export function glueFile(task: GlueTask, split: GlueSplit): DataFileSpec {
  const base = `nlu/${task}/${split}`;
  const paths = task === 'rte' ? [`${base}.tsv`, `${base}.jsonl`] : [`${base}.tsv`];
  return { paths, what: `GLUE ${task.toUpperCase()} ${split}`, source: GLUE_SOURCE };
}

/** Columns of a header line, checked to include `needed`. */
function header(file: string, line: NumberedLine, needed: readonly string[]): Map<string, number> {
  const cols = new Map(line.text.split('\t').map((c, i) => [c.trim(), i] as const));
  const missing = needed.filter((c) => !cols.has(c));
  if (missing.length > 0) {
    throw new FormatError(
      file,
      `line ${line.line}: header lacks column(s) ${missing.join(', ')} (has ${[...cols.keys()].join(', ')})`,
      'is this a labelled train/dev file? GLUE test files carry no labels',
    );
  }
  return cols;
}

function cells(file: string, line: NumberedLine, count: number): string[] {
  const c = line.text.split('\t');
  if (c.length < count) {
    throw new FormatError(
      file,
      `line ${line.line}: expected ${count} tab-separated columns, got ${c.length}`,
    );
  }
  return c;
}

function classLabel(file: string, line: number, text: string, names: readonly string[]): number {
  const t = text.trim();
  const byName = names.indexOf(t);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(t) && Number(t) < names.length) return Number(t);
  throw new FormatError(
    file,
    `line ${line}: label must be one of ${names.join(', ')} (or 0..${names.length - 1}), got "${t}"`,
  );
}

/** Read a labelled split of a GLUE task. */
export async function readGlue(
  dataDir: string,
  task: GlueTask,
  split: GlueSplit,
): Promise<GlueDoc[]> {
  const file = await resolveDataFile(dataDir, glueFile(task, split));
  if (task === 'rte' && file.endsWith('.jsonl')) {
    return (await readJsonlRecords(file)).map((r) => {
      const label = r.integer('label');
      if (label !== 0 && label !== 1) r.fail(`label must be 0 or 1, got ${label}`);
      return { sentence1: r.string('sentence1'), sentence2: r.string('sentence2'), label };
    });
  }
  const lines = (await readDataLines(file)).filter((l) => l.text.trim() !== '');
  if (task === 'cola') {
    // No header: source, label, original mark, sentence.
    return lines.map((l) => {
      const c = cells(file, l, 4);
      return { sentence1: c[3], label: classLabel(file, l.line, c[1], ['0', '1']) };
    });
  }
  if (lines.length === 0) throw new FormatError(file, 'is empty');
  const [head, ...rows] = lines;
  const pick = (needed: string[]) => {
    const cols = header(file, head, needed);
    const width = Math.max(...needed.map((n) => cols.get(n)!)) + 1;
    return rows.map((l) => {
      const c = cells(file, l, width);
      return { line: l.line, get: (name: string) => c[cols.get(name)!] };
    });
  };
  switch (task) {
    case 'sst2':
      return pick(['sentence', 'label']).map((r) => ({
        sentence1: r.get('sentence'),
        label: classLabel(file, r.line, r.get('label'), ['0', '1']),
      }));
    case 'mrpc':
      return pick(['Quality', '#1 String', '#2 String']).map((r) => ({
        sentence1: r.get('#1 String'),
        sentence2: r.get('#2 String'),
        label: classLabel(file, r.line, r.get('Quality'), ['0', '1']),
      }));
    case 'rte':
      return pick(['sentence1', 'sentence2', 'label']).map((r) => ({
        sentence1: r.get('sentence1'),
        sentence2: r.get('sentence2'),
        label: classLabel(file, r.line, r.get('label'), ['entailment', 'not_entailment']),
      }));
    case 'qnli':
      return pick(['question', 'sentence', 'label']).map((r) => ({
        sentence1: r.get('question'),
        sentence2: r.get('sentence'),
        label: classLabel(file, r.line, r.get('label'), ['entailment', 'not_entailment']),
      }));
    case 'stsb':
      return pick(['sentence1', 'sentence2', 'score']).map((r) => {
        const s = r.get('score').trim();
        const score = s === '' ? NaN : Number(s);
        if (!Number.isFinite(score) || score < 0 || score > 5) {
          throw new FormatError(
            file,
            `line ${r.line}: score must be a number in [0, 5], got "${s}"`,
          );
        }
        return { sentence1: r.get('sentence1'), sentence2: r.get('sentence2'), label: score };
      });
  }
}
