// Randomised safetensors tests: random valid files round-trip byte for byte;
// truncations, random byte changes and JSON-ish noise in the header either parse
// or fail with a FormatError naming the file, never a RangeError, TypeError or
// other crash, and never a partial result.
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import {
  DTYPE_BYTES,
  SAFETENSORS_DTYPES,
  readSafetensors,
  serializeSafetensors,
} from '../../src/io/index.js';
import type { TensorData } from '../../src/io/index.js';
import { prng } from './fixtures.js';

describe('safetensors fuzz', () => {
  it('round-trips 200 random valid files byte for byte', () => {
    const rand = prng(99);
    for (let trial = 0; trial < 200; trial++) {
      const tensors: Record<string, TensorData> = {};
      const count = Math.floor(rand() * 6);
      for (let k = 0; k < count; k++) {
        const dtype = SAFETENSORS_DTYPES[Math.floor(rand() * SAFETENSORS_DTYPES.length)];
        const shape = Array.from({ length: Math.floor(rand() * 4) }, () => Math.floor(rand() * 4));
        const bytes = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
        const data = Uint8Array.from({ length: bytes }, () => Math.floor(rand() * 256));
        tensors[`t${Math.floor(rand() * 1000)}.${k}`] = { dtype, shape, data };
      }
      const metadata = rand() < 0.5 ? null : { format: 'pt', trial: String(trial) };
      const first = serializeSafetensors(tensors, { metadata });
      const read = readSafetensors(first, { file: 'random' });
      expect(read.tensors.size).toBe(count);
      expect(read.metadata).toEqual(metadata);
      const second = serializeSafetensors(read.tensors, { metadata: read.metadata });
      expect(Buffer.from(second).equals(Buffer.from(first)), `trial ${trial}`).toBe(true);
    }
  });

  it('never escapes random corruption as anything but a FormatError', () => {
    const good = serializeSafetensors(
      {
        w: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
        b: { dtype: 'I64', shape: [1], data: new BigInt64Array([5n]) },
        e: { dtype: 'BF16', shape: [0], data: new Uint16Array() },
      },
      { metadata: { format: 'pt' } },
    );
    const rand = prng(1234);
    let rejected = 0;
    for (let trial = 0; trial < 3000; trial++) {
      let bytes = good.slice();
      const kind = trial % 3;
      if (kind === 0) bytes = bytes.subarray(0, Math.floor(rand() * bytes.byteLength));
      else if (kind === 1) {
        for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) {
          bytes[Math.floor(rand() * 8 + rand() * (bytes.byteLength - 8))] = Math.floor(
            rand() * 256,
          );
        }
      } else {
        // Printable JSON-ish noise in the header only.
        const at = 8 + Math.floor(rand() * (bytes.byteLength - 8 - 32));
        bytes[at] = '{}[]",:0123456789-e.'.charCodeAt(Math.floor(rand() * 20));
      }
      try {
        readSafetensors(bytes, { file: 'fuzz' });
      } catch (e) {
        if (!(e instanceof FormatError)) expect.fail(`trial ${trial}: ${String(e)}`);
        expect(e.message.startsWith('fuzz: ')).toBe(true);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(1000);
  });
});
