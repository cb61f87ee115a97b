// Binary token files: a flat little-endian array of uint16 (every id below
// 65536) or uint32 ids, no header (the JSON manifest beside it says the dtype
// and count). Written through a fixed buffer and read back in chunks or by
// range, so that neither direction holds a whole corpus in memory.
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { ConfigError, FormatError } from '../src/errors.js';
import { WRITE_CHUNK_TOKENS } from './types.js';
import type { TokenDtype } from './types.js';

/** A typed array of token ids as stored. */
export type TokenArray = Uint16Array | Uint32Array;

/** The narrowest dtype that holds every id below `vocabSize`. */
export function dtypeFor(vocabSize: number): TokenDtype {
  if (!Number.isInteger(vocabSize) || vocabSize <= 0 || vocabSize > 2 ** 32) {
    throw new ConfigError(`vocabSize must be an integer in 1..2^32, got ${String(vocabSize)}`);
  }
  return vocabSize <= 65_536 ? 'uint16' : 'uint32';
}

/** Bytes per stored id. */
export function bytesPerToken(dtype: TokenDtype): number {
  return dtype === 'uint16' ? 2 : 4;
}

/** A zeroed typed array of `dtype`. */
export function allocTokens(dtype: TokenDtype, length: number): TokenArray {
  return dtype === 'uint16' ? new Uint16Array(length) : new Uint32Array(length);
}

function checkLittleEndian(): void {
  // NOTE: files are written from typed arrays in the machine's byte order;
  // every platform Node supports in practice is little-endian.
  if (endianness() !== 'LE') {
    throw new ConfigError('token files need a little-endian machine', 'use an x86-64 or ARM host');
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(
      bytes,
      done,
      bytes.byteLength - done,
      position + done,
    );
    done += bytesWritten;
  }
}

/** Appends ids to a new token file through a fixed buffer. */
export class TokenWriter {
  /** Ids written so far (including buffered ones). */
  count = 0;
  private readonly buffer: TokenArray;
  private fill = 0;
  private position = 0;

  private constructor(
    private readonly handle: FileHandle,
    readonly dtype: TokenDtype,
  ) {
    this.buffer = allocTokens(dtype, WRITE_CHUNK_TOKENS);
  }

  /** Create (or truncate) `path` for writing. */
  static async create(path: string, dtype: TokenDtype): Promise<TokenWriter> {
    checkLittleEndian();
    return new TokenWriter(await open(path, 'w'), dtype);
  }

  /** Append ids (already checked to fit the dtype). */
  async write(ids: ArrayLike<number>): Promise<void> {
    const typed = ArrayBuffer.isView(ids) ? (ids as TokenArray) : null;
    for (let i = 0; i < ids.length;) {
      const n = Math.min(ids.length - i, this.buffer.length - this.fill);
      if (typed) this.buffer.set(typed.subarray(i, i + n), this.fill);
      else for (let j = 0; j < n; j++) this.buffer[this.fill + j] = ids[i + j];
      this.fill += n;
      i += n;
      if (this.fill === this.buffer.length) await this.flush();
    }
    this.count += ids.length;
  }

  private async flush(): Promise<void> {
    const bytes = new Uint8Array(this.buffer.buffer, 0, this.fill * this.buffer.BYTES_PER_ELEMENT);
    await writeAll(this.handle, bytes, this.position);
    this.position += bytes.byteLength;
    this.fill = 0;
  }

  /** Write what is buffered, fsync and close. */
  async close(): Promise<void> {
    try {
      await this.flush();
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }

  /** Close without caring about the contents (after an error). */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

/** Read ids `[start, start + length)` of an open token file. */
export async function readTokenRange(
  handle: FileHandle,
  dtype: TokenDtype,
  start: number,
  length: number,
  label: string,
): Promise<TokenArray> {
  const out = allocTokens(dtype, length);
  const bytes = new Uint8Array(out.buffer);
  const offset = start * out.BYTES_PER_ELEMENT;
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesRead } = await handle.read(bytes, done, bytes.byteLength - done, offset + done);
    if (bytesRead === 0) {
      throw new FormatError(label, `ends early: wanted ids ${start}..${start + length - 1}`);
    }
    done += bytesRead;
  }
  return out;
}

/** The ids of a token file of `count` ids, in chunks of at most `chunkTokens`. */
export async function* readTokenChunks(
  path: string,
  dtype: TokenDtype,
  count: number,
  chunkTokens = WRITE_CHUNK_TOKENS,
): AsyncGenerator<TokenArray> {
  checkLittleEndian();
  const handle = await open(path, 'r');
  try {
    for (let start = 0; start < count; start += chunkTokens) {
      yield await readTokenRange(handle, dtype, start, Math.min(chunkTokens, count - start), path);
    }
  } finally {
    await handle.close();
  }
}
