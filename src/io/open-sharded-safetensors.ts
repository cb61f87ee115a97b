// Opens a sharded checkpoint from its `model.safetensors.index.json`
// (`{"metadata": {...}, "weight_map": {"<tensor>": "<shard file>"}}`). Every
// listed shard must exist when the index is opened; each shard is opened on the
// first read of one of its tensors, and its header must list exactly the tensors
// the index maps to it.
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigError, FormatError } from '../errors.js';
import { findDuplicateKey } from './json-duplicate-keys.js';
import { resolveIndexLimits } from './limits.js';
import type { IndexLimits } from './limits.js';
import { openSafetensors } from './open-safetensors.js';
import type { OpenSafetensorsOptions, SafetensorsReader } from './open-safetensors.js';
import type { SafetensorsTensor, TensorInfo, TensorSource } from './types.js';

/** A sharded checkpoint opened for on-demand reads. */
export interface ShardedSafetensorsReader extends TensorSource {
  /** The index's `metadata` object (e.g. `total_size`), or null. */
  readonly metadata: Readonly<Record<string, unknown>> | null;
  /** Shard file names, in first-use order of the index. */
  readonly shards: readonly string[];
  /** Shard file holding a tensor (relative to the index's folder). */
  shardOf(name: string): string;
  /** Open every shard now and check its names against the index. */
  verify(): Promise<void>;
}

/** Options of `openShardedSafetensors`. */
export interface OpenShardedOptions extends OpenSafetensorsOptions {
  /** Caps on the index file. @default MAX_INDEX_BYTES, MAX_INDEX_TENSORS, MAX_SHARDS */
  indexLimits?: Partial<IndexLimits>;
}

const INDEX_HINT = 'a sharded checkpoint needs model.safetensors.index.json with a "weight_map"';

function isPlainShardName(name: string): boolean {
  return (
    name.length > 0 &&
    name !== '.' &&
    name !== '..' &&
    !name.includes('/') &&
    !name.includes('\\') &&
    !name.includes('\0')
  );
}

async function parseIndex(indexPath: string, limits: IndexLimits) {
  const info = await stat(indexPath).catch(() => null);
  if (!info) throw new FormatError(indexPath, 'index file not found', INDEX_HINT);
  if (info.size > limits.maxIndexBytes) {
    throw new FormatError(
      indexPath,
      `index is too big: ${info.size} bytes (limit ${limits.maxIndexBytes})`,
    );
  }
  const text = await readFile(indexPath, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new FormatError(
      indexPath,
      `index is not valid JSON: ${(e as Error).message}`,
      INDEX_HINT,
    );
  }
  const root = parsed as { weight_map?: unknown; metadata?: unknown } | null;
  const map = root?.weight_map;
  if (
    typeof root !== 'object' ||
    Array.isArray(root) ||
    typeof map !== 'object' ||
    !map ||
    Array.isArray(map)
  ) {
    throw new FormatError(indexPath, 'index has no "weight_map" object', INDEX_HINT);
  }
  const dup = findDuplicateKey(text);
  if (dup) throw new FormatError(indexPath, `index lists "${dup.key}" twice`);
  const meta = root.metadata ?? null;
  if (meta !== null && (typeof meta !== 'object' || Array.isArray(meta))) {
    throw new FormatError(indexPath, 'index "metadata" must be an object');
  }
  const entries = Object.entries(map as Record<string, unknown>);
  if (entries.length > limits.maxIndexTensors) {
    throw new FormatError(
      indexPath,
      `too many tensors: ${entries.length} (limit ${limits.maxIndexTensors})`,
    );
  }
  const weightMap = new Map<string, string>();
  for (const [tensor, shard] of entries) {
    if (typeof shard !== 'string' || !isPlainShardName(shard)) {
      throw new FormatError(
        indexPath,
        `weight_map["${tensor}"] = ${JSON.stringify(shard)} is not a file name in the index's folder`,
      );
    }
    weightMap.set(tensor, shard);
  }
  return { weightMap, metadata: meta as Record<string, unknown> | null };
}

/**
 * Open a sharded checkpoint by its index file. Checks at once that every listed
 * shard exists (FormatError naming the missing file); shard headers are read on
 * first use. Close the reader to release the shards' file handles.
 */
export async function openShardedSafetensors(
  indexPath: string,
  options: OpenShardedOptions = {},
): Promise<ShardedSafetensorsReader> {
  const limits = resolveIndexLimits(options.indexLimits);
  const { weightMap, metadata } = await parseIndex(indexPath, limits);
  const shards = [...new Set(weightMap.values())];
  if (shards.length > limits.maxShards) {
    throw new FormatError(
      indexPath,
      `too many shards: ${shards.length} (limit ${limits.maxShards})`,
    );
  }
  const folder = dirname(indexPath);
  for (const shard of shards) {
    const ok = await stat(join(folder, shard)).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!ok) {
      throw new FormatError(
        join(folder, shard),
        `shard listed in ${indexPath} is missing`,
        INDEX_HINT,
      );
    }
  }
  const opened = new Map<string, Promise<SafetensorsReader>>();
  let closed = false;

  const openShard = (shard: string): Promise<SafetensorsReader> => {
    let pending = opened.get(shard);
    if (!pending) {
      pending = (async () => {
        const reader = await openSafetensors(join(folder, shard), options);
        const expected = [...weightMap].filter(([, s]) => s === shard).map(([t]) => t);
        const missing = expected.find((t) => !reader.has(t));
        const extra = reader.names().find((t) => weightMap.get(t) !== shard);
        if (missing !== undefined || extra !== undefined) {
          await reader.close();
          throw new FormatError(
            reader.file,
            missing !== undefined
              ? `shard lacks tensor "${missing}", which ${indexPath} maps to it`
              : `shard has tensor "${extra}", which ${indexPath} does not map to it`,
            'the index and the shards are from different checkpoints',
          );
        }
        return reader;
      })();
      opened.set(shard, pending);
    }
    return pending;
  };
  const shardOf = (name: string): string => {
    if (closed) throw new ConfigError(`${indexPath}: reader is closed`);
    const shard = weightMap.get(name);
    if (shard === undefined) throw new ConfigError(`${indexPath}: no tensor named "${name}"`);
    return shard;
  };

  return {
    file: indexPath,
    metadata,
    shards,
    shardOf,
    names: () => [...weightMap.keys()],
    has: (name) => weightMap.has(name),
    async info(name: string): Promise<TensorInfo> {
      const reader = await openShard(shardOf(name));
      return reader.info(name);
    },
    async read(name: string): Promise<SafetensorsTensor> {
      const reader = await openShard(shardOf(name));
      return reader.read(name);
    },
    async verify(): Promise<void> {
      await Promise.all(shards.map(openShard));
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const readers = await Promise.allSettled(opened.values());
      for (const r of readers) if (r.status === 'fulfilled') await r.value.close();
    },
  };
}
