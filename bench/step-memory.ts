// The harness of the "memory of one training step per gradient rule and T" workloads
// (student-memory.ts, vision-memory.ts). The wasm heap only grows, so one process cannot
// measure several peaks: every (rule, T) runs in a fresh child process (this same script
// with `--rule R --T n`) that measures one step and prints one JSON row. A row holds the
// child's peak RSS (`process.resourceUsage().maxRSS`), the wasm heap after the step, and
// tf's peak bytes over a second, profiled run of the same step (`tf.profile` keeps a
// record per kernel, which would itself grow the JS heap with T, so RSS comes first).
// The summary compares each rule with itself across T: ratio = peak(T max) / peak(T min)
// and spread = max / min over every T (flat near 1 for the online rules; BPTT grows).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { tf } from '../src/tf.js';
import type { BackendInfo } from '../src/backend.js';

/** One child's measurement, plus the workload's own fields. */
export interface MemoryRow {
  rule: string;
  T: number;
  max_rss_mb: number;
  tf_peak_mb: number;
  wasm_heap_mb: number | null;
  step_s: number;
  [extra: string]: unknown;
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Child side: run `step` once for RSS and the wasm heap, then again under tf.profile. */
export async function measureStep(
  info: BackendInfo,
  rule: string,
  T: number,
  step: () => void,
): Promise<MemoryRow> {
  const t0 = performance.now();
  step();
  const stepS = (performance.now() - t0) / 1000;
  const rss = process.resourceUsage().maxRSS * 1024;
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm;
  const heap = info.backend === 'wasm' && wasm ? wasm.HEAPU8.buffer.byteLength : null;
  const prof = await tf.profile(step);
  return {
    ...{ rule, T, max_rss_mb: mb(rss), tf_peak_mb: mb(prof.peakBytes) },
    wasm_heap_mb: heap === null ? null : mb(heap),
    step_s: Math.round(stepS * 100) / 100,
  };
}

/** Parent side: run `script --rule R --T n` in a fresh process and parse its last line. */
export function runMemoryChild(script: string, rule: string, T: number): Promise<MemoryRow> {
  const root = path.resolve(path.dirname(script), '..');
  const name = path.basename(script, path.extname(script));
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', script, '--rule', rule, '--T', String(T)];
    const p = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`${name} child (${rule}, T ${T}) failed (${code}): ${err.trim()}`));
      } else resolve(JSON.parse(line) as MemoryRow);
    });
  });
}

/** Ratio peak(T max) / peak(T min) and spread max / min of one rule's rows. */
export function memoryStat(
  rows: readonly MemoryRow[],
  rule: string,
  key: 'max_rss_mb' | 'tf_peak_mb' | 'wasm_heap_mb',
): { ratio: number | null; spread: number | null } {
  const mine = rows.filter((r) => r.rule === rule && r[key] !== null);
  if (mine.length < 2) return { ratio: null, spread: null };
  const byT = [...mine].sort((a, b) => a.T - b.T);
  const v = mine.map((r) => r[key] as number);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const first = byT[0][key] as number;
  const last = byT[byT.length - 1][key] as number;
  return { ratio: round(last / first), spread: round(Math.max(...v) / Math.min(...v)) };
}

/** Parent side: every (rule, T) in its own child, logged to stderr as it lands. */
export async function measureAll(
  script: string,
  label: string,
  rules: readonly string[],
  steps: readonly number[],
): Promise<MemoryRow[]> {
  const rows: MemoryRow[] = [];
  for (const rule of rules) {
    for (const T of steps) {
      const r = await runMemoryChild(script, rule, T);
      const line = `rss ${r.max_rss_mb} MB, tf peak ${r.tf_peak_mb} MB, ${r.step_s} s`;
      process.stderr.write(`bench: ${label} ${rule} T=${T}: ${line}\n`);
      rows.push(r);
    }
  }
  return rows;
}

/**
 * When `script` is the entry point: with `--rule R --T n` run `child` and print its row;
 * with neither, run `whole` and print its JSON. Anything else is a usage error.
 */
export function memoryMain(
  script: string,
  rules: readonly string[],
  child: (rule: string, T: number) => Promise<MemoryRow>,
  whole: () => Promise<unknown>,
): void {
  if (!process.argv[1] || path.resolve(process.argv[1]) !== script) return;
  const name = path.basename(script, path.extname(script));
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { rule: { type: 'string' }, T: { type: 'string' } },
  });
  const fail = (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  };
  if (values.rule === undefined && values.T === undefined) {
    whole().then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'), fail);
    return;
  }
  const T = Number(values.T);
  if (!values.rule || !rules.includes(values.rule) || !Number.isInteger(T) || T < 1) {
    process.stderr.write(`${name}: need --rule (${rules.join('|')}) and --T (integer)\n`);
    process.exitCode = 2;
    return;
  }
  child(values.rule, T).then((row) => process.stdout.write(JSON.stringify(row) + '\n'), fail);
}

/** This module's own path helper for the workloads. */
export const scriptPath = (url: string): string => fileURLToPath(url);
