// Bad corpora fail early with errors that name the offending path, line or
// value and say what to do: missing paths, folders, empty corpora, JSONL lines
// that are not JSON or lack the field, unknown built-in names, globs that match
// nothing, unsupported formats, invalid UTF-8 and overlong lines.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDocuments, readJsonlFile, parseCorpusSpec } from '../../datasets/index.js';
import { ConfigError, FormatError } from '../../src/errors.js';
import { collect, tempDir, writeFiles } from './fixtures.js';

async function readError(
  spec: Parameters<typeof readDocuments>[0],
  baseDir: string,
): Promise<Error> {
  try {
    await collect(readDocuments(spec, { baseDir }));
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the corpus to be rejected');
}

describe('corpus errors', () => {
  it('names a missing file and where it was looked for, with a hint', async () => {
    const dir = await tempDir();
    const e = await readError('nope/train.txt', dir);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('corpus file nope/train.txt does not exist');
    expect(e.message).toContain(path.join(dir, 'nope/train.txt'));
    expect((e as ConfigError).hint).toMatch(/relative paths/);
  });

  it('rejects a folder, suggesting a glob', async () => {
    const dir = await tempDir();
    const e = await readError('.', dir);
    expect(e.message).toContain('is a folder');
    expect((e as ConfigError).hint).toContain('/**/*.txt');
  });

  it('rejects an empty corpus: empty files, blank JSONL, empty texts', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'e.txt': '', 'b.jsonl': '\n  \n', 'x.jsonl': '{"text":""}\n' });
    const e = await readError(['e.txt', 'b.jsonl', 'x.jsonl'], dir);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain(
      'the corpus is empty: 3 file(s) hold no text (e.txt, b.jsonl, x.jsonl)',
    );
  });

  it('names file and line of a JSONL line that is not JSON', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'd.jsonl': '{"text":"a"}\n\n{"text": oops}\n' });
    const e = await readError('d.jsonl', dir);
    expect(e).toBeInstanceOf(FormatError);
    expect((e as FormatError).file).toBe('d.jsonl');
    expect(e.message).toMatch(/^d\.jsonl: line 3: not valid JSON/);
  });

  it('names file, line and the available fields when the text field is missing', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'd.jsonl': '{"text":"a"}\n{"body":"b","id":7}\n' });
    const e = await readError('d.jsonl', dir);
    expect(e.message).toContain('d.jsonl: line 2: field "text" is missing');
    expect((e as FormatError).hint).toContain('"body"');
  });

  it('rejects a non-string field and a line that is not an object', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'n.jsonl': '{"text":null}', 'a.jsonl': '{"text":"x"}\n["text"]' });
    expect((await readError('n.jsonl', dir)).message).toContain('line 1: field "text" is null');
    expect((await readError('a.jsonl', dir)).message).toContain('line 2: expected a JSON object');
  });

  it('lists the available built-in corpora for an unknown name', async () => {
    const e = await readError('builtin:wikipedia', await tempDir());
    expect(e.message).toContain('unknown built-in corpus "wikipedia"');
    expect((e as ConfigError).hint).toBe('available: builtin:moby-dick, builtin:sotu');
  });

  it('names a glob that matches nothing, and one whose folder is missing', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'a.md': 'x' });
    expect((await readError('*.txt', dir)).message).toContain('glob "*.txt" matches no files');
    expect((await readError('gone/*.txt', dir)).message).toContain(
      `folder ${path.join(dir, 'gone')} does not exist`,
    );
  });

  it('rejects unsupported formats and a field on a text file at parse time', () => {
    expect(() => parseCorpusSpec('corpus.json')).toThrow(/\.json files are not read.*\.jsonl/);
    expect(() => parseCorpusSpec('corpus.txt.gz')).toThrow(/decompress/);
    expect(() => parseCorpusSpec('book.txt:text')).toThrow(/applies only to \.jsonl/);
    expect(() => parseCorpusSpec([])).toThrow(/empty list/);
    expect(() => parseCorpusSpec({ paht: 'x' } as never)).toThrow(/unknown key "paht"/);
  });

  it('rejects invalid UTF-8, naming the file', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'bad.txt'), Buffer.from([0x61, 0xff, 0xfe, 0x62]));
    const e = await readError('bad.txt', dir);
    expect(e).toBeInstanceOf(FormatError);
    expect(e.message).toContain('bad.txt: is not valid UTF-8');
  });

  it('refuses a JSONL line longer than the limit, naming its number', async () => {
    const dir = await tempDir();
    const [file] = await writeFiles(dir, {
      'l.jsonl': `{"text":"ok"}\n{"text":"${'x'.repeat(500)}"}\n`,
    });
    const read = collect(
      readJsonlFile(file, { field: 'text', label: 'l.jsonl', maxLineChars: 100 }),
    );
    await expect(read).rejects.toThrow('l.jsonl: line 2: longer than 100 characters');
  });
});
