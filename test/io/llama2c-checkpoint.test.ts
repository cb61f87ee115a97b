// The llama2.c checkpoint reader: the real stories260K header and sizes, the
// legacy and "ak42" layouts on synthetic files, and rejection of truncated,
// extended, garbage and int8 files with a FormatError naming the file.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { parseLlama2cCheckpoint, readLlama2cCheckpoint } from '../../src/io/index.js';
import { STORIES_BIN, TINY, missing, tinyCheckpoint, tinyWeights } from './llama2c-fixtures.js';

function expectFormatError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError);
    expect((e as FormatError).file).toBe('ckpt.bin');
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  expect.fail('expected a FormatError');
}

describe('llama2.c checkpoint: stories260K', () => {
  const skip = missing(STORIES_BIN);
  if (skip) {
    it.skip(skip, () => undefined);
    return;
  }

  it('reads the header fields', async () => {
    const { config } = await readLlama2cCheckpoint(STORIES_BIN);
    expect(config).toEqual({
      version: 0,
      dim: 64,
      hiddenDim: 172,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      vocabSize: 512,
      seqLen: 512,
      sharedClassifier: true,
      headSize: 8,
      kvDim: 32,
    });
  });

  it('consumes the file exactly: 260,032 weights plus the RoPE tables', async () => {
    const bytes = await readFile(STORIES_BIN);
    const { weights } = parseLlama2cCheckpoint(bytes, STORIES_BIN);
    const floats = Object.values(weights).reduce((n, w) => n + (w ? w.length : 0), 0);
    expect(floats).toBe(260_032);
    expect(28 + 4 * (floats + 4096)).toBe(bytes.byteLength);
    expect(weights.classifier).toBeNull();
    expect(weights.rmsFinal.every((x) => Number.isFinite(x) && x !== 0)).toBe(true);
  });

  it('rejects the file truncated by one byte or extended by four', async () => {
    const bytes = new Uint8Array(await readFile(STORIES_BIN));
    expectFormatError(
      () => parseLlama2cCheckpoint(bytes.subarray(0, -1), 'ckpt.bin'),
      /truncated.*1056540 bytes, the file has 1056539/,
    );
    const longer = new Uint8Array(bytes.byteLength + 4);
    longer.set(bytes);
    expectFormatError(() => parseLlama2cCheckpoint(longer, 'ckpt.bin'), /trailing bytes/);
  });
});

describe('llama2.c checkpoint: layouts', () => {
  it('reads a legacy (v0) file with every tensor in place', () => {
    const { config, weights } = parseLlama2cCheckpoint(tinyCheckpoint(TINY, 0));
    expect(config).toMatchObject({ version: 0, kvDim: 4, headSize: 4, sharedClassifier: true });
    const expected = tinyWeights(TINY);
    for (const [name, values] of Object.entries(expected)) {
      if (name === 'classifier') continue;
      expect(weights[name as keyof typeof weights], name).toEqual(values);
    }
  });

  it('reads the same weights from a version 1 ("ak42") file', () => {
    const v0 = parseLlama2cCheckpoint(tinyCheckpoint(TINY, 0));
    const v1 = parseLlama2cCheckpoint(tinyCheckpoint(TINY, 1));
    expect(v1.config).toEqual({ ...v0.config, version: 1 });
    expect(v1.weights).toEqual(v0.weights);
  });

  it('reads an unshared classifier (negative vocab_size in v0, flag 0 in v1)', () => {
    const c = { ...TINY, shared: false };
    for (const version of [0, 1] as const) {
      const { config, weights } = parseLlama2cCheckpoint(tinyCheckpoint(c, version));
      expect(config.sharedClassifier).toBe(false);
      expect(config.vocabSize).toBe(10);
      expect(weights.classifier).toEqual(tinyWeights(c).classifier);
    }
  });

  it('reads from an unaligned view of a larger buffer', () => {
    const bytes = tinyCheckpoint(TINY, 0);
    const big = new Uint8Array(bytes.byteLength + 3);
    big.set(bytes, 3);
    const { weights } = parseLlama2cCheckpoint(big.subarray(3));
    expect(weights.w2).toEqual(tinyWeights(TINY).w2);
  });
});

describe('llama2.c checkpoint: bad files', () => {
  it('refuses int8 (version 2) exports with a hint', () => {
    expectFormatError(
      () => parseLlama2cCheckpoint(tinyCheckpoint(TINY, 2), 'ckpt.bin'),
      /version 2 \(int8 Q8_0\).*not supported.*hint: re-export/,
    );
  });

  it('rejects a file shorter than a header', () => {
    expectFormatError(() => parseLlama2cCheckpoint(new Uint8Array(10), 'ckpt.bin'), /too short/);
  });

  it('rejects garbage bytes', () => {
    let x = 12345;
    const garbage = Uint8Array.from({ length: 4096 }, () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x >>> 24;
    });
    expectFormatError(() => parseLlama2cCheckpoint(garbage, 'ckpt.bin'), /out of range|header/);
  });

  it('rejects text and an all-zero file', () => {
    const text = new TextEncoder().encode('{"model_type": "llama", "hidden_size": 64}');
    expectFormatError(() => parseLlama2cCheckpoint(text, 'ckpt.bin'), /out of range/);
    expectFormatError(() => parseLlama2cCheckpoint(new Uint8Array(64), 'ckpt.bin'), /dim = 0/);
  });

  it('rejects inconsistent head counts', () => {
    const bytes = tinyCheckpoint({ ...TINY, kvHeads: 3 }, 0);
    expectFormatError(() => parseLlama2cCheckpoint(bytes, 'ckpt.bin'), /not a multiple/);
  });

  it('rejects an unknown export version', () => {
    const bytes = tinyCheckpoint(TINY, 1);
    new DataView(bytes.buffer).setInt32(4, 7, true);
    expectFormatError(
      () => parseLlama2cCheckpoint(bytes, 'ckpt.bin'),
      /unknown llama2.c export version 7/,
    );
  });

  it('names a missing file', async () => {
    await expect(readLlama2cCheckpoint('no/such/model.bin')).rejects.toThrow(
      /no\/such\/model.bin: cannot read the checkpoint \(ENOENT\)/,
    );
  });
});
