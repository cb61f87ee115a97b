// WinoGrande (lm-evaluation-harness `winogrande`, winogrande_xl validation) with partial
// evaluation: each option fills the blank in the CONTEXT (`sentence[:blank] + option`),
// the text after the blank is the shared continuation, and the context under which the
// continuation is more likely wins.
import { readWinogrande, resolveDataFile, QA_FILES } from '../../datasets/tasks/index.js';
import type { WinograndeDoc } from '../../datasets/tasks/index.js';
import type { MultipleChoiceTask } from './types.js';

export const winogrande: MultipleChoiceTask<WinograndeDoc> = {
  name: 'winogrande',
  version: 1,
  dataset: 'allenai/winogrande winogrande_xl, validation',
  metrics: ['acc'],
  template:
    'partial evaluation: contexts sentence[:blank] + option, continuation sentence[blank+1:].strip()',
  load: async (dir) => ({
    docs: await readWinogrande(dir),
    file: await resolveDataFile(dir, QA_FILES.winogrande),
  }),
  text: (d) => d.sentence,
  choices: (d) => {
    const blank = d.sentence.indexOf('_');
    return [d.option1, d.option2].map((o) => d.sentence.slice(0, blank) + o);
  },
  gold: (d) => d.label,
  partial: { continuation: (d) => d.sentence.slice(d.sentence.indexOf('_') + 1).trim() },
};
