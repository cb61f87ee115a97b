// Helpers for the io tests: hand-built safetensors bytes (so malformed files can
// be written byte by byte), a deterministic PRNG, and temporary folders.
export { rng as prng } from '../helpers.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { FormatError } from '../../src/errors.js';

/** A safetensors file from a header text and a data buffer (or its length). */
export function rawSafetensors(
  header: string,
  data: Uint8Array | number = 0,
  options: { pad?: boolean; declaredLength?: bigint } = {},
): Uint8Array {
  const json = new TextEncoder().encode(header);
  const padding = options.pad === false ? 0 : (8 - (json.byteLength % 8)) % 8;
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.byteLength + padding + body.byteLength);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, options.declaredLength ?? BigInt(json.byteLength + padding), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + json.byteLength + padding);
  out.set(body, 8 + json.byteLength + padding);
  return out;
}

/** Header text of tensors given as `[name, dtype, shape, begin, end]`. */
export function headerOf(
  entries: [string, string, number[], number, number][],
  metadata?: Record<string, unknown>,
): string {
  const parts = entries.map(
    ([name, dtype, shape, begin, end]) =>
      `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":[${begin},${end}]}`,
  );
  if (metadata) parts.unshift(`"__metadata__":${JSON.stringify(metadata)}`);
  return `{${parts.join(',')}}`;
}

/** A fresh temporary folder and a function that removes it. */
export async function tempFolder(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'snnlm-io-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Assert `fn` throws a FormatError naming `file` and matching `problem`. */
export function expectFormatError(fn: () => unknown, file: string, problem: RegExp): FormatError {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a FormatError').toBeInstanceOf(FormatError);
  const err = caught as FormatError;
  expect(err.file).toBe(file);
  expect(err.message.startsWith(`${file}: `)).toBe(true);
  expect(err.message).toMatch(problem);
  return err;
}

/** Async variant of `expectFormatError`. */
export async function expectFormatErrorAsync(
  promise: Promise<unknown>,
  file: string,
  problem: RegExp,
): Promise<FormatError> {
  const caught = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(caught, 'expected a FormatError').toBeInstanceOf(FormatError);
  const err = caught as FormatError;
  expect(err.file).toBe(file);
  expect(err.message).toMatch(problem);
  return err;
}

/** Elements of any typed array (numbers or bigints) as a plain array. */
export function list(values: ArrayLike<number | bigint>): (number | bigint)[] {
  return Array.from(values);
}
