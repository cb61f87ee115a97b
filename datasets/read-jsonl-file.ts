// Streams the documents of a JSON-lines file: one JSON object per line, the
// text in a named string field. Blank lines are skipped; a line that is not
// JSON, not an object, or lacks the field is a FormatError naming the file and
// the 1-based line number. Lines longer than MAX_JSONL_LINE_CHARS are refused
// before they are held in memory whole.
import { FormatError } from '../src/errors.js';
import { decodeFile } from './read-text-file.js';
import { MAX_JSONL_LINE_CHARS } from './types.js';

/** One record's text and where it was found. */
export interface JsonlText {
  text: string;
  /** 1-based line number. */
  line: number;
}

/** Options of `readJsonlFile`. */
export interface ReadJsonlOptions {
  /** Name of the text field. */
  field: string;
  /** Name used in errors. @default the path */
  label?: string;
  /** Longest line accepted. @default MAX_JSONL_LINE_CHARS */
  maxLineChars?: number;
}

function fieldHint(record: Record<string, unknown>, field: string): string {
  const strings = Object.keys(record).filter((k) => typeof record[k] === 'string');
  return strings.length > 0
    ? `its string fields are ${strings.map((k) => JSON.stringify(k)).join(', ')}; name one as file.jsonl:FIELD`
    : `every line needs a string field ${JSON.stringify(field)}`;
}

/** The text of one line; throws a FormatError for a bad line. */
function parseLine(line: string, n: number, field: string, label: string): string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    throw new FormatError(
      label,
      `line ${n}: not valid JSON (${(e as Error).message})`,
      'a .jsonl file holds one JSON object per line',
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FormatError(label, `line ${n}: expected a JSON object, got ${line.slice(0, 40)}`);
  }
  const record = value as Record<string, unknown>;
  const text = record[field];
  if (typeof text !== 'string') {
    const what =
      field in record ? `is ${text === null ? 'null' : typeof text}, not a string` : 'is missing';
    throw new FormatError(
      label,
      `line ${n}: field ${JSON.stringify(field)} ${what}`,
      fieldHint(record, field),
    );
  }
  return text;
}

/** The texts of a JSONL file, in order (see the file header). */
export async function* readJsonlFile(
  path: string,
  options: ReadJsonlOptions,
): AsyncGenerator<JsonlText> {
  const label = options.label ?? path;
  const maxLine = options.maxLineChars ?? MAX_JSONL_LINE_CHARS;
  let carry = '';
  let line = 0;
  const tooLong = (n: number): FormatError =>
    new FormatError(label, `line ${n}: longer than ${maxLine} characters`, 'split the record');
  for await (const text of decodeFile(path, label)) {
    const chunk = carry + text;
    let start = 0;
    for (let end = chunk.indexOf('\n'); end >= 0; end = chunk.indexOf('\n', start)) {
      line++;
      if (end - start > maxLine) throw tooLong(line);
      const body = chunk.slice(start, end);
      start = end + 1;
      if (body.trim() !== '') yield { text: parseLine(body, line, options.field, label), line };
    }
    carry = chunk.slice(start);
    if (carry.length > maxLine) throw tooLong(line + 1);
  }
  line++;
  if (carry.trim() !== '') yield { text: parseLine(carry, line, options.field, label), line };
}
