// Memory of ONE training step of a spiking vision MLP (784-1024-1024-10, batch 128,
// LIF λ 0.5) under bptt, sltt and ottt at T = 2, 4, 8, 16 (methods-vision.md 3(f)3,
// 4(f)4; performance.md: SLTT/OTTT flat within 15% from T = 2 to 16). Each (rule, T)
// runs in a fresh child process, since the wasm heap only grows and one process cannot
// measure several peaks: it reports its peak RSS (`process.resourceUsage().maxRSS`),
// the wasm heap after the step, and the tf engine's peak bytes over a second, profiled
// run of the same step (`tf.profile`). BPTT, the baseline measured in the same run,
// holds all T steps' activations and grows with T; the online rules hold one step.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend.js';
import { tf } from '../src/tf.js';
import { SpikingVisionNet } from '../models/vision/index.js';
import { onlineGradients } from '../src/train/index.js';
import type { OnlineRule } from '../src/train/index.js';

const RULES = ['bptt', 'sltt', 'ottt'] as const;
type Rule = (typeof RULES)[number];
const STEPS = [2, 4, 8, 16];
const SHAPE = { batch: 128, hidden: [1024, 1024] };
const RULE: Record<Rule, OnlineRule> = { bptt: 'bptt', sltt: 'sltt', ottt: 'ottt-a' };

interface Row {
  rule: Rule;
  T: number;
  max_rss_mb: number;
  tf_peak_mb: number;
  wasm_heap_mb: number | null;
  step_s: number;
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

async function child(rule: Rule, T: number): Promise<void> {
  const info = await initBackend();
  const net = new SpikingVisionNet({ hidden: SHAPE.hidden, time_steps: T, seed: 1 });
  const x = tf.randomNormal([SHAPE.batch, 784], 0, 1, 'float32', 2);
  const y = tf.tensor1d(
    Array.from({ length: SHAPE.batch }, (_, i) => i % 10),
    'int32',
  );
  const step = () => {
    const { grads, result } = onlineGradients(net, x, y, { rule: RULE[rule] });
    tf.dispose([...grads.values(), result.logitsSum]);
  };
  const t0 = performance.now();
  step();
  const stepS = (performance.now() - t0) / 1000;
  const rss = process.resourceUsage().maxRSS * 1024;
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm;
  const heap = info.backend === 'wasm' && wasm ? wasm.HEAPU8.buffer.byteLength : null;
  const prof = await tf.profile(step);
  const row: Row = {
    rule,
    T,
    max_rss_mb: mb(rss),
    tf_peak_mb: mb(prof.peakBytes),
    wasm_heap_mb: heap === null ? null : mb(heap),
    step_s: Math.round(stepS * 100) / 100,
  };
  tf.dispose([x, y]);
  net.dispose();
  process.stdout.write(JSON.stringify(row) + '\n');
}

function runChild(rule: Rule, T: number): Promise<Row> {
  const self = fileURLToPath(import.meta.url);
  const root = path.resolve(path.dirname(self), '..');
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', self, '--rule', rule, '--T', String(T)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`vision-memory child (${rule}, T ${T}) failed (${code}): ${err.trim()}`));
      } else resolve(JSON.parse(line) as Row);
    });
  });
}

/** Every (rule, T) in its own process; ratios peak(T max) / peak(T min) and spreads per rule. */
export async function benchVisionMemory(): Promise<unknown> {
  const rows: Row[] = [];
  for (const rule of RULES) {
    for (const T of STEPS) {
      const r = await runChild(rule, T);
      process.stderr.write(
        `bench: vision_memory ${rule} T=${T}: rss ${r.max_rss_mb} MB, tf peak ${r.tf_peak_mb} MB, ${r.step_s} s\n`,
      );
      rows.push(r);
    }
  }
  const [lo, hi] = [STEPS[0], STEPS[STEPS.length - 1]];
  const stat = (rule: Rule, key: 'max_rss_mb' | 'tf_peak_mb') => {
    const v = rows.filter((r) => r.rule === rule).map((r) => r[key]);
    const at = (T: number) => rows.find((r) => r.rule === rule && r.T === T)?.[key] ?? NaN;
    return {
      ratio: Math.round((at(hi) / at(lo)) * 1000) / 1000,
      spread: Math.round((Math.max(...v) / Math.min(...v)) * 1000) / 1000,
    };
  };
  return {
    model: { arch: 'mlp', input: 784, hidden: SHAPE.hidden, classes: 10, batch: SHAPE.batch },
    note: `ratio: peak(T=${hi}) / peak(T=${lo}); spread: max / min over T = ${STEPS.join(', ')}`,
    rss: Object.fromEntries(RULES.map((r) => [r, stat(r, 'max_rss_mb')])),
    tf_peak: Object.fromEntries(RULES.map((r) => [r, stat(r, 'tf_peak_mb')])),
    rows,
  };
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { rule: { type: 'string' }, T: { type: 'string' } },
  });
  const rule = values.rule as Rule;
  const T = Number(values.T);
  if (values.rule === undefined && values.T === undefined) {
    benchVisionMemory().then(
      (r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'),
      (e: unknown) => {
        process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      },
    );
  } else if (!RULES.includes(rule) || !Number.isInteger(T) || T < 1) {
    process.stderr.write(`vision-memory: need --rule (${RULES.join('|')}) and --T (integer)\n`);
    process.exitCode = 2;
  } else {
    child(rule, T).catch((e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    });
  }
}
