// Atomic file replacement: write a temporary file in the same directory, fsync
// it, rename it over the target, fsync the directory. A crash or error at any
// point leaves either the old file or the complete new one, never a mix; on an
// error the temporary file is removed. The file system is injectable for tests.
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The part of an open file handle that `writeFileAtomic` uses. */
export interface AtomicFileHandle {
  write(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The file-system calls `writeFileAtomic` makes (node:fs/promises fits). */
export interface AtomicFs {
  open(path: string, flags: string, mode?: number): Promise<AtomicFileHandle>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: boolean }): Promise<void>;
}

/** Options of `writeFileAtomic`. */
export interface WriteFileAtomicOptions {
  /** Permission bits of a new file (before the umask). @default 0o666 */
  mode?: number;
  /**
   * File system to use (tests inject failures here). A custom one skips the
   * final directory fsync. @default node:fs/promises
   */
  fs?: AtomicFs;
}

/** What can be written: text (UTF-8), bytes, or a list of byte chunks written in order. */
export type FileContent = string | Uint8Array | readonly Uint8Array[];

const nodeFs: AtomicFs = fsp as unknown as AtomicFs;

/** Path of a fresh temporary file beside `path` (hidden, unique per call). */
export function tempPathFor(path: string): string {
  const tag = `${process.pid}.${randomBytes(6).toString('hex')}`;
  return join(dirname(path), `.${basename(path)}.${tag}.tmp`);
}

/**
 * fsync a directory so that a rename inside it survives a crash.
 * NOTE: Windows cannot open directories for fsync, and a few file systems
 * answer EINVAL/ENOTSUP; there the rename is as durable as the platform allows.
 */
export async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP') throw e;
  } finally {
    await handle.close();
  }
}

/**
 * Replace `path` with `data` atomically. The parent directory must exist. On
 * any error the temporary file is removed, the old file (if any) is untouched,
 * and the error is rethrown.
 */
export async function writeFileAtomic(
  path: string,
  data: FileContent,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const fs = options.fs ?? nodeFs;
  const chunks: readonly Uint8Array[] =
    typeof data === 'string'
      ? [new TextEncoder().encode(data)]
      : data instanceof Uint8Array
        ? [data]
        : data;
  const tmp = tempPathFor(path);
  let handle: AtomicFileHandle | null = null;
  let created = false;
  try {
    handle = await fs.open(tmp, 'wx', options.mode ?? 0o666);
    created = true;
    let position = 0;
    for (const chunk of chunks) {
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done, position);
        done += bytesWritten;
        position += bytesWritten;
      }
    }
    await handle.sync();
    const h = handle;
    handle = null;
    await h.close();
    await fs.rename(tmp, path);
    created = false;
  } catch (e) {
    // Best-effort clean-up: the original error is the one worth reporting.
    if (handle) await handle.close().catch(() => undefined);
    if (created) await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  if (!options.fs) await syncDirectory(dirname(path));
}
