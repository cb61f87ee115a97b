// Zero-shot GLUE for causal LMs as lm-evaluation-harness defines it (conventions.md 2.2):
// `sst2`, `mrpc`, `rte`, `cola`, `qnli` as multiple choice over the dev (validation)
// files. Choice order is chosen so the choice index equals the GLUE label id. STS-B has
// no such task in the harness (regression); it is scored by fine-tuning (eval/glue.ts).
import { glueFile, readGlue, resolveDataFile } from '../../datasets/tasks/index.js';
import type { GlueDoc, GlueTask } from '../../datasets/tasks/index.js';
import type { ChoiceMetric, MultipleChoiceTask } from './types.js';

function glueTask(
  name: Exclude<GlueTask, 'stsb'>,
  template: string,
  text: (d: GlueDoc) => string,
  choices: string[],
  metrics: ChoiceMetric[],
): MultipleChoiceTask<GlueDoc> {
  return {
    name,
    version: 1,
    dataset: `nyu-mll/glue ${name}, validation`,
    metrics,
    template,
    load: async (dir) => ({
      docs: await readGlue(dir, name, 'dev'),
      file: await resolveDataFile(dir, glueFile(name, 'dev')),
    }),
    text,
    choices: () => choices,
    gold: (d) => d.label,
  };
}

export const sst2 = glueTask(
  'sst2',
  '{{sentence}}\nQuestion: Is this sentence positive or negative?\nAnswer:',
  (d) => `${d.sentence1}\nQuestion: Is this sentence positive or negative?\nAnswer:`,
  ['negative', 'positive'],
  ['acc'],
);

export const mrpc = glueTask(
  'mrpc',
  'Sentence 1: {{sentence1}}\nSentence 2: {{sentence2}}\nQuestion: Do both sentences mean the same thing?\nAnswer:',
  (d) =>
    `Sentence 1: ${d.sentence1}\nSentence 2: ${d.sentence2}\nQuestion: Do both sentences mean the same thing?\nAnswer:`,
  ['no', 'yes'],
  ['acc', 'f1'],
);

export const rte = glueTask(
  'rte',
  '{{sentence1}}\nQuestion: {{sentence2}} True or False?\nAnswer:',
  (d) => `${d.sentence1}\nQuestion: ${d.sentence2} True or False?\nAnswer:`,
  ['True', 'False'],
  ['acc'],
);

export const cola = glueTask(
  'cola',
  '{{sentence}}\nQuestion: Does this sentence make sense?\nAnswer:',
  (d) => `${d.sentence1}\nQuestion: Does this sentence make sense?\nAnswer:`,
  ['no', 'yes'],
  ['mcc'],
);

export const qnli = glueTask(
  'qnli',
  '{{question}}\n{{sentence}}\nQuestion: Does this response answer the question?\nAnswer:',
  (d) =>
    `${d.sentence1}\n${d.sentence2}\nQuestion: Does this response answer the question?\nAnswer:`,
  ['yes', 'no'],
  ['acc'],
);
