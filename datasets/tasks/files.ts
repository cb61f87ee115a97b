// Finding and reading benchmark files under a data folder laid out as the official
// releases are (`qa/piqa/valid.jsonl`, `nlu/sst2/dev.tsv`, ...). A missing file is a
// ConfigError naming the path looked for and where the file comes from; a bad line
// is a FormatError naming the file and its 1-based line number.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, FormatError } from '../../src/errors.js';
import { bunzip2 } from './bzip2.js';

/** Longest data file read whole (the largest shipped file, SQuAD dev, is 4.9 MB). */
export const MAX_TASK_FILE_BYTES = 256 * 1024 * 1024;

/** Where a task's data file lives and how a user obtains it. */
export interface DataFileSpec {
  /** Paths relative to the data folder, in order of preference (first found wins). */
  paths: readonly string[];
  /** What the file is, e.g. `PIQA validation`. */
  what: string;
  /** Where to get it. */
  source: string;
}

async function isFile(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => null);
  return info !== null && info.isFile();
}

/**
 * The first existing path of `spec` under `dataDir` (absolute), or a ConfigError that
 * names every path tried, what the file is and where to get it.
 */
export async function resolveDataFile(dataDir: string, spec: DataFileSpec): Promise<string> {
  if (!(await stat(dataDir).catch(() => null))?.isDirectory()) {
    throw new ConfigError(
      `data folder ${dataDir} does not exist`,
      'pass --data-dir DIR (or set SNNLM_DATA_DIR) pointing at a folder with qa/, nlu/, lm/ subfolders',
    );
  }
  for (const rel of spec.paths) {
    const path = join(dataDir, rel);
    if (await isFile(path)) return path;
  }
  const tried = spec.paths.map((p) => join(dataDir, p)).join(' or ');
  throw new ConfigError(
    `missing data file for ${spec.what}: ${tried}`,
    `get it from ${spec.source} and save it as ${join(dataDir, spec.paths[0])}`,
  );
}

/** The bytes of a file (decompressed when it ends in `.bz2`). */
export async function readDataBytes(path: string): Promise<Uint8Array> {
  const info = await stat(path).catch(() => null);
  if (!info || !info.isFile()) throw new FormatError(path, 'file is missing');
  if (info.size > MAX_TASK_FILE_BYTES) {
    throw new FormatError(
      path,
      `file is too big: ${info.size} bytes (limit ${MAX_TASK_FILE_BYTES})`,
    );
  }
  const raw = new Uint8Array(await readFile(path));
  return path.endsWith('.bz2') ? bunzip2(raw, path) : raw;
}

/** Text of a UTF-8 file without a byte-order mark; invalid UTF-8 is a FormatError. */
export async function readDataText(path: string): Promise<string> {
  const bytes = await readDataBytes(path);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError(path, 'not valid UTF-8');
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** One line of a file and its 1-based number. */
export interface NumberedLine {
  text: string;
  line: number;
}

/** The lines of a file (LF or CRLF); a final empty line is dropped. */
export async function readDataLines(path: string): Promise<NumberedLine[]> {
  const text = await readDataText(path);
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((t, i) => ({ text: t, line: i + 1 }));
}

/** Typed access to one record's fields; errors name the file, line and field. */
export class RecordReader {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly value: Record<string, unknown>,
  ) {}

  fail(message: string, hint?: string): never {
    throw new FormatError(this.file, `line ${this.line}: ${message}`, hint);
  }

  /** The raw value at a dotted path (`question.stem`). */
  get(path: string): unknown {
    let v: unknown = this.value;
    for (const key of path.split('.')) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
      v = (v as Record<string, unknown>)[key];
    }
    return v;
  }

  string(path: string): string {
    const v = this.get(path);
    if (typeof v !== 'string') this.fail(`field "${path}" ${describe(v)}, expected a string`);
    return v;
  }

  boolean(path: string): boolean {
    const v = this.get(path);
    if (typeof v !== 'boolean') this.fail(`field "${path}" ${describe(v)}, expected true or false`);
    return v;
  }

  integer(path: string): number {
    const v = this.get(path);
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.fail(`field "${path}" ${describe(v)}, expected an integer`);
    }
    return v;
  }

  array(path: string): unknown[] {
    const v = this.get(path);
    if (!Array.isArray(v)) this.fail(`field "${path}" ${describe(v)}, expected a list`);
    return v;
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'is missing';
  return `is ${v === null ? 'null' : Array.isArray(v) ? 'a list' : `${typeof v} ${JSON.stringify(v).slice(0, 40)}`}`;
}

/** The records of a JSONL file (blank lines skipped); a bad line names file and line. */
export async function readJsonlRecords(path: string): Promise<RecordReader[]> {
  const out: RecordReader[] = [];
  for (const { text, line } of await readDataLines(path)) {
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new FormatError(
        path,
        `line ${line}: not valid JSON (${(e as Error).message})`,
        'a .jsonl file holds one JSON object per line',
      );
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new FormatError(path, `line ${line}: expected a JSON object, got ${text.slice(0, 40)}`);
    }
    out.push(new RecordReader(path, line, value as Record<string, unknown>));
  }
  return out;
}
