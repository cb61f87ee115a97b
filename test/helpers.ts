// Shared test helpers: backend start-up, tensor comparison, leak checks.
import { expect, vi } from 'vitest';
import { main } from '../src/cli.js';
import { initBackend } from '../src/backend.js';
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';

/** Start the project's default backend (or `SNNLM_BACKEND`) once per test file. */
export async function setupBackend(): Promise<string> {
  const info = await initBackend();
  return info.backend;
}

/** Values of a tensor as a plain nested-free array. */
export function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Element-wise closeness with an absolute + relative tolerance, naming the worst element. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol = 1e-5,
  rtol = 1e-5,
): void {
  expect(actual.length).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `element ${worst}: got ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`,
    );
  }
}

/** Run `fn` and assert it leaves the number of live tensors unchanged. */
export async function expectNoLeak(fn: () => void | Promise<void>): Promise<void> {
  const before = tf.memory().numTensors;
  await fn();
  expect(tf.memory().numTensors).toBe(before);
}

/** Seeded uniform generator in [0, 1) (mulberry32), for plain-JS test references. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Run the `snnlm` CLI in-process; returns the exit code and what it wrote. */
export async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await main(args), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
