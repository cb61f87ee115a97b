// OpenBookQA (lm-evaluation-harness `openbookqa`, main): the question stem alone as prompt.
import { readOpenbookqa, resolveDataFile, QA_FILES } from '../../datasets/tasks/index.js';
import type { ChoiceQuestionDoc } from '../../datasets/tasks/index.js';
import type { MultipleChoiceTask } from './types.js';

export const openbookqa: MultipleChoiceTask<ChoiceQuestionDoc> = {
  name: 'openbookqa',
  version: 1,
  dataset: 'allenai/openbookqa main, test (dev when test is absent)',
  metrics: ['acc', 'acc_norm'],
  template: '{{question_stem}}',
  load: async (dir) => ({
    docs: await readOpenbookqa(dir),
    file: await resolveDataFile(dir, QA_FILES.openbookqa),
  }),
  text: (d) => d.question,
  choices: (d) => d.choices.map((c) => c.text),
  gold: (d) => d.label,
};
