// Reads a corpus as a stream: every file of the spec in order, text files as
// one document each, JSONL files as one document per record, built-in
// corpora as one document per file. Documents arrive in pieces of bounded
// size (`CorpusPiece`), so that a corpus larger than memory streams through;
// `readDocuments` joins the pieces for callers that want whole documents.
// Empty documents (an empty file, `"text": ""`) are skipped; a corpus with no
// text at all is a ConfigError.
import { ConfigError } from '../src/errors.js';
import type { CorpusSpec } from './corpus-spec.js';
import { readJsonlFile } from './read-jsonl-file.js';
import { checkChunkChars, readTextFile, takePieces } from './read-text-file.js';
import { resolveCorpusFiles } from './resolve-corpus-files.js';
import type { ResolveCorpusOptions } from './resolve-corpus-files.js';
import { DEFAULT_MAX_CHUNK_CHARS } from './types.js';
import type { CorpusDocument, CorpusFile, CorpusPiece } from './types.js';

/** Options of `readCorpus` and `readDocuments`. */
export interface ReadCorpusOptions extends ResolveCorpusOptions {
  /** Largest piece of text yielded at once. @default DEFAULT_MAX_CHUNK_CHARS */
  maxChunkChars?: number;
}

function describeFiles(files: readonly CorpusFile[]): string {
  const shown = files.slice(0, 3).map((f) => f.label);
  return files.length > 3 ? `${shown.join(', ')} and ${files.length - 3} more` : shown.join(', ');
}

/** The pieces of the documents in `files`, in order (see the file header). */
export async function* readCorpusFiles(
  files: readonly CorpusFile[],
  options: { maxChunkChars?: number } = {},
): AsyncGenerator<CorpusPiece> {
  const maxChars = options.maxChunkChars ?? DEFAULT_MAX_CHUNK_CHARS;
  checkChunkChars(maxChars);
  let document = 0;
  for (const file of files) {
    if (file.format === 'text') {
      let first = true;
      for await (const text of readTextFile(file.path, maxChars, file.label)) {
        yield { text, document, first, source: file.label };
        first = false;
      }
      if (!first) document++;
      continue;
    }
    for await (const record of readJsonlFile(file.path, { field: file.field, label: file.label })) {
      if (record.text === '') continue;
      const source = `${file.label}:${record.line}`;
      const { pieces } = takePieces(record.text, maxChars, true);
      for (let i = 0; i < pieces.length; i++) {
        yield { text: pieces[i], document, first: i === 0, source };
      }
      document++;
    }
  }
  if (document === 0) {
    throw new ConfigError(
      `the corpus is empty: ${files.length} file(s) hold no text (${describeFiles(files)})`,
      'check the files, or the JSONL field name (file.jsonl:FIELD)',
    );
  }
}

/** The pieces of the documents of a corpus spec (resolving files first). */
export async function* readCorpus(
  spec: CorpusSpec,
  options: ReadCorpusOptions = {},
): AsyncGenerator<CorpusPiece> {
  const files = await resolveCorpusFiles(spec, options);
  yield* readCorpusFiles(files, options);
}

/**
 * Whole documents of a corpus spec. Each document is held in memory at once;
 * use `readCorpus` for documents that might not fit.
 */
export async function* readDocuments(
  spec: CorpusSpec,
  options: ReadCorpusOptions = {},
): AsyncGenerator<CorpusDocument> {
  let current: CorpusDocument | null = null;
  const parts: string[] = [];
  for await (const piece of readCorpus(spec, options)) {
    if (piece.first) {
      if (current) yield { ...current, text: parts.join('') };
      current = { text: '', document: piece.document, source: piece.source };
      parts.length = 0;
    }
    parts.push(piece.text);
  }
  if (current) yield { ...current, text: parts.join('') };
}
