// The seeded random number generator of sampling. `Math.random` cannot be
// seeded, so a seed would not reproduce a run; this is xoshiro128** (Blackman &
// Vigna, prng.di.unimi.it), 32-bit arithmetic only, seeded through SplitMix32
// so that nearby seeds give unrelated streams. Not for cryptography.
import { randomInt } from 'node:crypto';
import { ConfigError } from '../errors.js';

/** A seeded stream of uniform numbers. */
export interface Rng {
  /** The seed it was created with. */
  readonly seed: number;
  /** Uniform in [0, 1) with 53 random bits. */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
}

/** Largest seed accepted (seeds are non-negative safe integers). */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

// The live state words of every generator made here, for `rngState` (a WeakMap
// keeps the `Rng` interface unchanged and lets generators be collected).
const liveState = new WeakMap<Rng, Uint32Array>();

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** SplitMix32 step (Steele, Lea & Flood's mixer, 32-bit variant): next state and output. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

/** A new seed drawn from the operating system, for requests that give none. */
export function randomSeed(): number {
  return randomInt(0, 2 ** 48 - 1);
}

/** Check a seed: a non-negative safe integer. */
export function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new ConfigError(`seed must be an integer in 0..${MAX_SEED}, got ${String(seed)}`);
  }
}

/** A xoshiro128** generator seeded with `seed` (both 32-bit halves are used). */
export function createRng(seed: number): Rng {
  checkSeed(seed);
  const s = new Uint32Array(4);
  // SplitMix32's output is a bijection of its state: s[0] determines the low
  // half and then s[1] the high half, so two seeds never share (s[0], s[1]);
  // every word depends on both halves.
  let [a, b] = [seed >>> 0, Math.floor(seed / 2 ** 32)];
  [a, s[0]] = splitmix32(a);
  [b, s[1]] = splitmix32(b ^ s[0]);
  [, s[2]] = splitmix32(a ^ s[1]);
  [, s[3]] = splitmix32(b ^ s[2]);
  const rng = rngFromState(s, seed);
  for (let i = 0; i < 4; i++) rng.nextUint32(); // let the state words mix
  return rng;
}

/**
 * A xoshiro128** generator from its four-word state (copied; not all zero).
 * `seed` is only recorded. `createRng` is the usual entry point.
 */
export function rngFromState(state: ArrayLike<number>, seed = -1): Rng {
  const s = Uint32Array.from(state);
  if (s.length !== 4) throw new ConfigError(`xoshiro128** needs 4 state words, got ${s.length}`);
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1; // the all-zero state is a fixed point
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };
  const rng: Rng = {
    seed,
    nextUint32,
    // 26 + 27 bits, the usual construction of a double in [0, 1).
    next: () => ((nextUint32() >>> 6) * 2 ** 27 + (nextUint32() >>> 5)) / 2 ** 53,
  };
  liveState.set(rng, s);
  return rng;
}

/**
 * A copy of the four state words of a generator made by `createRng` or
 * `rngFromState`, e.g. to save in a training checkpoint:
 * `rngFromState(rngState(r), r.seed)` continues the stream exactly where `r` is.
 */
export function rngState(rng: Rng): number[] {
  const s = liveState.get(rng);
  if (!s) throw new ConfigError('rngState: this generator was not made by createRng/rngFromState');
  return Array.from(s);
}
