// Reads llama2.c checkpoints (github.com/karpathy/llama2.c, `run.c`/`export.py`):
// the legacy header-only float32 format (version 0, e.g. stories260K.bin) and the
// "ak42" float32 format (version 1). Int8 exports (version 2) are refused with a
// hint. Every size is checked against the header before any tensor is read and
// the file must be consumed exactly, so a truncated, extended or foreign file is
// a FormatError naming it. Layouts: shared/models/MANIFEST.md, "Binary layout".
import { readFile } from 'node:fs/promises';
import { FormatError } from '../errors.js';

/** Hyper-parameters from a llama2.c header (plus the derived sizes). */
export interface Llama2cConfig {
  /** 0 = legacy (no magic), 1 = "ak42" float32. */
  readonly version: 0 | 1;
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly vocabSize: number;
  readonly seqLen: number;
  /** The classifier reuses the token embedding table (tied embeddings). */
  readonly sharedClassifier: boolean;
  /** `dim / nHeads`. */
  readonly headSize: number;
  /** `dim * nKvHeads / nHeads`. */
  readonly kvDim: number;
}

/**
 * Weights of a llama2.c checkpoint, row-major `[out, in]`, each group stacked
 * over layers (layer 0 first), exactly as stored (RoPE on adjacent pairs).
 */
export interface Llama2cWeights {
  /** `[V, D]`. */
  readonly tokenEmbedding: Float32Array;
  /** `[L, D]`. */
  readonly rmsAtt: Float32Array;
  /** `[L, D, D]`. */
  readonly wq: Float32Array;
  /** `[L, kvDim, D]`. */
  readonly wk: Float32Array;
  /** `[L, kvDim, D]`. */
  readonly wv: Float32Array;
  /** `[L, D, D]`. */
  readonly wo: Float32Array;
  /** `[L, D]`. */
  readonly rmsFfn: Float32Array;
  /** Gate `[L, H, D]`. */
  readonly w1: Float32Array;
  /** Down `[L, D, H]`. */
  readonly w2: Float32Array;
  /** Up `[L, H, D]`. */
  readonly w3: Float32Array;
  /** `[D]`. */
  readonly rmsFinal: Float32Array;
  /** `[V, D]`, or null when the classifier is shared. */
  readonly classifier: Float32Array | null;
}

/** A parsed llama2.c checkpoint. */
export interface Llama2cCheckpoint {
  /** The file it came from (used in error messages). */
  readonly file: string;
  readonly config: Llama2cConfig;
  readonly weights: Llama2cWeights;
}

/** Magic number of versioned exports: "ak42" read as a little-endian uint32. */
export const LLAMA2C_MAGIC = 0x616b3432;
/** Size of the versioned header, padding included. */
export const LLAMA2C_V1_HEADER_BYTES = 256;
const LEGACY_HEADER_BYTES = 28;
/** Largest value accepted for any header size (guards against garbage headers). */
const MAX_HEADER_VALUE = 1 << 24;

const FORMAT_HINT = 'expected a llama2.c float32 checkpoint (legacy or version 1 "ak42" export)';

function readHeader(bytes: Uint8Array, file: string): Llama2cConfig & { dataStart: number } {
  if (bytes.byteLength < LEGACY_HEADER_BYTES) {
    throw new FormatError(file, `only ${bytes.byteLength} bytes, too short for a llama2.c header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let version: 0 | 1 = 0;
  let at = 0;
  let shared: boolean | null = null;
  if (view.getUint32(0, true) === LLAMA2C_MAGIC) {
    const v = view.getInt32(4, true);
    if (v === 2) {
      throw new FormatError(
        file,
        'llama2.c version 2 (int8 Q8_0) checkpoints are not supported',
        're-export the model as float32 (export.py --version 1) and convert that',
      );
    }
    if (v !== 1) throw new FormatError(file, `unknown llama2.c export version ${v}`, FORMAT_HINT);
    if (bytes.byteLength < LLAMA2C_V1_HEADER_BYTES) {
      throw new FormatError(file, `truncated: the version 1 header needs 256 bytes`, FORMAT_HINT);
    }
    version = 1;
    at = 8;
    const flag = bytes[8 + 28];
    if (flag > 1) throw new FormatError(file, `shared-classifier flag is ${flag}, not 0 or 1`);
    shared = flag === 1;
  }
  const names = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'];
  const h = names.map((_, i) => view.getInt32(at + 4 * i, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = h;
  // Legacy convention: a negative vocab_size means a separate classifier.
  if (version === 0) shared = rawVocab > 0;
  const vocabSize = version === 0 ? Math.abs(rawVocab) : rawVocab;
  [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen].forEach((value, i) => {
    if (!(value > 0 && value <= MAX_HEADER_VALUE)) {
      throw new FormatError(
        file,
        `header field ${names[i]} = ${h[i]} is out of range (1..${MAX_HEADER_VALUE})`,
        FORMAT_HINT,
      );
    }
  });
  const bad = (msg: string): never => {
    throw new FormatError(file, `inconsistent header: ${msg}`, FORMAT_HINT);
  };
  if (dim % nHeads !== 0) bad(`dim ${dim} is not a multiple of n_heads ${nHeads}`);
  if (nKvHeads > nHeads || nHeads % nKvHeads !== 0) {
    bad(`n_heads ${nHeads} is not a multiple of n_kv_heads ${nKvHeads}`);
  }
  const headSize = dim / nHeads;
  if (headSize % 2 !== 0) bad(`head size ${headSize} is odd (RoPE rotates pairs)`);
  return {
    version,
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize,
    seqLen,
    sharedClassifier: shared === true,
    headSize,
    kvDim: (dim * nKvHeads) / nHeads,
    dataStart: version === 1 ? LLAMA2C_V1_HEADER_BYTES : LEGACY_HEADER_BYTES,
  };
}

/** The tensors of a file in storage order: name and element count (`null` name = skipped). */
function layout(c: Llama2cConfig): [keyof Llama2cWeights | null, number][] {
  const { dim: D, hiddenDim: H, nLayers: L, vocabSize: V, kvDim: K } = c;
  const head: [keyof Llama2cWeights | null, number][] = [
    ['wq', L * D * D],
    ['wk', L * K * D],
    ['wv', L * K * D],
    ['wo', L * D * D],
  ];
  const ffn: [keyof Llama2cWeights | null, number][] = [
    ['w1', L * H * D],
    ['w2', L * D * H],
    ['w3', L * H * D],
  ];
  const cls: [keyof Llama2cWeights | null, number][] = c.sharedClassifier
    ? []
    : [['classifier', V * D]];
  if (c.version === 1) {
    const norms: [keyof Llama2cWeights, number][] = [
      ['rmsAtt', L * D],
      ['rmsFfn', L * D],
      ['rmsFinal', D],
    ];
    return [...norms, ['tokenEmbedding', V * D], ...head, ...ffn, ...cls];
  }
  return [
    ['tokenEmbedding', V * D],
    ['rmsAtt', L * D],
    ...head,
    ['rmsFfn', L * D],
    ...ffn,
    ['rmsFinal', D],
    [null, c.seqLen * c.headSize], // obsolete RoPE tables (cos, sin): skipped
    ...cls,
  ];
}

/** Copy `count` little-endian float32 values at `offset` into an aligned array. */
function floatsAt(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + 4 * count));
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 4 * count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  }
  return out;
}

/**
 * Parse a llama2.c checkpoint held in memory. Throws FormatError naming `file`
 * for a bad header, an int8 export, or a size that differs from the header's.
 */
export function parseLlama2cCheckpoint(bytes: Uint8Array, file = '<buffer>'): Llama2cCheckpoint {
  const { dataStart, ...config } = readHeader(bytes, file);
  const parts = layout(config);
  const floats = parts.reduce((n, [, count]) => n + count, 0);
  const expected = dataStart + 4 * floats;
  if (bytes.byteLength !== expected) {
    const what = bytes.byteLength < expected ? 'truncated' : 'has trailing bytes';
    throw new FormatError(
      file,
      `${what}: the header (dim ${config.dim}, ${config.nLayers} layers, vocab ${config.vocabSize}) ` +
        `implies ${expected} bytes, the file has ${bytes.byteLength}`,
      FORMAT_HINT,
    );
  }
  const weights: Partial<Record<keyof Llama2cWeights, Float32Array | null>> = { classifier: null };
  let offset = dataStart;
  for (const [name, count] of parts) {
    if (name) weights[name] = floatsAt(bytes, offset, count);
    offset += 4 * count;
  }
  return { file, config, weights: weights as unknown as Llama2cWeights };
}

/** Read and parse the llama2.c checkpoint at `path` (see `parseLlama2cCheckpoint`). */
export async function readLlama2cCheckpoint(path: string): Promise<Llama2cCheckpoint> {
  const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new FormatError(path, `cannot read the checkpoint (${e.code ?? e.message})`);
  });
  return parseLlama2cCheckpoint(bytes, path);
}
