// Memory of ONE student training step under each gradient rule (models/student-grads.ts):
// a small BiSpikCLM student (D 128, L 2, H 4, V 512, B 4, N 64; SpAD-style loss on logits,
// hidden states and maps) at T = 2, 4, 8, 16 for bptt, sltt and ottt. Each (rule, T) runs
// in a fresh child process (the wasm heap only grows, so one process cannot measure
// several peaks) that reports its peak RSS (`process.resourceUsage().maxRSS`) and, on wasm,
// the heap size after the step, then the tf engine's peak bytes over a second, profiled
// run of the same step (`tf.profile`).
// The figures to compare are the ratios peak(T = 16) / peak(T = 2) per rule: flat (near 1)
// for sltt and ottt, growing for bptt (the baseline, measured in the same run).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend.js';
import { tf } from '../src/tf.js';
import type { Scalar, Tensor } from '../src/tf.js';
import { BiSpikCLMForCausalLM, studentPreset, studentValueAndGrads } from '../models/index.js';
import type { GradientRule, StudentFeatures } from '../models/index.js';

const RULES: GradientRule[] = ['bptt', 'sltt', 'ottt'];
const STEPS = [2, 4, 8, 16];
const SHAPE = { B: 4, N: 64 };
const CONFIG = {
  vocab_size: 512,
  hidden_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  max_position_embeddings: 64,
};

/** One child's measurement. */
interface Row {
  rule: GradientRule;
  T: number;
  max_rss_mb: number;
  tf_peak_mb: number;
  wasm_heap_mb: number | null;
  step_s: number;
  loss: number;
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** A SpAD-shaped loss: CE, MSE on the hidden means, a penalty on the maps. */
function spadLike(ids: number[][]): (f: StudentFeatures) => Scalar {
  return (f) => {
    const [B, N, V] = f.logits.shape;
    const next = tf.tensor2d(
      ids.map((r) => r.slice(1)),
      [B, N - 1],
      'int32',
    );
    const lp = tf.logSoftmax(tf.slice(f.logits, [0, 0, 0], [B, N - 1, V]));
    let l: Tensor = tf.neg(tf.mean(tf.sum(tf.mul(lp, tf.oneHot(next, V)), -1)));
    for (const h of f.hidden ?? []) l = tf.add(l, tf.mean(tf.square(tf.sub(h, 0.1))));
    for (const a of f.attentions ?? []) l = tf.add(l, tf.mean(tf.square(a)));
    return l as Scalar;
  };
}

/** The child: one training step of `rule` at `T`, then its measurements as JSON. */
async function child(rule: GradientRule, T: number): Promise<void> {
  const info = await initBackend();
  const student = new BiSpikCLMForCausalLM(
    studentPreset('bispikclm', 'tiny', { ...CONFIG, time_steps: T }),
    { seed: 1 },
  );
  const rows = Array.from({ length: SHAPE.B }, (_, b) =>
    Array.from({ length: SHAPE.N }, (_, i) => (i * 31 + b * 17 + ((i * i) % 7)) % 512),
  );
  const ids = tf.tensor2d(rows, [SHAPE.B, SHAPE.N], 'int32');
  let loss = 0;
  const step = () => {
    const r = studentValueAndGrads(student, ids, spadLike(rows), {
      ...{ rule, hidden: true, attentions: true },
    });
    loss = r.value;
    tf.dispose([...r.grads.values()]);
  };
  // 1. the step alone: peak RSS and wasm heap (tf.profile keeps a record per kernel, which
  //    would grow the JS heap with T), 2. the same step again under tf.profile: tf's peak.
  const t0 = performance.now();
  step();
  const stepS = (performance.now() - t0) / 1000;
  const rss = process.resourceUsage().maxRSS * 1024;
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm;
  const heap = info.backend === 'wasm' && wasm ? wasm.HEAPU8.buffer.byteLength : null;
  const prof = await tf.profile(step);
  const row: Row = {
    ...{ rule, T, max_rss_mb: mb(rss), tf_peak_mb: mb(prof.peakBytes) },
    wasm_heap_mb: heap === null ? null : mb(heap),
    ...{ step_s: Math.round(stepS * 100) / 100, loss },
  };
  ids.dispose();
  student.dispose();
  process.stdout.write(JSON.stringify(row) + '\n');
}

/** Run one child and parse its row. */
function runChild(rule: GradientRule, T: number): Promise<Row> {
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
        reject(new Error(`student-memory child (${rule}, T ${T}) failed (${code}): ${err.trim()}`));
      } else resolve(JSON.parse(line) as Row);
    });
  });
}

/**
 * Every (rule, T) in its own process; ratios peak(T max) / peak(T min) per rule. `quick`
 * measures T = 2 and 16 only.
 */
export async function benchStudentMemory(quick = false): Promise<unknown> {
  const steps = quick ? [STEPS[0], STEPS[STEPS.length - 1]] : STEPS;
  const rows: Row[] = [];
  for (const rule of RULES) {
    for (const T of steps) {
      const r = await runChild(rule, T);
      process.stderr.write(
        `bench: student_memory ${rule} T=${T}: rss ${r.max_rss_mb} MB, tf peak ${r.tf_peak_mb} MB, ${r.step_s} s\n`,
      );
      rows.push(r);
    }
  }
  const [lo, hi] = [STEPS[0], STEPS[STEPS.length - 1]];
  const ratio = (rule: GradientRule, key: 'max_rss_mb' | 'tf_peak_mb' | 'wasm_heap_mb') => {
    const a = rows.find((r) => r.rule === rule && r.T === lo)?.[key];
    const b = rows.find((r) => r.rule === rule && r.T === hi)?.[key];
    return a && b ? Math.round((b / a) * 1000) / 1000 : null;
  };
  const ratios = Object.fromEntries(
    RULES.map((rule) => [
      rule,
      {
        rss: ratio(rule, 'max_rss_mb'),
        tf_peak: ratio(rule, 'tf_peak_mb'),
        wasm_heap: ratio(rule, 'wasm_heap_mb'),
      },
    ]),
  );
  // max / min over every T of a rule: the acceptance is "flat within 15%" for sltt and ottt
  const spread = (rule: GradientRule, key: 'max_rss_mb' | 'tf_peak_mb') => {
    const v = rows.filter((r) => r.rule === rule).map((r) => r[key]);
    return Math.round((Math.max(...v) / Math.min(...v)) * 1000) / 1000;
  };
  const spreads = Object.fromEntries(
    RULES.map((rule) => [
      rule,
      { rss: spread(rule, 'max_rss_mb'), tf_peak: spread(rule, 'tf_peak_mb') },
    ]),
  );
  return {
    model: { type: 'bispikclm', ...CONFIG, batch: SHAPE.B, positions: SHAPE.N },
    note: `ratios: peak(T=${hi}) / peak(T=${lo}) per rule; spreads: max / min over T = ${steps.join(', ')}`,
    ratios,
    spreads,
    rows,
  };
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { rule: { type: 'string' }, T: { type: 'string' } },
  });
  const rule = values.rule as GradientRule;
  const T = Number(values.T);
  if (!RULES.includes(rule) || !Number.isInteger(T) || T < 1) {
    process.stderr.write(`student-memory: need --rule (${RULES.join('|')}) and --T (integer)\n`);
    process.exitCode = 2;
  } else {
    child(rule, T).catch((e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    });
  }
}
