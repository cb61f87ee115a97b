// Parses a corpus specification (a string from the command line or config, an
// object, or a list of them) into typed sources. String forms:
//   data/book.txt            a text file, one document (any extension but .jsonl)
//   data/train.jsonl         JSON lines, one document per line, field `text`
//   data/train.jsonl:body    JSON lines, field `body`
//   data/**/*.txt            a glob (`*`, `?`, `[abc]`, `**`); `…/*.jsonl:body` too
//   builtin:moby-dick        a corpus installed from npm (see `listBuiltinCorpora`)
import { ConfigError } from '../src/errors.js';
import { hasGlobChars } from './glob.js';
import { DEFAULT_JSONL_FIELD } from './types.js';
import type { CorpusFormat, CorpusSource } from './types.js';

/** One entry of a corpus specification. */
export type CorpusSpecEntry =
  | string
  | { path: string; field?: string; format?: CorpusFormat }
  | { glob: string; field?: string }
  | { builtin: string };

/** A corpus: one entry or a list read one after the other. */
export type CorpusSpec = CorpusSpecEntry | readonly CorpusSpecEntry[];

/** Options of `parseCorpusSpec`. */
export interface ParseCorpusSpecOptions {
  /** JSONL text field when the spec names none. @default 'text' */
  field?: string;
}

const JSONL_EXTENSIONS = ['.jsonl', '.ndjson'];
const BUILTIN_PREFIX = 'builtin:';
/** `path.ext:field`: a field suffix after a file extension. */
const FIELD_SUFFIX = /^(.*\.([A-Za-z0-9]+)):([A-Za-z_][\w.-]*)$/;
/** Formats that look like corpora but are not read; each with a hint. */
const UNSUPPORTED: Record<string, string> = {
  '.json': 'write one JSON object per line (.jsonl) instead of one JSON document',
  '.gz': 'decompress the file first',
  '.bz2': 'decompress the file first',
  '.zip': 'unpack the archive first',
  '.parquet': 'export the text column to .jsonl or .txt first',
};

/** The format a file is read with, from its extension. */
export function formatOf(path: string): CorpusFormat {
  const lower = path.toLowerCase();
  const ext = Object.keys(UNSUPPORTED).find((e) => lower.endsWith(e));
  if (ext)
    throw new ConfigError(`corpus file ${path}: ${ext} files are not read`, UNSUPPORTED[ext]);
  return JSONL_EXTENSIONS.some((e) => lower.endsWith(e)) ? 'jsonl' : 'text';
}

function checkField(field: unknown, where: string): string {
  if (typeof field !== 'string' || field.length === 0) {
    throw new ConfigError(
      `${where}: field must be a non-empty string, got ${JSON.stringify(field)}`,
    );
  }
  return field;
}

function parseString(spec: string, defaultField: string): CorpusSource {
  if (spec.trim() === '') {
    throw new ConfigError('corpus spec is empty', 'give a file, a glob or builtin:NAME');
  }
  if (spec.startsWith(BUILTIN_PREFIX))
    return { kind: 'builtin', name: spec.slice(BUILTIN_PREFIX.length) };
  let path = spec;
  let field: string | null = null;
  const m = FIELD_SUFFIX.exec(spec);
  if (m) {
    if (!JSONL_EXTENSIONS.includes(`.${m[2].toLowerCase()}`)) {
      throw new ConfigError(
        `corpus spec ${JSON.stringify(spec)}: a :field suffix applies only to .jsonl files`,
        'text files are read whole; drop the suffix',
      );
    }
    [path, field] = [m[1], m[3]];
  }
  if (hasGlobChars(path)) return { kind: 'glob', pattern: path, field: field ?? defaultField };
  return { kind: 'file', path, format: formatOf(path), field: field ?? defaultField };
}

function parseEntry(entry: CorpusSpecEntry, defaultField: string): CorpusSource {
  if (typeof entry === 'string') return parseString(entry, defaultField);
  if (typeof entry !== 'object' || entry === null) {
    throw new ConfigError(`corpus spec entry must be a string or object, got ${String(entry)}`);
  }
  const keys = Object.keys(entry);
  const known = ['path', 'glob', 'builtin', 'field', 'format'];
  const unknown = keys.filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new ConfigError(
      `corpus spec entry has unknown key ${JSON.stringify(unknown[0])}`,
      `use one of ${known.join(', ')}`,
    );
  }
  const field = 'field' in entry ? checkField(entry.field, 'corpus spec') : defaultField;
  if ('builtin' in entry) return { kind: 'builtin', name: String(entry.builtin) };
  if ('glob' in entry) return { kind: 'glob', pattern: String(entry.glob), field };
  if ('path' in entry && typeof entry.path === 'string' && entry.path !== '') {
    const format = entry.format ?? formatOf(entry.path);
    if (format !== 'text' && format !== 'jsonl') {
      throw new ConfigError(`corpus format must be text or jsonl, got ${JSON.stringify(format)}`);
    }
    return { kind: 'file', path: entry.path, format, field };
  }
  throw new ConfigError(
    `corpus spec entry ${JSON.stringify(entry)} names no source`,
    'give { path }, { glob } or { builtin }',
  );
}

/** Parse a corpus specification into sources, in reading order. */
export function parseCorpusSpec(
  spec: CorpusSpec,
  options: ParseCorpusSpecOptions = {},
): CorpusSource[] {
  const field = checkField(options.field ?? DEFAULT_JSONL_FIELD, 'corpus options');
  const entries: readonly CorpusSpecEntry[] = Array.isArray(spec)
    ? spec
    : [spec as CorpusSpecEntry];
  if (entries.length === 0) {
    throw new ConfigError('corpus spec is an empty list', 'give at least one source');
  }
  return entries.map((e) => parseEntry(e, field));
}

/** A short printable form of a spec (for summaries and messages). */
export function formatCorpusSpec(spec: CorpusSpec): string {
  const one = (e: CorpusSpecEntry): string => (typeof e === 'string' ? e : JSON.stringify(e));
  return Array.isArray(spec) ? spec.map(one).join(' + ') : one(spec as CorpusSpecEntry);
}
