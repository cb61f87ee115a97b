// Packing a token stream into fixed-length training sequences. Sequence k is
// the window `stream[k·N, k·N + N + 1)` of N + 1 tokens (N = seq_len): its
// first N tokens are the inputs, its last N the targets (shifted by one).
// Windows advance by N, so neighbours share one token (the last target of one
// is the first input of the next) and every token after the first is a target
// exactly once, as in llama2.c's pretokenized loader. A tail shorter than a
// window is dropped. Packed sequences are never materialised on disk: a split
// is stored as its token stream and a window is read by offset.
import { ConfigError } from '../src/errors.js';

/** Longest sequence accepted (tokens per input row). */
export const MAX_SEQ_LEN = 1 << 20;

/** Check `seq_len`: a positive integer up to MAX_SEQ_LEN. */
export function checkSeqLen(seqLen: number): void {
  if (!Number.isInteger(seqLen) || seqLen < 1 || seqLen > MAX_SEQ_LEN) {
    throw new ConfigError(`seq_len must be an integer in 1..${MAX_SEQ_LEN}, got ${String(seqLen)}`);
  }
}

/** Number of windows of `seqLen + 1` tokens in a stream of `streamLength` tokens. */
export function sequenceCount(streamLength: number, seqLen: number): number {
  checkSeqLen(seqLen);
  return streamLength > seqLen ? Math.floor((streamLength - 1) / seqLen) : 0;
}

/** Stream offset of the first token of sequence `index`. */
export function sequenceStart(index: number, seqLen: number): number {
  return index * seqLen;
}

/** Tokens of the stream that the windows use (the rest is the dropped tail). */
export function packedTokenCount(streamLength: number, seqLen: number): number {
  const n = sequenceCount(streamLength, seqLen);
  return n === 0 ? 0 : n * seqLen + 1;
}

/** All windows of an in-memory stream, each `seqLen + 1` ids (see the file header). */
export function packTokens(stream: ArrayLike<number>, seqLen: number): Int32Array[] {
  const n = sequenceCount(stream.length, seqLen);
  const out: Int32Array[] = [];
  for (let k = 0; k < n; k++) {
    const start = sequenceStart(k, seqLen);
    const seq = new Int32Array(seqLen + 1);
    for (let i = 0; i <= seqLen; i++) seq[i] = stream[start + i];
    out.push(seq);
  }
  return out;
}

/** Inputs and targets of one window: `window[0..N)` and `window[1..N]`. */
export function shiftWindow(window: ArrayLike<number>): {
  inputs: Int32Array;
  targets: Int32Array;
} {
  const n = window.length - 1;
  if (n < 1) throw new ConfigError(`a window needs at least 2 tokens, got ${window.length}`);
  const inputs = new Int32Array(n);
  const targets = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    inputs[i] = window[i];
    targets[i] = window[i + 1];
  }
  return { inputs, targets };
}
