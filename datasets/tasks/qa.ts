// Readers of the multiple-choice QA sets in the layouts of their public releases
// (see the data MANIFEST): BoolQ, PIQA (+ label list), ARC, OpenBookQA, WinoGrande,
// HellaSwag (the original JSONL, or the 6-lines-per-item bz2 text copy). Each returns
// plain documents with the gold index resolved; prompts are built by eval/tasks.
import { FormatError } from '../../src/errors.js';
import type { DataFileSpec } from './files.js';
import { readDataLines, readJsonlRecords, resolveDataFile } from './files.js';

/** BoolQ: `label` 1 = the answer is yes (true). */
export interface BoolqDoc {
  question: string;
  passage: string;
  title: string;
  label: 0 | 1;
}

/** PIQA: `label` 0 = `sol1` is right, 1 = `sol2`. */
export interface PiqaDoc {
  goal: string;
  sol1: string;
  sol2: string;
  label: 0 | 1;
}

/** ARC and OpenBookQA: a question stem, labelled choices and the gold index. */
export interface ChoiceQuestionDoc {
  id: string;
  question: string;
  choices: { text: string; label: string }[];
  answerKey: string;
  /** Index of `answerKey` among the choice labels. */
  label: number;
}

/** WinoGrande: `sentence` holds one `_`; `label` 0 = option1, 1 = option2. */
export interface WinograndeDoc {
  id: string;
  sentence: string;
  option1: string;
  option2: string;
  label: 0 | 1;
}

/**
 * HellaSwag: `activityLabel` and the two context halves when the original JSONL is read;
 * the bz2 text copy only has the joined `query` (activity label, `: `, context).
 */
export interface HellaswagDoc {
  /** `activity_label: ctx_a ctx_b` as the file has it (not yet cleaned). */
  query: string;
  activityLabel?: string;
  ctxA?: string;
  ctxB?: string;
  endings: string[];
  label: number;
}

/** File locations of the QA sets (relative to the data folder). */
export const QA_FILES = {
  boolq: {
    paths: ['qa/boolq/dev.jsonl'],
    what: 'BoolQ dev (validation)',
    source: 'https://storage.googleapis.com/boolq/dev.jsonl',
  },
  piqa: {
    paths: ['qa/piqa/valid.jsonl'],
    what: 'PIQA validation',
    source: 'https://yonatanbisk.com/piqa/data/valid.jsonl (with valid-labels.lst beside it)',
  },
  piqaLabels: {
    paths: ['qa/piqa/valid-labels.lst'],
    what: 'PIQA validation labels',
    source: 'https://yonatanbisk.com/piqa/data/valid-labels.lst',
  },
  arc_easy: {
    paths: ['qa/arc_easy/ARC-Easy-Test.jsonl', 'qa/arc_easy/ARC-Easy-Dev.jsonl'],
    what: 'ARC-Easy test or dev',
    source:
      'the ARC-V1-Feb2018 release, https://allenai.org/data/arc (ARC-Easy/ARC-Easy-Dev.jsonl)',
  },
  arc_challenge: {
    paths: [
      'qa/arc_challenge/ARC-Challenge-Test.jsonl',
      'qa/arc_challenge/ARC-Challenge-Dev.jsonl',
    ],
    what: 'ARC-Challenge test or dev',
    source:
      'the ARC-V1-Feb2018 release, https://allenai.org/data/arc (ARC-Challenge/ARC-Challenge-Dev.jsonl)',
  },
  openbookqa: {
    paths: ['qa/openbookqa/test.jsonl', 'qa/openbookqa/dev.jsonl'],
    what: 'OpenBookQA main test or dev',
    source:
      'https://ai2-public-datasets.s3.amazonaws.com/open-book-qa/OpenBookQA-V1-Sep2018.zip (Data/Main/dev.jsonl)',
  },
  winogrande: {
    paths: ['qa/winogrande/dev.jsonl'],
    what: 'WinoGrande 1.1 dev (winogrande_xl validation)',
    source:
      'https://storage.googleapis.com/ai2-mosaic/public/winogrande/winogrande_1.1.zip (winogrande_1.1/dev.jsonl)',
  },
  hellaswag: {
    paths: ['qa/hellaswag/hellaswag_val.jsonl', 'qa/hellaswag/hellaswag_val_full.txt.bz2'],
    what: 'HellaSwag validation',
    source:
      'https://github.com/rowanz/hellaswag (data/hellaswag_val.jsonl), or the text copy hellaswag_val_full.txt.bz2 of github.com/klosax/hellaswag_text_data',
  },
} as const satisfies Record<string, DataFileSpec>;

/** BoolQ `dev.jsonl` (`answer` true/false) or SuperGLUE `val.jsonl` (`label`). */
export async function readBoolq(dataDir: string): Promise<BoolqDoc[]> {
  const file = await resolveDataFile(dataDir, QA_FILES.boolq);
  return (await readJsonlRecords(file)).map((r) => {
    const answer = r.get('answer') !== undefined ? r.boolean('answer') : r.boolean('label');
    return {
      question: r.string('question'),
      passage: r.string('passage'),
      title: typeof r.get('title') === 'string' ? r.string('title') : '',
      label: answer ? 1 : 0,
    };
  });
}

/** PIQA `valid.jsonl` with its parallel `valid-labels.lst`. */
export async function readPiqa(dataDir: string): Promise<PiqaDoc[]> {
  const file = await resolveDataFile(dataDir, QA_FILES.piqa);
  const labelFile = await resolveDataFile(dataDir, QA_FILES.piqaLabels);
  const records = await readJsonlRecords(file);
  const labels = (await readDataLines(labelFile)).filter((l) => l.text.trim() !== '');
  if (labels.length !== records.length) {
    throw new FormatError(
      labelFile,
      `has ${labels.length} labels but ${file} has ${records.length} items`,
      'line i of both files belongs together',
    );
  }
  return records.map((r, i) => {
    const t = labels[i].text.trim();
    if (t !== '0' && t !== '1') {
      throw new FormatError(labelFile, `line ${labels[i].line}: label must be 0 or 1, got "${t}"`);
    }
    return {
      goal: r.string('goal'),
      sol1: r.string('sol1'),
      sol2: r.string('sol2'),
      label: t === '0' ? 0 : 1,
    };
  });
}

async function readChoiceQuestions(file: string): Promise<ChoiceQuestionDoc[]> {
  return (await readJsonlRecords(file)).map((r) => {
    const choices = r.array('question.choices').map((c, j) => {
      const o = c as { text?: unknown; label?: unknown };
      if (typeof o !== 'object' || o === null || typeof o.text !== 'string') {
        r.fail(`question.choices[${j}] needs a string "text"`);
      }
      return { text: o.text as string, label: String(o.label ?? '') };
    });
    const answerKey = r.string('answerKey');
    const label = choices.findIndex((c) => c.label === answerKey);
    if (label < 0) {
      r.fail(
        `answerKey "${answerKey}" is not one of the choice labels ${choices.map((c) => c.label).join(', ')}`,
      );
    }
    return {
      id: typeof r.get('id') === 'string' ? r.string('id') : `line-${r.line}`,
      question: r.string('question.stem'),
      choices,
      answerKey,
      label,
    };
  });
}

/** ARC-Easy / ARC-Challenge JSONL (`question.stem`, `question.choices`, `answerKey`). */
export async function readArc(
  dataDir: string,
  which: 'arc_easy' | 'arc_challenge',
): Promise<ChoiceQuestionDoc[]> {
  return readChoiceQuestions(await resolveDataFile(dataDir, QA_FILES[which]));
}

/** OpenBookQA main JSONL (same fields as ARC). */
export async function readOpenbookqa(dataDir: string): Promise<ChoiceQuestionDoc[]> {
  return readChoiceQuestions(await resolveDataFile(dataDir, QA_FILES.openbookqa));
}

/** WinoGrande JSONL (`sentence` with one `_`, `option1`, `option2`, `answer` "1"/"2"). */
export async function readWinogrande(dataDir: string): Promise<WinograndeDoc[]> {
  const file = await resolveDataFile(dataDir, QA_FILES.winogrande);
  return (await readJsonlRecords(file)).map((r) => {
    const sentence = r.string('sentence');
    if (sentence.split('_').length !== 2) {
      r.fail(`sentence must hold exactly one "_" placeholder: ${sentence.slice(0, 60)}`);
    }
    const answer = r.string('answer');
    if (answer !== '1' && answer !== '2') r.fail(`answer must be "1" or "2", got "${answer}"`);
    return {
      id: typeof r.get('qID') === 'string' ? r.string('qID') : `line-${r.line}`,
      sentence,
      option1: r.string('option1'),
      option2: r.string('option2'),
      label: answer === '1' ? 0 : 1,
    };
  });
}

/** Lines per item of the HellaSwag text copy: query, gold index, four endings. */
const HELLASWAG_LINES = 6;

/** HellaSwag: the original `hellaswag_val.jsonl`, else the bz2 text copy. */
export async function readHellaswag(dataDir: string): Promise<HellaswagDoc[]> {
  const file = await resolveDataFile(dataDir, QA_FILES.hellaswag);
  if (file.endsWith('.jsonl')) {
    return (await readJsonlRecords(file)).map((r) => {
      const endings = r.array('endings');
      if (endings.length !== 4 || endings.some((e) => typeof e !== 'string')) {
        r.fail('"endings" must be a list of 4 strings');
      }
      const label = r.integer('label');
      if (label < 0 || label > 3) r.fail(`label must be 0..3, got ${label}`);
      const activityLabel = r.string('activity_label');
      const ctxA = r.string('ctx_a');
      const ctxB = r.string('ctx_b');
      return {
        query: `${activityLabel}: ${ctxA} ${ctxB}`,
        activityLabel,
        ctxA,
        ctxB,
        endings: endings as string[],
        label,
      };
    });
  }
  const lines = await readDataLines(file);
  if (lines.length % HELLASWAG_LINES !== 0) {
    throw new FormatError(
      file,
      `has ${lines.length} lines, not a multiple of ${HELLASWAG_LINES}`,
      'each item is 6 lines: context, gold index 0-3, four endings',
    );
  }
  const docs: HellaswagDoc[] = [];
  for (let i = 0; i < lines.length; i += HELLASWAG_LINES) {
    const gold = lines[i + 1];
    if (!/^[0-3]$/.test(gold.text.trim())) {
      throw new FormatError(
        file,
        `line ${gold.line}: gold ending index must be 0..3, got "${gold.text}"`,
      );
    }
    docs.push({
      query: lines[i].text,
      endings: lines.slice(i + 2, i + HELLASWAG_LINES).map((l) => l.text),
      label: Number(gold.text.trim()),
    });
  }
  return docs;
}
