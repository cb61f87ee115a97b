// PIQA (lm-evaluation-harness `piqa`, validation): which of two solutions reaches the goal.
import { readPiqa, resolveDataFile, QA_FILES } from '../../datasets/tasks/index.js';
import type { PiqaDoc } from '../../datasets/tasks/index.js';
import type { MultipleChoiceTask } from './types.js';

export const piqa: MultipleChoiceTask<PiqaDoc> = {
  name: 'piqa',
  version: 1,
  dataset: 'baber/piqa, validation',
  metrics: ['acc', 'acc_norm'],
  template: 'Question: {{goal}}\nAnswer:',
  load: async (dir) => ({
    docs: await readPiqa(dir),
    file: await resolveDataFile(dir, QA_FILES.piqa),
  }),
  text: (d) => `Question: ${d.goal}\nAnswer:`,
  choices: (d) => [d.sol1, d.sol2],
  gold: (d) => d.label,
};
