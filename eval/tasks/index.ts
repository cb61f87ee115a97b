// The task table: name -> definition. Multiple-choice tasks score with the shared runner;
// `perplexity` is a text-file task (eval/perplexity.ts).
import { ConfigError } from '../../src/errors.js';
import { arcChallenge, arcEasy } from './arc.js';
import { boolq } from './boolq.js';
import { hellaswag } from './hellaswag.js';
import { openbookqa } from './openbookqa.js';
import { piqa } from './piqa.js';
import { cola, mrpc, qnli, rte, sst2 } from './glue.js';
import type { MultipleChoiceTask } from './types.js';
import { winogrande } from './winogrande.js';

export { TARGET_DELIMITER, documentRequests } from './types.js';
export type { ChoiceMetric, LoadedDocs, MultipleChoiceTask } from './types.js';
export { capitalize, hellaswagPreprocess } from './hellaswag.js';

/** Every multiple-choice task by name. */
export const CHOICE_TASKS: Readonly<Record<string, MultipleChoiceTask<unknown>>> = {
  boolq,
  piqa,
  arc_easy: arcEasy,
  arc_challenge: arcChallenge,
  hellaswag,
  winogrande,
  openbookqa,
  sst2,
  mrpc,
  rte,
  cola,
  qnli,
} as unknown as Record<string, MultipleChoiceTask<unknown>>;

/** The seven QA tasks in the usual reporting order (`--tasks qa`). */
export const QA_TASK_NAMES = [
  'boolq',
  'piqa',
  'arc_easy',
  'arc_challenge',
  'hellaswag',
  'winogrande',
  'openbookqa',
];

/** The zero-shot GLUE tasks (`--tasks glue`). */
export const GLUE_CHOICE_TASK_NAMES = ['sst2', 'mrpc', 'rte', 'cola', 'qnli'];

/** A task by name, or a ConfigError listing the known ones. */
export function choiceTask(name: string): MultipleChoiceTask<unknown> {
  if (!Object.hasOwn(CHOICE_TASKS, name)) {
    throw new ConfigError(
      `unknown task ${JSON.stringify(name)}; known: ${[...Object.keys(CHOICE_TASKS), 'perplexity'].join(', ')} (groups: qa, glue)`,
    );
  }
  return CHOICE_TASKS[name];
}
