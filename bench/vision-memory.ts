// Memory of ONE training step of a spiking vision MLP (784-1024-1024-10, batch 128,
// LIF λ 0.5) under bptt, sltt and ottt at T = 2, 4, 8, 16 (methods-vision.md 3(f)3,
// 4(f)4; performance.md: SLTT/OTTT flat within 15% from T = 2 to 16), each (rule, T) in
// a fresh child process (step-memory.ts). BPTT, the baseline measured in the same run,
// holds all T steps' activations and grows with T; the online rules hold one step.
import { initBackend } from '../src/backend.js';
import { tf } from '../src/tf.js';
import { SpikingVisionNet } from '../models/vision/index.js';
import { onlineGradients } from '../src/train/index.js';
import type { OnlineRule } from '../src/train/index.js';
import { measureAll, measureStep, memoryMain, memoryStat, scriptPath } from './step-memory.js';
import type { MemoryRow } from './step-memory.js';

const SCRIPT = scriptPath(import.meta.url);

const RULES = ['bptt', 'sltt', 'ottt'] as const;
type Rule = (typeof RULES)[number];
const STEPS = [2, 4, 8, 16];
const SHAPE = { batch: 128, hidden: [1024, 1024] };
const RULE: Record<Rule, OnlineRule> = { bptt: 'bptt', sltt: 'sltt', ottt: 'ottt-a' };

async function child(rule: string, T: number): Promise<MemoryRow> {
  const info = await initBackend();
  const net = new SpikingVisionNet({ hidden: SHAPE.hidden, time_steps: T, seed: 1 });
  const x = tf.randomNormal([SHAPE.batch, 784], 0, 1, 'float32', 2);
  const y = tf.tensor1d(
    Array.from({ length: SHAPE.batch }, (_, i) => i % 10),
    'int32',
  );
  const step = () => {
    const { grads, result } = onlineGradients(net, x, y, { rule: RULE[rule as Rule] });
    tf.dispose([...grads.values(), result.logitsSum]);
  };
  const row = await measureStep(info, rule, T, step);
  tf.dispose([x, y]);
  net.dispose();
  return row;
}

/** Every (rule, T) in its own process; ratios peak(T max) / peak(T min) and spreads per rule. */
export async function benchVisionMemory(): Promise<unknown> {
  const rows = await measureAll(SCRIPT, 'vision_memory', RULES, STEPS);
  const stat = (key: 'max_rss_mb' | 'tf_peak_mb') =>
    Object.fromEntries(RULES.map((r) => [r, memoryStat(rows, r, key)]));
  return {
    model: { arch: 'mlp', input: 784, hidden: SHAPE.hidden, classes: 10, batch: SHAPE.batch },
    note: `ratio: peak(T max) / peak(T min); spread: max / min over T = ${STEPS.join(', ')}`,
    ...{ rss: stat('max_rss_mb'), tf_peak: stat('tf_peak_mb') },
    rows,
  };
}

memoryMain(SCRIPT, RULES, child, benchVisionMemory);
