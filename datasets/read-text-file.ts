// Streams a UTF-8 text file in pieces of at most `maxChars` characters, cut at
// line breaks where possible (else before a space, else anywhere but inside a
// surrogate pair), so that memory stays bounded however large the file is.
// Joining the pieces gives the file's text exactly (a leading BOM is dropped).
import { createReadStream } from 'node:fs';
import { ConfigError, FormatError } from '../src/errors.js';
import { READ_CHUNK_BYTES } from './types.js';

/** Smallest piece size accepted (a cut must be able to keep a surrogate pair together). */
export const MIN_CHUNK_CHARS = 16;

/** Where to end a piece that starts at `start` and may hold at most `maxChars` characters. */
function cutIndex(text: string, start: number, maxChars: number): number {
  const end = start + maxChars;
  // Search a copy of the window: lastIndexOf on the whole text would scan back
  // to its beginning when the window has no line break.
  const window = text.slice(start, end);
  const newline = window.lastIndexOf('\n');
  if (newline >= maxChars / 2) return start + newline + 1;
  const space = window.lastIndexOf(' ');
  if (space > 0) return start + space;
  if (newline >= 0) return start + newline + 1;
  const high = text.charCodeAt(end - 1);
  return high >= 0xd800 && high <= 0xdbff ? end - 1 : end;
}

/** Check a piece size: an integer of at least MIN_CHUNK_CHARS. */
export function checkChunkChars(maxChars: number): void {
  if (!Number.isInteger(maxChars) || maxChars < MIN_CHUNK_CHARS) {
    throw new ConfigError(
      `maxChunkChars must be an integer >= ${MIN_CHUNK_CHARS}, got ${String(maxChars)}`,
    );
  }
}

/**
 * Cut `text` into pieces of at most `maxChars` characters. With `final` false
 * the tail (at most `maxChars` characters) is returned as `rest`, to be
 * continued by more text; with `final` true it is the last piece.
 */
export function takePieces(
  text: string,
  maxChars: number,
  final: boolean,
): { pieces: string[]; rest: string } {
  checkChunkChars(maxChars);
  const pieces: string[] = [];
  let start = 0;
  while (text.length - start > maxChars) {
    const cut = cutIndex(text, start, maxChars);
    pieces.push(text.slice(start, cut));
    start = cut;
  }
  if (!final) return { pieces, rest: text.slice(start) };
  if (start < text.length) pieces.push(text.slice(start));
  return { pieces, rest: '' };
}

/** Decode a file's bytes as UTF-8, chunk by chunk; invalid UTF-8 is a FormatError. */
export async function* decodeFile(path: string, label: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const stream = createReadStream(path, { highWaterMark: READ_CHUNK_BYTES });
  const decode = (bytes?: Uint8Array): string => {
    try {
      return bytes ? decoder.decode(bytes, { stream: true }) : decoder.decode();
    } catch {
      stream.destroy();
      throw new FormatError(label, 'is not valid UTF-8 text', 're-encode the file as UTF-8');
    }
  };
  try {
    for await (const chunk of stream) {
      const text = decode(chunk as Buffer);
      if (text !== '') yield text;
    }
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(label, `cannot be read: ${(e as Error).message}`);
  } finally {
    stream.destroy();
  }
  const tail = decode();
  if (tail !== '') yield tail;
}

/** The text of a file in pieces of at most `maxChars` characters (see the file header). */
export async function* readTextFile(
  path: string,
  maxChars: number,
  label = path,
): AsyncGenerator<string> {
  let rest = '';
  for await (const text of decodeFile(path, label)) {
    const cut = takePieces(rest + text, maxChars, false);
    yield* cut.pieces;
    rest = cut.rest;
  }
  yield* takePieces(rest, maxChars, true).pieces;
}
