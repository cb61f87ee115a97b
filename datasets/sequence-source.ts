// Random access to packed sequences: window k of a split's token stream (see
// pack.ts), from a file (read by offset, so a split larger than memory works)
// or from an in-memory stream (tests, small corpora).
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { ConfigError, FormatError } from '../src/errors.js';
import { checkSeqLen, sequenceCount, sequenceStart } from './pack.js';
import { bytesPerToken, readTokenRange } from './token-file.js';
import type { TokenDtype } from './types.js';

/** Packed sequences by index, each `seqLen + 1` ids. */
export interface SequenceSource {
  readonly numSequences: number;
  readonly seqLen: number;
  /** Window `index` (0 ≤ index < numSequences) as `seqLen + 1` ids. */
  read(index: number): Promise<Int32Array>;
  /** Release the file (a no-op in memory). */
  close(): Promise<void>;
}

function checkIndex(index: number, n: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new ConfigError(`sequence index ${String(index)} is outside 0..${n - 1}`);
  }
}

/** Sequences of a token stream held in memory. */
export class MemorySequenceSource implements SequenceSource {
  readonly numSequences: number;

  constructor(
    private readonly stream: ArrayLike<number>,
    readonly seqLen: number,
  ) {
    this.numSequences = sequenceCount(stream.length, seqLen);
  }

  async read(index: number): Promise<Int32Array> {
    checkIndex(index, this.numSequences);
    const start = sequenceStart(index, this.seqLen);
    const out = new Int32Array(this.seqLen + 1);
    for (let i = 0; i <= this.seqLen; i++) out[i] = this.stream[start + i];
    return out;
  }

  async close(): Promise<void> {}
}

/** Where a packed split lives and how it is stored. */
export interface PackedSplitFile {
  path: string;
  dtype: TokenDtype;
  /** Tokens in the stream file. */
  tokens: number;
  seqLen: number;
}

class FileSequenceSource implements SequenceSource {
  readonly numSequences: number;
  readonly seqLen: number;

  constructor(
    private readonly handle: FileHandle,
    private readonly file: PackedSplitFile,
  ) {
    this.seqLen = file.seqLen;
    this.numSequences = sequenceCount(file.tokens, file.seqLen);
  }

  async read(index: number): Promise<Int32Array> {
    checkIndex(index, this.numSequences);
    const start = sequenceStart(index, this.seqLen);
    const ids = await readTokenRange(
      this.handle,
      this.file.dtype,
      start,
      this.seqLen + 1,
      this.file.path,
    );
    return Int32Array.from(ids);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Open a split's token stream for reading windows; checks the file's size. */
export async function openPackedSplit(file: PackedSplitFile): Promise<SequenceSource> {
  checkSeqLen(file.seqLen);
  const expected = file.tokens * bytesPerToken(file.dtype);
  const info = await stat(file.path).catch(() => null);
  if (!info || info.size !== expected) {
    throw new FormatError(
      file.path,
      info ? `has ${info.size} bytes, expected ${expected}` : 'is missing',
      'delete the cache folder to rebuild it',
    );
  }
  return new FileSequenceSource(await open(file.path, 'r'), file);
}
