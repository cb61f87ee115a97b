// Sharded checkpoints: the index is validated, every shard must exist, shards
// open on first use and must hold exactly the tensors the index maps to them.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import {
  bytesToElements,
  openShardedSafetensors,
  serializeSafetensors,
} from '../../src/io/index.js';
import type { TensorData } from '../../src/io/index.js';
import { expectFormatErrorAsync, tempFolder } from './fixtures.js';

const f32 = (...v: number[]): TensorData => ({
  dtype: 'F32',
  shape: [v.length],
  data: new Float32Array(v),
});

describe('sharded safetensors', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempFolder());
    await writeFile(
      join(dir, 'model-00001-of-00002.safetensors'),
      serializeSafetensors({ a: f32(1, 2), b: f32(3) }),
    );
    await writeFile(
      join(dir, 'model-00002-of-00002.safetensors'),
      serializeSafetensors({ c: f32(4, 5, 6) }),
    );
  });
  afterAll(() => cleanup());

  async function index(name: string, content: unknown): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  }
  const good = {
    metadata: { total_size: 24 },
    weight_map: {
      a: 'model-00001-of-00002.safetensors',
      b: 'model-00001-of-00002.safetensors',
      c: 'model-00002-of-00002.safetensors',
    },
  };

  it('reads tensors across shards, opening each shard lazily', async () => {
    const reader = await openShardedSafetensors(await index('good.json', good));
    expect(reader.names()).toEqual(['a', 'b', 'c']);
    expect(reader.shards).toHaveLength(2);
    expect(reader.metadata).toEqual({ total_size: 24 });
    const c = await reader.read('c');
    expect(c.file).toBe(join(dir, 'model-00002-of-00002.safetensors'));
    expect(Array.from(bytesToElements('F32', c.data))).toEqual([4, 5, 6]);
    expect((await reader.info('a')).shape).toEqual([2]);
    await reader.verify();
    await expect(reader.read('zzz')).rejects.toThrow(ConfigError);
    await reader.close();
    await expect(reader.read('a')).rejects.toThrow(/closed/);
  });

  it('names a listed shard that does not exist', async () => {
    const path = await index('missing.json', {
      weight_map: { ...good.weight_map, d: 'model-00003-of-00003.safetensors' },
    });
    await expectFormatErrorAsync(
      openShardedSafetensors(path),
      join(dir, 'model-00003-of-00003.safetensors'),
      /shard listed in .*missing\.json is missing/,
    );
  });

  it('names a tensor the index maps to a shard that lacks it', async () => {
    const path = await index('lacks.json', {
      weight_map: { ...good.weight_map, d: 'model-00002-of-00002.safetensors' },
    });
    const reader = await openShardedSafetensors(path);
    await expectFormatErrorAsync(
      reader.read('c'),
      join(dir, 'model-00002-of-00002.safetensors'),
      /shard lacks tensor "d"/,
    );
    await reader.close();
  });

  it('names a shard tensor the index does not map to it', async () => {
    const { c: _c, ...rest } = good.weight_map;
    const path = await index('extra.json', {
      weight_map: { ...rest, c: 'model-00001-of-00002.safetensors' },
    });
    const reader = await openShardedSafetensors(path);
    await expectFormatErrorAsync(
      reader.verify(),
      join(dir, 'model-00001-of-00002.safetensors'),
      /shard lacks tensor "c"/,
    );
    await reader.close();
    const path2 = await index('extra2.json', {
      weight_map: { a: 'model-00001-of-00002.safetensors', c: 'model-00002-of-00002.safetensors' },
    });
    const reader2 = await openShardedSafetensors(path2);
    await expectFormatErrorAsync(
      reader2.read('a'),
      join(dir, 'model-00001-of-00002.safetensors'),
      /shard has tensor "b", which .* does not map to it/,
    );
    await reader2.close();
  });

  it.each([
    ['not JSON', '{"weight_map":', /index is not valid JSON/],
    ['no weight_map', { metadata: {} }, /index has no "weight_map" object/],
    ['a weight_map that is an array', { weight_map: [] }, /no "weight_map" object/],
    ['a non-string shard', { weight_map: { a: 1 } }, /weight_map\["a"\] = 1 is not a file name/],
    [
      'a path outside the folder',
      { weight_map: { a: '../x.safetensors' } },
      /is not a file name in the index's folder/,
    ],
    ['an absolute path', { weight_map: { a: '/etc/passwd' } }, /is not a file name/],
    ['a duplicate tensor', '{"weight_map":{"a":"x","a":"y"}}', /index lists "a" twice/],
    ['a metadata array', { metadata: [], weight_map: {} }, /"metadata" must be an object/],
  ])('rejects an index with %s', async (what, content, problem) => {
    const path = await index(`${what.replace(/\W+/g, '-')}.json`, content);
    await expectFormatErrorAsync(openShardedSafetensors(path), path, problem);
  });

  it('names a missing index file', async () => {
    const path = join(dir, 'nope.json');
    await expectFormatErrorAsync(openShardedSafetensors(path), path, /index file not found/);
  });
});
