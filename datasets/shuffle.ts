// Deterministic shuffling from our seeded xoshiro128** (src/generate/rng.ts;
// `Math.random` cannot be seeded). Each epoch's order comes from a generator
// started from four explicit state words; after shuffling, four more draws of
// that generator become the next epoch's state. A data cursor therefore needs
// only the epoch's state words to rebuild its order and continue the chain.
import { ConfigError } from '../src/errors.js';
import { createRng, rngFromState } from '../src/generate/rng.js';
import type { Rng } from '../src/generate/rng.js';

/** Four uint32 words: the state a shuffle starts from. */
export type ShuffleState = [number, number, number, number];

/** Uniform integer in [0, n) (n ≤ 2^32) without modulo bias. */
export function randomBelow(rng: Rng, n: number): number {
  // Rejection sampling on 32-bit draws: accept only below the largest multiple of n.
  const limit = 2 ** 32 - (2 ** 32 % n);
  for (;;) {
    const x = rng.nextUint32();
    if (x < limit) return x % n;
  }
}

/** A uniformly random permutation of 0..n-1 (Fisher-Yates, Knuth's Algorithm P). */
export function permutation(n: number, rng: Rng): Uint32Array {
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 32) {
    throw new ConfigError(`permutation size must be an integer in 0..2^32, got ${String(n)}`);
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = randomBelow(rng, i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** `k` distinct indices of 0..n-1 chosen uniformly, sorted ascending. */
export function sampleIndices(n: number, k: number, rng: Rng): Uint32Array {
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new ConfigError(`cannot choose ${String(k)} of ${n} items`);
  }
  // A partial Fisher-Yates: the first k slots of a shuffle.
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + randomBelow(rng, n - i);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order.slice(0, k).sort();
}

function checkState(state: readonly number[]): ShuffleState {
  if (state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)) {
    throw new ConfigError(`shuffle state must be 4 uint32 words, got ${JSON.stringify(state)}`);
  }
  return [state[0], state[1], state[2], state[3]];
}

/** The state of the first epoch of seed `seed`. */
export function initialShuffleState(seed: number): ShuffleState {
  const rng = createRng(seed);
  return [rng.nextUint32(), rng.nextUint32(), rng.nextUint32(), rng.nextUint32()];
}

/** The order of `n` items for the epoch starting at `state`, and the next epoch's state. */
export function shuffleEpoch(
  n: number,
  state: readonly number[],
): { order: Uint32Array; next: ShuffleState } {
  const rng = rngFromState(checkState(state));
  const order = permutation(n, rng);
  return { order, next: [rng.nextUint32(), rng.nextUint32(), rng.nextUint32(), rng.nextUint32()] };
}
