// ARC-Easy and ARC-Challenge (lm-evaluation-harness `arc_easy`, `arc_challenge`). The
// harness scores the test split; when only the dev split is present it is used and the
// results record which file was read.
import { readArc, resolveDataFile, QA_FILES } from '../../datasets/tasks/index.js';
import type { ChoiceQuestionDoc } from '../../datasets/tasks/index.js';
import type { MultipleChoiceTask } from './types.js';

function arcTask(
  name: 'arc_easy' | 'arc_challenge',
  config: string,
): MultipleChoiceTask<ChoiceQuestionDoc> {
  return {
    name,
    version: 1,
    dataset: `allenai/ai2_arc ${config}, test (dev when test is absent)`,
    metrics: ['acc', 'acc_norm'],
    template: 'Question: {{question}}\nAnswer:',
    load: async (dir) => ({
      docs: await readArc(dir, name),
      file: await resolveDataFile(dir, QA_FILES[name]),
    }),
    text: (d) => `Question: ${d.question}\nAnswer:`,
    choices: (d) => d.choices.map((c) => c.text),
    gold: (d) => d.label,
  };
}

export const arcEasy = arcTask('arc_easy', 'ARC-Easy');
export const arcChallenge = arcTask('arc_challenge', 'ARC-Challenge');
