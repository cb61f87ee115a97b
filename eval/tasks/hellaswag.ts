// HellaSwag (lm-evaluation-harness `hellaswag`, validation): the ending that continues the
// activity. The harness's `preprocess`: strip, " [title]" -> ". ", drop `[...]` spans,
// collapse double spaces; the query is `activity_label: ctx_a Ctx_b` (ctx_b capitalised).
// NOTE: the bz2 text copy keeps no ctx_a/ctx_b split, so its joined query is used as it is
// (its second half is not capitalised); scores on it are close to, not equal to, the
// harness's on the original JSONL (which is read exactly when present).
import { readHellaswag, resolveDataFile, QA_FILES } from '../../datasets/tasks/index.js';
import type { HellaswagDoc } from '../../datasets/tasks/index.js';
import type { MultipleChoiceTask } from './types.js';

/** The harness's HellaSwag text clean-up. */
export function hellaswagPreprocess(text: string): string {
  return text
    .trim()
    .replaceAll(' [title]', '. ')
    .replace(/\[.*?\]/g, '')
    .replaceAll('  ', ' ');
}

/** Python's `str.capitalize`: first character upper case, the rest lower case. */
export function capitalize(s: string): string {
  return s.length === 0 ? s : s[0].toUpperCase() + s.slice(1).toLowerCase();
}

export const hellaswag: MultipleChoiceTask<HellaswagDoc> = {
  name: 'hellaswag',
  version: 1,
  dataset: 'Rowan/hellaswag, validation',
  metrics: ['acc', 'acc_norm'],
  template: '{{query}} (preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize()))',
  load: async (dir) => ({
    docs: await readHellaswag(dir),
    file: await resolveDataFile(dir, QA_FILES.hellaswag),
  }),
  text: (d) =>
    hellaswagPreprocess(
      d.ctxA !== undefined && d.ctxB !== undefined && d.activityLabel !== undefined
        ? `${d.activityLabel}: ${d.ctxA} ${capitalize(d.ctxB)}`
        : d.query,
    ),
  choices: (d) => d.endings.map(hellaswagPreprocess),
  gold: (d) => d.label,
};
