// Named caps on everything the io layer parses from outside (style.md 7): a hostile
// or corrupt file is refused with a FormatError instead of exhausting memory.

/**
 * Largest safetensors header accepted, in bytes (the Rust reference refuses
 * headers over 100,000,000 bytes; huggingface.js over 25 MB).
 */
export const MAX_HEADER_BYTES = 100_000_000;

/** Most tensors accepted in one safetensors file. */
export const MAX_TENSORS = 100_000;

/** Highest tensor rank accepted (PyTorch and NumPy 2 allow 64 dimensions). */
export const MAX_RANK = 64;

/** Longest tensor name accepted, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 4096;

/** Largest `model.safetensors.index.json` accepted, in bytes. */
export const MAX_INDEX_BYTES = 100_000_000;

/** Most tensors one `model.safetensors.index.json` may map. */
export const MAX_INDEX_TENSORS = 1_000_000;

/** Most shard files one index may list. */
export const MAX_SHARDS = 10_000;

/** Largest `config.json` / `generation_config.json` accepted, in bytes. */
export const MAX_CONFIG_BYTES = 10_000_000;

/** The caps a safetensors parse runs under; tests lower them to probe each one. */
export interface SafetensorsLimits {
  /** @default MAX_HEADER_BYTES */
  maxHeaderBytes: number;
  /** @default MAX_TENSORS */
  maxTensors: number;
  /** @default MAX_RANK */
  maxRank: number;
  /** @default MAX_NAME_BYTES */
  maxNameBytes: number;
}

/** The default caps. */
export const DEFAULT_LIMITS: Readonly<SafetensorsLimits> = Object.freeze({
  maxHeaderBytes: MAX_HEADER_BYTES,
  maxTensors: MAX_TENSORS,
  maxRank: MAX_RANK,
  maxNameBytes: MAX_NAME_BYTES,
});

/** Fill the caps not given with the defaults. */
export function resolveLimits(partial?: Partial<SafetensorsLimits>): SafetensorsLimits {
  return { ...DEFAULT_LIMITS, ...partial };
}

/** The caps on a `model.safetensors.index.json`. */
export interface IndexLimits {
  /** @default MAX_INDEX_BYTES */
  maxIndexBytes: number;
  /** @default MAX_INDEX_TENSORS */
  maxIndexTensors: number;
  /** @default MAX_SHARDS */
  maxShards: number;
}

/** Fill the index caps not given with the defaults. */
export function resolveIndexLimits(partial?: Partial<IndexLimits>): IndexLimits {
  return {
    maxIndexBytes: MAX_INDEX_BYTES,
    maxIndexTensors: MAX_INDEX_TENSORS,
    maxShards: MAX_SHARDS,
    ...partial,
  };
}
