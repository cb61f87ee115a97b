// Reader of SQuAD v1.1 JSON (`{version, data: [{title, paragraphs: [{context, qas:
// [{id, question, answers: [{answer_start, text}]}]}]}]}`), flattened to one example
// per question. Answer offsets are checked against the context.
import { FormatError } from '../../src/errors.js';
import type { DataFileSpec } from './files.js';
import { readDataText, resolveDataFile } from './files.js';

/** One SQuAD question with its paragraph and reference answers. */
export interface SquadExample {
  id: string;
  title: string;
  context: string;
  question: string;
  /** Reference answers (dev has up to several, train one); `answer_start` is a character offset. */
  answers: { text: string; answer_start: number }[];
}

export type SquadSplit = 'train' | 'dev';

/** Where a SQuAD v1.1 split lives. */
export function squadFile(split: SquadSplit): DataFileSpec {
  return {
    paths: [`qa/squad_v1.1/${split}-v1.1.json`],
    what: `SQuAD v1.1 ${split}`,
    source: `https://rajpurkar.github.io/SQuAD-explorer/dataset/${split}-v1.1.json`,
  };
}

function fail(file: string, where: string, message: string): never {
  throw new FormatError(file, `${where}: ${message}`);
}

function str(file: string, where: string, v: unknown, field: string): string {
  if (typeof v !== 'string') fail(file, where, `field "${field}" must be a string`);
  return v;
}

function list(file: string, where: string, v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) fail(file, where, `field "${field}" must be a list`);
  return v;
}

/** Parse SQuAD v1.1 JSON text; `file` names it in errors (with the JSON path at fault). */
export function parseSquad(text: string, file: string): SquadExample[] {
  let root: { data?: unknown };
  try {
    root = JSON.parse(text) as { data?: unknown };
  } catch (e) {
    throw new FormatError(file, `not valid JSON (${(e as Error).message})`);
  }
  const out: SquadExample[] = [];
  list(file, '$', root?.data, 'data').forEach((article, a) => {
    const art = article as Record<string, unknown>;
    const title = str(file, `data[${a}]`, art.title, 'title');
    list(file, `data[${a}]`, art.paragraphs, 'paragraphs').forEach((para, p) => {
      const where = `data[${a}].paragraphs[${p}]`;
      const pr = para as Record<string, unknown>;
      const context = str(file, where, pr.context, 'context');
      list(file, where, pr.qas, 'qas').forEach((qa, q) => {
        const w = `${where}.qas[${q}]`;
        const o = qa as Record<string, unknown>;
        const answers = list(file, w, o.answers, 'answers').map((ans, k) => {
          const an = ans as Record<string, unknown>;
          const t = str(file, `${w}.answers[${k}]`, an.text, 'text');
          const start = an.answer_start;
          if (
            typeof start !== 'number' ||
            !Number.isInteger(start) ||
            start < 0 ||
            start > context.length
          ) {
            fail(
              file,
              `${w}.answers[${k}]`,
              `answer_start must be an offset into the context, got ${String(start)}`,
            );
          }
          return { text: t, answer_start: start };
        });
        out.push({
          id: str(file, w, o.id, 'id'),
          title,
          context,
          question: str(file, w, o.question, 'question'),
          answers,
        });
      });
    });
  });
  return out;
}

/** Read a SQuAD v1.1 split from the data folder. */
export async function readSquad(
  dataDir: string,
  split: SquadSplit = 'dev',
): Promise<SquadExample[]> {
  const file = await resolveDataFile(dataDir, squadFile(split));
  return parseSquad(await readDataText(file), file);
}
