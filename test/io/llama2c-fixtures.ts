// Helpers for the llama2.c tests: tiny synthetic checkpoints written byte by
// byte in the legacy (v0), "ak42" float32 (v1) and int8 (v2) layouts of
// shared/models/MANIFEST.md, and the paths of the shared real files.
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Header of a synthetic checkpoint. */
export interface TinyConfig {
  dim: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  seq: number;
  shared: boolean;
}

export const TINY: TinyConfig = {
  dim: 8,
  hidden: 12,
  layers: 2,
  heads: 2,
  kvHeads: 1,
  vocab: 10,
  seq: 4,
  shared: true,
};

/** Weights of a synthetic checkpoint; every value distinct (its own index + a group offset). */
export function tinyWeights(c: TinyConfig): Record<string, Float32Array> {
  const { dim: D, hidden: H, layers: L, vocab: V } = c;
  const K = (D * c.kvHeads) / c.heads;
  const sizes: Record<string, number> = {
    tokenEmbedding: V * D,
    rmsAtt: L * D,
    wq: L * D * D,
    wk: L * K * D,
    wv: L * K * D,
    wo: L * D * D,
    rmsFfn: L * D,
    w1: L * H * D,
    w2: L * D * H,
    w3: L * H * D,
    rmsFinal: D,
    classifier: c.shared ? 0 : V * D,
  };
  const out: Record<string, Float32Array> = {};
  Object.entries(sizes).forEach(([name, n], g) => {
    out[name] = Float32Array.from({ length: n }, (_, i) => g * 1000 + i + 0.25);
  });
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const bytesOf = (a: Float32Array | Int32Array): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A checkpoint file in llama2.c version `version` (0 legacy, 1 float32, 2 int8 header only). */
export function tinyCheckpoint(c: TinyConfig, version: 0 | 1 | 2): Uint8Array {
  const w = tinyWeights(c);
  const ints = [c.dim, c.hidden, c.layers, c.heads, c.kvHeads, c.vocab, c.seq];
  if (version === 0) {
    if (!c.shared) ints[5] = -c.vocab;
    const rope = new Float32Array(c.seq * (c.dim / c.heads)).fill(7);
    const order = ['tokenEmbedding', 'rmsAtt', 'wq', 'wk', 'wv', 'wo', 'rmsFfn', 'w1', 'w2', 'w3'];
    return concat([
      bytesOf(Int32Array.from(ints)),
      ...order.map((k) => bytesOf(w[k])),
      bytesOf(w.rmsFinal),
      bytesOf(rope),
      bytesOf(w.classifier),
    ]);
  }
  const header = new Uint8Array(256);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0x616b3432, true);
  view.setInt32(4, version, true);
  ints.forEach((v, i) => view.setInt32(8 + 4 * i, v, true));
  header[36] = c.shared ? 1 : 0;
  if (version === 2) return concat([header, new Uint8Array(64)]);
  const order = ['rmsAtt', 'rmsFfn', 'rmsFinal', 'tokenEmbedding'];
  order.push('wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3', 'classifier');
  return concat([header, ...order.map((k) => bytesOf(w[k]))]);
}

/** A llama2.c tokenizer file from pieces and scores. */
export function tokenizerBytes(pieces: string[], scores: number[], maxLength?: number): Uint8Array {
  const enc = new TextEncoder();
  const encoded = pieces.map((p) => enc.encode(p));
  const max = maxLength ?? Math.max(...encoded.map((e) => e.byteLength));
  const parts: Uint8Array[] = [bytesOf(Int32Array.of(max))];
  encoded.forEach((e, i) => {
    parts.push(bytesOf(Float32Array.of(scores[i])), bytesOf(Int32Array.of(e.byteLength)), e);
  });
  return concat(parts);
}

/** `shared/models` beside the repository, resolved from the test folder. */
export const SHARED_MODELS = path.resolve(import.meta.dirname, '../../../shared/models');
export const STORIES_BIN = path.join(SHARED_MODELS, 'llama2c/stories260K.bin');
export const TOK512_BIN = path.join(SHARED_MODELS, 'llama2c/tok512.bin');
export const STORIES_HF = path.join(SHARED_MODELS, 'transformersjs/stories260K');

/** Skip message for a test that needs a shared file, or null when it is there. */
export function missing(...files: string[]): string | null {
  const absent = files.filter((f) => !existsSync(f));
  return absent.length === 0
    ? null
    : `needs ${absent.join(', ')} (shared/models, see MANIFEST.md); not present here`;
}
