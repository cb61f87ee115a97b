// Memory of ONE student training step under each gradient rule (models/student-grads.ts):
// a small BiSpikCLM student (D 128, L 2, H 4, V 512, B 4, N 64; SpAD-style loss on logits,
// hidden states and maps) at T = 2, 4, 8, 16 for bptt, sltt and ottt, each (rule, T) in a
// fresh child process (step-memory.ts). Flat in T (ratio near 1) for sltt and ottt,
// growing for bptt, the baseline measured in the same run.
import { initBackend } from '../src/backend.js';
import { tf } from '../src/tf.js';
import type { Scalar, Tensor } from '../src/tf.js';
import { BiSpikCLMForCausalLM, studentPreset, studentValueAndGrads } from '../models/index.js';
import type { GradientRule, StudentFeatures } from '../models/index.js';
import { measureAll, measureStep, memoryMain, memoryStat, scriptPath } from './step-memory.js';
import type { MemoryRow } from './step-memory.js';

const SCRIPT = scriptPath(import.meta.url);

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
async function child(rule: string, T: number): Promise<MemoryRow> {
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
      ...{ rule: rule as GradientRule, hidden: true, attentions: true },
    });
    loss = r.value;
    tf.dispose([...r.grads.values()]);
  };
  const row = await measureStep(info, rule, T, step);
  ids.dispose();
  student.dispose();
  return { ...row, loss };
}

/**
 * Every (rule, T) in its own process; ratios peak(T max) / peak(T min) per rule. `quick`
 * measures T = 2 and 16 only.
 */
export async function benchStudentMemory(quick = false): Promise<unknown> {
  const steps = quick ? [STEPS[0], STEPS[STEPS.length - 1]] : STEPS;
  const rows = await measureAll(SCRIPT, 'student_memory', RULES, steps);
  const stat = (key: 'max_rss_mb' | 'tf_peak_mb' | 'wasm_heap_mb') =>
    Object.fromEntries(RULES.map((r) => [r, memoryStat(rows, r, key)]));
  return {
    model: { type: 'bispikclm', ...CONFIG, batch: SHAPE.B, positions: SHAPE.N },
    note: `ratio: peak(T max) / peak(T min); spread: max / min over T = ${steps.join(', ')}`,
    ...{ rss: stat('max_rss_mb'), tf_peak: stat('tf_peak_mb'), wasm_heap: stat('wasm_heap_mb') },
    rows,
  };
}

memoryMain(SCRIPT, RULES, child, () => benchStudentMemory());
