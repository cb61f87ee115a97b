// BoolQ (lm-evaluation-harness `boolq`, SuperGLUE validation): yes/no from the passage.
import { readBoolq, resolveDataFile, QA_FILES } from '../../datasets/tasks/index.js';
import type { BoolqDoc } from '../../datasets/tasks/index.js';
import type { MultipleChoiceTask } from './types.js';

export const boolq: MultipleChoiceTask<BoolqDoc> = {
  name: 'boolq',
  version: 2,
  dataset: 'aps/super_glue boolq, validation',
  metrics: ['acc'],
  template: '{{passage}}\nQuestion: {{question}}?\nAnswer:',
  load: async (dir) => ({
    docs: await readBoolq(dir),
    file: await resolveDataFile(dir, QA_FILES.boolq),
  }),
  text: (d) => `${d.passage}\nQuestion: ${d.question}?\nAnswer:`,
  choices: () => ['no', 'yes'],
  gold: (d) => d.label,
};
