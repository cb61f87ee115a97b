// Helpers of the spiking-student tests: tiny configs, token rows, disposal of outputs,
// decoding a sequence in chunks, and the losses the gradient tests take.
import {
  BiSpikCLMForCausalLM,
  studentPreset,
  WDSpikingformerForCausalLM,
  WESpikingformer,
} from '../../models/index.js';
import type { SpikingCausalLM, StudentType } from '../../models/index.js';
import type { JsonObject } from '../../src/io/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';

const CLASSES = {
  'we-spikingformer': WESpikingformer,
  'wd-spikingformer': WDSpikingformerForCausalLM,
  bispikclm: BiSpikCLMForCausalLM,
};

/** A tiny preset of `type` (V 64, D 32, L 2, H 2, N <= 32) built with `seed`. */
export function tinyStudent<M = SpikingCausalLM>(
  type: StudentType,
  overrides: Record<string, unknown> = {},
  seed = 1,
): M {
  const cfg = studentPreset(type, 'tiny', overrides as JsonObject);
  return new CLASSES[type](cfg, { seed }) as M;
}

/** A tiny WE-Spikingformer. */
export function tinyEncoder(overrides: Record<string, unknown> = {}, seed = 1): WESpikingformer {
  return tinyStudent<WESpikingformer>('we-spikingformer', overrides, seed);
}

/** A deterministic token row of length n over the tiny vocabulary (64). */
export const row = (n: number, seed: number): number[] =>
  Array.from({ length: n }, (_, i) => (i * 7 + seed * 13 + ((i * i) % 5)) % 64);

/** Ids as int32 `[B, N]`. */
export function ids(rows: number[][]): Tensor {
  return tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');
}

/** Dispose every tensor of a (nested) output object. */
export function disposeAll(out: object): void {
  tf.dispose(Object.values(out).flat() as Tensor[]);
}

/** Feed `rows` to `model.decode` in chunks of the given sizes; returns the concatenated logits. */
export function decodeInChunks(model: SpikingCausalLM, rows: number[][], chunks: number[]): Tensor {
  const st = model.initState(rows.length);
  const parts: Tensor[] = [];
  let at = 0;
  for (const n of chunks) {
    const x = ids(rows.map((r) => r.slice(at, at + n)));
    parts.push(model.decode(x, st));
    x.dispose();
    at += n;
  }
  st.dispose();
  const all = tf.concat(parts, 1); // [B, N, V]
  tf.dispose(parts);
  return all;
}

/** Mean next-token CE of logits `[B, N, V]` against `rows` (scalar). */
export function nextTokenCE(logits: Tensor, rows: number[][]): Tensor {
  const [B, N, V] = logits.shape as number[];
  const next = tf.tensor2d(
    rows.map((r) => r.slice(1)),
    [B, N - 1],
    'int32',
  );
  const lp = tf.logSoftmax(tf.slice(logits, [0, 0, 0], [B, N - 1, V])); // [B, N-1, V]
  return tf.neg(tf.mean(tf.sum(tf.mul(lp, tf.oneHot(next, V)), -1)));
}

/** MLM CE of logits `[B, N, V]` at the `masked` positions of `rows` (scalar). */
export function mlmCE(logits: Tensor, rows: number[][], masked: number[]): Tensor {
  const [B, N, V] = logits.shape as number[];
  const sel = tf.tensor2d(
    rows.map(() => Array.from({ length: N }, (_, i) => (masked.includes(i) ? 1 : 0))),
    [B, N],
  );
  const lp = tf.logSoftmax(logits); // [B, N, V]
  const nll = tf.neg(tf.sum(tf.mul(lp, tf.oneHot(ids(rows), V)), -1)); // [B, N]
  return tf.div(tf.sum(tf.mul(nll, sel)), tf.sum(sel));
}
