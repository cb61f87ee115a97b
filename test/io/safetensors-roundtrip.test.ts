// safetensors write -> read round trips: every dtype, empty tensors, scalars,
// metadata, the reference writer's order and alignment, byte-exact re-writes,
// and the in-memory and on-demand readers agreeing.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { DTYPE_BYTES, SAFETENSORS_DTYPES } from '../../src/io/dtypes.js';
import type { ElementArray, SafetensorsDtype } from '../../src/io/dtypes.js';
import {
  bytesToElements,
  openSafetensors,
  readSafetensors,
  readSafetensorsFile,
  serializeSafetensors,
  writeSafetensors,
} from '../../src/io/index.js';
import type { TensorData } from '../../src/io/index.js';
import { list, prng, tempFolder } from './fixtures.js';

/** Sample values of each dtype, including extremes. */
function sample(dtype: SafetensorsDtype, n: number, seed: number): ElementArray {
  const rand = prng(seed);
  const ints = (lo: number, hi: number) =>
    Array.from({ length: n }, (_, i) =>
      i === 0 ? lo : i === 1 ? hi : lo + Math.floor(rand() * (hi - lo)),
    );
  switch (dtype) {
    case 'BOOL':
      return Uint8Array.from(ints(0, 1));
    case 'U8':
      return Uint8Array.from(ints(0, 255));
    case 'I8':
      return Int8Array.from(ints(-128, 127));
    case 'I16':
      return Int16Array.from(ints(-32768, 32767));
    case 'U16':
    case 'F16':
    case 'BF16':
      return Uint16Array.from(ints(0, 65535));
    case 'I32':
      return Int32Array.from(ints(-(2 ** 31), 2 ** 31 - 1));
    case 'U32':
      return Uint32Array.from(ints(0, 2 ** 32 - 1));
    case 'F32':
      return Float32Array.from({ length: n }, (_, i) =>
        i === 0 ? -Infinity : (rand() - 0.5) * 1e6,
      );
    case 'F64':
      return Float64Array.from({ length: n }, (_, i) =>
        i === 0 ? Number.MIN_VALUE : rand() - 0.5,
      );
    case 'I64':
      return BigInt64Array.from({ length: n }, (_, i) =>
        i === 0 ? -(2n ** 63n) : BigInt(i) * 2n ** 40n,
      );
    case 'U64':
      return BigUint64Array.from({ length: n }, (_, i) =>
        i === 0 ? 2n ** 64n - 1n : BigInt(i) * 2n ** 50n,
      );
  }
}

function allDtypes(): Record<string, TensorData> {
  const tensors: Record<string, TensorData> = {};
  SAFETENSORS_DTYPES.forEach((dtype, k) => {
    tensors[`t.${dtype}`] = { dtype, shape: [2, 3], data: sample(dtype, 6, k + 1) };
    tensors[`scalar.${dtype}`] = { dtype, shape: [], data: sample(dtype, 1, k + 50) };
    tensors[`empty.${dtype}`] = { dtype, shape: [3, 0, 2], data: new Uint8Array(0) };
  });
  return tensors;
}

describe('safetensors round trip', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  beforeAll(async () => ({ dir, cleanup } = await tempFolder()));
  afterAll(() => cleanup());

  it('keeps every dtype, scalar and empty tensor with its values and metadata', () => {
    const tensors = allDtypes();
    const metadata = { format: 'pt', note: 'ünïcode ✓', empty: '' };
    const file = readSafetensors(serializeSafetensors(tensors, { metadata }), { file: 'mem' });
    expect(file.metadata).toEqual(metadata);
    expect(file.tensors.size).toBe(Object.keys(tensors).length);
    for (const [name, t] of Object.entries(tensors)) {
      const got = file.tensors.get(name);
      expect(got, name).toBeDefined();
      expect(got!.dtype).toBe(t.dtype);
      expect(got!.shape).toEqual(t.shape);
      expect(list(bytesToElements(t.dtype, got!.data))).toEqual(list(t.data));
    }
  });

  it('writes no __metadata__ when none is given, and reads null', () => {
    const bytes = serializeSafetensors({
      a: { dtype: 'U8', shape: [1], data: new Uint8Array([7]) },
    });
    expect(new TextDecoder().decode(bytes.subarray(8, 16))).toBe('{"a":{"d');
    expect(readSafetensors(bytes).metadata).toBeNull();
  });

  it('writes an empty file as {} padded to 8 bytes', () => {
    const bytes = serializeSafetensors({});
    expect(Array.from(bytes)).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect(readSafetensors(bytes).tensors.size).toBe(0);
  });

  it('lays tensors out by decreasing alignment, then name, with the data 8-byte aligned', () => {
    const bytes = serializeSafetensors(allDtypes());
    const { header } = readSafetensors(bytes);
    expect(header.dataStart % 8).toBe(0);
    const order = [...header.tensors.entries()];
    for (const [name, info] of order) expect(info.begin % DTYPE_BYTES[info.dtype], name).toBe(0);
    const dtypes = [...new Set(order.map(([, i]) => i.dtype))];
    expect(dtypes).toEqual([...SAFETENSORS_DTYPES].reverse());
    const f32 = order.filter(([, i]) => i.dtype === 'F32').map(([n]) => n);
    expect(f32).toEqual(['empty.F32', 'scalar.F32', 't.F32']);
  });

  it('orders names by UTF-8 bytes like the reference writer, not by UTF-16', () => {
    // U+FF5E sorts before U+1F600 in UTF-8 (EF.. < F0..) but after it in UTF-16 (FF5E > D83D).
    const t = { dtype: 'U8', shape: [1], data: new Uint8Array([1]) } as const;
    const { header } = readSafetensors(serializeSafetensors({ '\u{1F600}': t, '\uFF5E': t }));
    expect([...header.tensors.keys()]).toEqual(['\uFF5E', '\u{1F600}']);
  });

  it('treats hostile names such as __proto__ as plain tensor names', () => {
    const t = { dtype: 'U8', shape: [1], data: new Uint8Array([3]) } as const;
    const tensors = JSON.parse('{"__proto__":1,"constructor":2}') as Record<string, unknown>;
    for (const k of Object.keys(tensors)) tensors[k] = t;
    const read = readSafetensors(serializeSafetensors(tensors as Record<string, TensorData>));
    expect([...read.tensors.keys()]).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(read.header.metadata ?? {})).toBe(Object.prototype);
  });

  it('re-writes what it read byte for byte', () => {
    const first = serializeSafetensors(allDtypes(), { metadata: { format: 'pt', b: '2', a: '1' } });
    const read = readSafetensors(first);
    const second = serializeSafetensors(read.tensors, { metadata: read.metadata });
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
  });

  it('accepts raw bytes or the typed array of the dtype, and rejects a mismatch', () => {
    const values = new Float32Array([1, 2]);
    const raw = new Uint8Array(values.buffer);
    const a = serializeSafetensors({ x: { dtype: 'F32', shape: [2], data: values } });
    const b = serializeSafetensors({ x: { dtype: 'F32', shape: [2], data: raw } });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(() =>
      serializeSafetensors({ x: { dtype: 'F32', shape: [2], data: new Int32Array(2) } }),
    ).toThrow(/dtype F32 must be a Float32Array/);
    expect(() => serializeSafetensors({ x: { dtype: 'F32', shape: [3], data: values } })).toThrow(
      ConfigError,
    );
    expect(() =>
      serializeSafetensors({ __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array() } }),
    ).toThrow(/reserved/);
    expect(() =>
      serializeSafetensors({}, { metadata: { n: 1 } as unknown as Record<string, string> }),
    ).toThrow(ConfigError);
  });

  it('reads unaligned tensors by copying them (a buffer at an odd offset)', () => {
    const bytes = serializeSafetensors({
      x: { dtype: 'F64', shape: [3], data: new Float64Array([1.5, -2, 3e300]) },
    });
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    const t = readSafetensors(shifted.subarray(1)).tensors.get('x')!;
    expect(t.data.byteOffset % 8).not.toBe(0);
    expect(Array.from(bytesToElements('F64', t.data))).toEqual([1.5, -2, 3e300]);
  });

  it('writes atomically to a path and reads back the same tensors lazily and whole', async () => {
    const path = join(dir, 'all.safetensors');
    const tensors = allDtypes();
    await writeSafetensors(path, tensors, { metadata: { format: 'pt' } });
    const whole = await readSafetensorsFile(path);
    const reader = await openSafetensors(path);
    try {
      expect(reader.names()).toEqual([...whole.tensors.keys()]);
      expect(reader.metadata).toEqual({ format: 'pt' });
      for (const name of reader.names()) {
        const lazy = await reader.read(name);
        expect(lazy.file).toBe(path);
        expect(Buffer.from(lazy.data).equals(Buffer.from(whole.tensors.get(name)!.data))).toBe(
          true,
        );
        expect(await reader.info(name)).toEqual(whole.header.tensors.get(name));
      }
      await expect(reader.read('nope')).rejects.toThrow(/no tensor named "nope"/);
    } finally {
      await reader.close();
    }
    await expect(reader.read('t.F32')).rejects.toThrow(/closed/);
  });

  it('reads one tensor of a larger file without touching the others', async () => {
    const path = join(dir, 'big.safetensors');
    const big = new Float32Array(1 << 20).map((_, i) => i);
    await writeSafetensors(path, {
      big: { dtype: 'F32', shape: [1024, 1024], data: big },
      small: { dtype: 'I16', shape: [2], data: new Int16Array([-1, 1]) },
    });
    const reader = await openSafetensors(path);
    const small = await reader.read('small');
    expect(Array.from(bytesToElements('I16', small.data))).toEqual([-1, 1]);
    expect(small.data.buffer.byteLength).toBe(4); // only its own bytes were read
    await reader.close();
  });

  it('reports a file truncated after it was opened', async () => {
    const path = join(dir, 'shrinks.safetensors');
    await writeSafetensors(path, { x: { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
    const reader = await openSafetensors(path);
    const bytes = serializeSafetensors({
      x: { dtype: 'F32', shape: [4], data: new Float32Array(4) },
    });
    await writeFile(path, bytes.subarray(0, bytes.byteLength - 3));
    await expect(reader.read('x')).rejects.toThrow(/file ended early/);
    await reader.close();
  });
});
