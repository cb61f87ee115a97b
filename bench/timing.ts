// Timing helpers for `npm run bench`: warm up, then take the median of several
// timed repetitions. Times are wall-clock milliseconds of fully finished work
// (every repetition reads its result back, so lazy backends cannot cheat).

export interface Timing {
  median_ms: number;
  min_ms: number;
  max_ms: number;
  reps: number;
}

/** Median of `reps` runs of `fn` after `warmup` untimed runs. */
export async function time(fn: () => void | Promise<void>, reps = 5, warmup = 2): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mid = Math.floor(times.length / 2);
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return {
    median_ms: round(median),
    min_ms: round(times[0]),
    max_ms: round(times[times.length - 1]),
    reps,
  };
}

/** Round to 3 decimals for readable JSON. */
export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
