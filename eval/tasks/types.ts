// What a multiple-choice task definition says (lm-evaluation-harness's task YAML fields,
// conventions.md 2.2): how to load its documents, the prompt (`doc_to_text`), the choices
// (`doc_to_choice`) and the gold index (`doc_to_target`), its metrics and version.
// `partial` tasks (WinoGrande) put the choices into the CONTEXT and score one shared
// continuation under each.
import type { LoglikelihoodRequest } from '../requests.js';

/** Metrics of a multiple-choice task (`f1`, `mcc`: corpus-level over argmax predictions). */
export type ChoiceMetric = 'acc' | 'acc_norm' | 'f1' | 'mcc';

/** A loaded split: documents and the file they came from. */
export interface LoadedDocs<D> {
  docs: D[];
  file: string;
}

/** One multiple-choice task. */
export interface MultipleChoiceTask<D = unknown> {
  name: string;
  /** The task's version in the harness (results `versions`). */
  version: number;
  /** Where the data comes from, in the harness's terms (`dataset_path`, split). */
  dataset: string;
  metrics: readonly ChoiceMetric[];
  /** The `doc_to_text` template as the harness writes it (results `configs`). */
  template: string;
  /** Load the split from the data folder. */
  load(dataDir: string): Promise<LoadedDocs<D>>;
  /** The prompt of a document (for `partial` tasks: unused, see `requests`). */
  text(doc: D): string;
  /** The choice strings (scored by `acc_norm` length). */
  choices(doc: D): string[];
  /** Index of the right choice. */
  gold(doc: D): number;
  /** Partial scoring: the contexts are the choices, the continuation is shared. */
  partial?: { continuation(doc: D): string };
}

/** The harness's default `target_delimiter` between prompt and answer. */
export const TARGET_DELIMITER = ' ';

/** The requests of one document: one per choice. */
export function documentRequests<D>(task: MultipleChoiceTask<D>, doc: D): LoglikelihoodRequest[] {
  if (task.partial) {
    const continuation = TARGET_DELIMITER + task.partial.continuation(doc);
    return task.choices(doc).map((context) => ({ context, continuation }));
  }
  const context = task.text(doc);
  return task.choices(doc).map((c) => ({ context, continuation: TARGET_DELIMITER + c }));
}
