// EnergyCounter: the Recorder that turns layer reports into per-layer tallies of
// firing rate, synaptic operations (events × fan-out = T · fr · FLOPs), MACs vs ACs,
// calls and activation/weight traffic (methods-language.md 0.2, 5(b), 6.1).
// It reads each entering tensor synchronously, inside the caller's tidy, through a
// scalar it disposes at once, so counting leaves the tensor count unchanged.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ConfigError, ShapeError, checkPositiveInt } from '../errors.js';
import type { EnergyConfig } from './config.js';
import { estimateEnergy } from './estimate.js';
import type { EnergyReport } from './estimate.js';
import { withRecorder } from './recorder.js';
import type { Encoding, LayerWork, Recorder } from './recorder.js';
import { addTally, bitsPerElement, emptyTally } from './tally.js';
import type { LayerTally } from './tally.js';

const ENCODINGS: readonly Encoding[] = ['spike', 'ternary', 'integer', 'real'];
const KINDS: readonly LayerWork['kind'][] = ['linear', 'attention', 'other'];

/**
 * Events in a tensor: non-zero elements for spike/ternary input (a `-1` is one
 * event), the sum of counts for integer input (a count n is n binary sub-steps).
 */
export function countEvents(x: Tensor, encoding: Encoding): number {
  if (encoding === 'real') return x.size;
  const s = tf.tidy(() =>
    encoding === 'integer'
      ? tf.sum(tf.cast(tf.round(tf.abs(x)), 'int32'))
      : tf.sum(tf.cast(tf.notEqual(x, 0), 'int32')),
  );
  const n = s.dataSync()[0];
  s.dispose();
  return n;
}

/** Counts every layer report it receives while active (see `count`). */
export class EnergyCounter implements Recorder {
  private readonly byLayer = new Map<string, LayerTally>();
  private exampleCount = 0;

  /** Examples (batch rows) counted so far, the divisor of per-example reports. */
  get examples(): number {
    return this.exampleCount;
  }

  /** Run `fn` with this counter active and add `examples` to the example count. */
  count<T>(examples: number, fn: () => T): T {
    checkPositiveInt(examples, 'examples');
    const result = withRecorder(this, fn);
    this.exampleCount += examples;
    return result;
  }

  /** Add examples counted through `withRecorder(counter, ...)` directly. */
  addExamples(examples: number): void {
    checkPositiveInt(examples, 'examples');
    this.exampleCount += examples;
  }

  /** Forget every tally and the example count. */
  reset(): void {
    this.byLayer.clear();
    this.exampleCount = 0;
  }

  /** Copies of the per-layer tallies, in the order layers were first seen. */
  tallies(): LayerTally[] {
    return [...this.byLayer.values()].map((t) => ({ ...t }));
  }

  /** The energy report of everything counted; per example when examples were counted. */
  report(config: Partial<EnergyConfig> = {}): EnergyReport {
    return estimateEnergy(this.tallies(), config, { examples: this.exampleCount });
  }

  /** Recorder hook: tally one layer call. */
  record(work: LayerWork): void {
    const call = tallyWork(work);
    const prev = this.byLayer.get(work.layer);
    if (prev) addTally(prev, call);
    else this.byLayer.set(work.layer, call);
  }
}

/** One call's tally, reading the input (and the second attention operand) once. */
export function tallyWork(w: LayerWork): LayerTally {
  checkWork(w);
  const T = w.timeSteps;
  const t = emptyTally(w.layer, w.kind, w.encoding, w.firstLayer ?? false, w.op);
  t.calls = 1;
  t.flops = w.flopsPerStep;
  if (w.kind === 'other') {
    t.time_steps = T;
    t.dense_ops = w.flopsPerStep * T;
    return t;
  }
  const D = w.encoding === 'integer' ? (w.maxCount ?? 1) : 1;
  const elements = w.input.size;
  t.time_steps = T * D;
  t.slots = elements * D;
  t.events = countEvents(w.input, w.encoding);
  t.dense_ops = w.flopsPerStep * T * D;
  t.input_bytes_dense = elements * 4;
  t.input_bytes_packed = (elements * bitsPerElement(w.encoding, w.maxCount)) / 8;
  t.weight_bytes = ((w.weightCount ?? 0) * (w.weightBits ?? 32)) / 8;
  if (w.encoding === 'real' || elements === 0) return t;
  // events × fan-out, fan-out = FLOPs per step / input elements per step.
  const sops = (t.events * w.flopsPerStep * T) / elements;
  t.sops_one_operand = t.sops_two_operand = sops;
  if (w.kind === 'attention' && w.other) {
    const enc = w.otherEncoding ?? w.encoding;
    if (enc === 'real') return t; // a dense second operand: only `input` is sparse
    const frA = t.events / t.slots;
    t.other_slots = w.other.size * (enc === 'integer' ? (w.maxCount ?? 1) : 1);
    t.other_events = countEvents(w.other, enc);
    const frB = t.other_slots > 0 ? t.other_events / t.other_slots : 0;
    t.sops_one_operand = t.dense_ops * Math.min(frA, frB);
    t.sops_two_operand = t.dense_ops * frA * frB;
  }
  return t;
}

function checkWork(w: LayerWork): void {
  const where = `layer '${String(w.layer)}'`;
  if (typeof w.layer !== 'string' || w.layer.length === 0) {
    throw new ConfigError(`layer must be a non-empty name, got ${JSON.stringify(w.layer)}`);
  }
  if (!KINDS.includes(w.kind))
    throw new ConfigError(`${where}: unknown kind ${JSON.stringify(w.kind)}`);
  if (!ENCODINGS.includes(w.encoding)) {
    throw new ConfigError(`${where}: unknown encoding ${JSON.stringify(w.encoding)}`);
  }
  checkPositiveInt(w.timeSteps, `${where}: timeSteps`);
  if (!(Number.isFinite(w.flopsPerStep) && w.flopsPerStep >= 0)) {
    throw new ConfigError(
      `${where}: flopsPerStep must be a finite number >= 0, got ${w.flopsPerStep}`,
    );
  }
  if (w.maxCount !== undefined) checkPositiveInt(w.maxCount, `${where}: maxCount`);
  if (w.kind !== 'other' && w.input.size % w.timeSteps !== 0) {
    throw new ShapeError(
      `${where}: input of ${w.input.size} elements does not split into timeSteps ${w.timeSteps}`,
    );
  }
}
