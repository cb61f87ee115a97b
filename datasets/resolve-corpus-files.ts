// Turns a corpus specification into the ordered list of files to read: checks
// that named files exist (a clear error naming the path otherwise), expands
// globs, and lists the files of built-in corpora.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from '../src/errors.js';
import { builtinCorpusFiles } from './builtin-corpora.js';
import { formatOf, parseCorpusSpec } from './corpus-spec.js';
import type { CorpusSpec } from './corpus-spec.js';
import { expandGlob } from './glob.js';
import type { CorpusFile, CorpusSource } from './types.js';

/** Options of `resolveCorpusFiles`. */
export interface ResolveCorpusOptions {
  /** Folder relative paths start from. @default process.cwd() */
  baseDir?: string;
  /** JSONL text field when the spec names none. @default 'text' */
  field?: string;
}

async function checkFile(path: string, label: string): Promise<void> {
  const info = await stat(path).catch((e: NodeJS.ErrnoException) => e);
  if (info instanceof Error) {
    const missing = info.code === 'ENOENT' || info.code === 'ENOTDIR';
    throw new ConfigError(
      missing
        ? `corpus file ${label} does not exist (looked for ${path})`
        : `corpus file ${label} cannot be read: ${info.message}`,
      missing ? 'check the path; relative paths start from the current directory' : undefined,
    );
  }
  if (info.isDirectory()) {
    throw new ConfigError(
      `corpus path ${label} is a folder`,
      `name its files with a glob, e.g. ${label.replace(/\/$/, '')}/**/*.txt`,
    );
  }
  if (!info.isFile()) throw new ConfigError(`corpus path ${label} is not a regular file`);
}

async function filesOf(source: CorpusSource, baseDir: string): Promise<CorpusFile[]> {
  switch (source.kind) {
    case 'file': {
      const path = resolve(baseDir, source.path);
      await checkFile(path, source.path);
      return [{ path, format: source.format, field: source.field, label: source.path }];
    }
    case 'glob': {
      const paths = await expandGlob(source.pattern, { baseDir });
      return paths.map((path) => ({
        path,
        format: formatOf(path),
        field: source.field,
        label: path,
      }));
    }
    case 'builtin':
      return builtinCorpusFiles(source.name);
  }
}

/** The files of a corpus, in reading order. */
export async function resolveCorpusFiles(
  spec: CorpusSpec,
  options: ResolveCorpusOptions = {},
): Promise<CorpusFile[]> {
  const sources = parseCorpusSpec(spec, { field: options.field });
  const baseDir = options.baseDir ?? process.cwd();
  const files: CorpusFile[] = [];
  for (const source of sources) files.push(...(await filesOf(source, baseDir)));
  return files;
}
