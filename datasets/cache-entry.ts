// Entries of the on-disk data cache (`<cacheDir>/datasets/<kind>-<key>/`):
// binary files plus a `manifest.json`. An entry is built in a fresh temporary
// folder beside its final place, its manifest is written last, and the folder
// is renamed into place in one step, so a crash never leaves a half entry
// that looks complete. An entry is trusted only when its manifest has the
// expected format, version and key, and every listed file has its recorded size.
import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../src/io/write-file-atomic.js';
import { log } from '../src/log.js';
import { DEFAULT_CACHE_DIR } from './types.js';

/** Fields every manifest has. */
export interface ManifestBase {
  format: string;
  version: number;
  key: string;
  /** Size in bytes of each file of the entry, by name. */
  files: Record<string, number>;
}

/** Name of an entry's manifest. */
export const MANIFEST_FILE = 'manifest.json';

/** The folder that holds data cache entries. */
export function datasetCacheRoot(cacheDir = DEFAULT_CACHE_DIR): string {
  return resolve(cacheDir, 'datasets');
}

/**
 * The manifest of the entry in `dir` when it is complete and has this format,
 * version and key; null otherwise (a damaged entry is logged).
 */
export async function readCacheEntry<M extends ManifestBase>(
  dir: string,
  format: string,
  version: number,
  key: string,
): Promise<M | null> {
  const text = await readFile(join(dir, MANIFEST_FILE), 'utf8').catch(() => null);
  if (text === null) return null;
  let manifest: M;
  try {
    manifest = JSON.parse(text) as M;
  } catch {
    log.warn(`data cache: ignoring ${dir} (manifest is not JSON)`);
    return null;
  }
  if (manifest.format !== format || manifest.version !== version || manifest.key !== key) {
    log.warn(`data cache: ignoring ${dir} (manifest of another format, version or key)`);
    return null;
  }
  for (const [name, size] of Object.entries(manifest.files ?? {})) {
    const info = await stat(join(dir, name)).catch(() => null);
    if (!info || info.size !== size) {
      log.warn(`data cache: ignoring ${dir} (${name} is missing or has the wrong size)`);
      return null;
    }
  }
  return manifest;
}

/**
 * Build the entry `dir` with `build`, which writes its files into the given
 * temporary folder and returns the manifest. The manifest is written, then the
 * folder renamed to `dir`. When another process finished the same entry
 * first, its entry is kept and returned.
 */
export async function buildCacheEntry<M extends ManifestBase>(
  dir: string,
  build: (tmpDir: string) => Promise<M>,
): Promise<M> {
  const parent = resolve(dir, '..');
  await mkdir(parent, { recursive: true });
  const tmp = await mkdtemp(join(parent, '.tmp-'));
  try {
    const manifest = await build(tmp);
    await writeFileAtomic(join(tmp, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
    try {
      await rename(tmp, dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM') throw e;
      const other = await readCacheEntry<M>(dir, manifest.format, manifest.version, manifest.key);
      if (other) return other;
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    }
    return manifest;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
