// A small file glob for corpus specs (Node 20 has no `fs.glob`): `*` and `?`
// within one path segment, `[abc]` / `[!abc]` classes, and `**` for any number
// of folders. Matches files only, skips hidden entries (names starting with
// `.`), and returns paths sorted so that the corpus order never depends on the
// file system's listing order.
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { ConfigError } from '../src/errors.js';
import { MAX_GLOB_DEPTH, MAX_GLOB_FILES } from './types.js';

/** True when a path contains glob syntax (`*`, `?` or `[`). */
export function hasGlobChars(path: string): boolean {
  return /[*?[]/.test(path);
}

function segmentToRegExp(segment: string): string {
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (body.startsWith('!')) body = '^' + body.slice(1);
      out += `[${body}]`;
      i = end;
    } else out += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return out;
}

/** The regular expression a `/`-separated relative path must match. */
export function globToRegExp(pattern: string): RegExp {
  const segments = pattern.split('/').filter((s) => s !== '');
  let source = '';
  segments.forEach((s, i) => {
    const last = i === segments.length - 1;
    if (s === '**') source += last ? '.*' : '(?:[^/]+/)*';
    else source += segmentToRegExp(s) + (last ? '' : '/');
  });
  return new RegExp(`^${source}$`);
}

/** Split a pattern into the folder before its first glob segment and the rest. */
function splitPattern(pattern: string): { root: string; rest: string } {
  const parts = pattern.split('/');
  const first = parts.findIndex((p) => hasGlobChars(p));
  const root = parts.slice(0, first).join('/');
  return {
    root: root === '' && pattern.startsWith('/') ? '/' : root,
    rest: parts.slice(first).join('/'),
  };
}

/** Options of `expandGlob`. */
export interface ExpandGlobOptions {
  /** Folder relative patterns start from. @default process.cwd() */
  baseDir?: string;
  /** Most files returned. @default MAX_GLOB_FILES */
  maxFiles?: number;
}

/**
 * Absolute paths of the files matching `pattern`, sorted. A pattern matching
 * nothing, or whose fixed folder part does not exist, is a ConfigError naming it.
 */
export async function expandGlob(
  pattern: string,
  options: ExpandGlobOptions = {},
): Promise<string[]> {
  const maxFiles = options.maxFiles ?? MAX_GLOB_FILES;
  const normalized = sep === '\\' ? pattern.replace(/\\/g, '/') : pattern;
  const { root, rest } = splitPattern(normalized);
  const base = options.baseDir ?? process.cwd();
  const rootDir = isAbsolute(root) ? root : resolve(base, root);
  const info = await stat(rootDir).catch(() => null);
  if (!info?.isDirectory()) {
    throw new ConfigError(
      `glob ${JSON.stringify(pattern)}: folder ${rootDir} does not exist`,
      'check the path; relative paths start from the current directory',
    );
  }
  const re = globToRegExp(rest);
  const maxDepth = rest.includes('**') ? MAX_GLOB_DEPTH : rest.split('/').length;
  const found: string[] = [];
  const walk = async (dir: string, rel: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const relPath = rel === '' ? e.name : `${rel}/${e.name}`;
      const full = join(dir, e.name);
      const kind = e.isSymbolicLink() ? await stat(full).catch(() => null) : e;
      if (kind?.isDirectory()) {
        if (depth + 1 < maxDepth) await walk(full, relPath, depth + 1);
      } else if (kind?.isFile() && re.test(relPath)) {
        if (found.length >= maxFiles) {
          throw new ConfigError(
            `glob ${JSON.stringify(pattern)} matches more than ${maxFiles} files`,
            'narrow the pattern or concatenate small files',
          );
        }
        found.push(full);
      }
    }
  };
  await walk(rootDir, '', 0);
  if (found.length === 0) {
    throw new ConfigError(
      `glob ${JSON.stringify(pattern)} matches no files under ${rootDir}`,
      'hidden files are skipped; use ** to match inside sub-folders',
    );
  }
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
