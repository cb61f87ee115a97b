// The data-parallel task of the training loop (src/train/data-parallel.ts): each worker
// builds a replica of the run's model from its config (its parameters are then the
// published ones of the main thread), the frozen teacher from its folder, and the SpAD
// projections, and computes a shard's loss and gradients with `microStep`, the very
// function the in-process loop uses. Randomness (the `sltt-k` draws) comes from the
// shard's seed, so a run is deterministic given the seed and the worker count.
import { createRng } from '../src/generate/index.js';
import type { JsonObject } from '../src/io/index.js';
import { tf } from '../src/tf.js';
import type { DataParallelTask, ShardContext, TaskInfo } from '../src/train/index.js';
import type { GradientRule } from '../models/index.js';
import { instantiate } from './setup.js';
import { SpadProjections } from './spad.js';
import type { SpadWeights } from './spad.js';
import { microStep } from './step.js';
import { loadTeacher } from './teacher.js';
import type { Teacher } from './teacher.js';

/** What a worker needs to rebuild the run (JSON: it is copied to every worker). */
export interface ParallelTaskOptions {
  /** The trained model's config.json (`model.getConfig()`). */
  modelConfig: JsonObject & { model_type: string };
  seed: number;
  /** Teacher folder and adapter; null = no teacher. */
  teacher: { dir: string; engine: 'native' | 'transformersjs' } | null;
  /** Shape of the SpAD projections; null = none. */
  projections: { studentWidth: number; teacherWidth: number; studentLayers: number } | null;
  layerMap: number[] | null;
  weights: SpadWeights;
  rule: GradientRule;
  slttK: number;
}

/** A shard: `[rows, N]` row-major inputs and targets. */
export interface ParallelBatch {
  inputs: Int32Array;
  targets: Int32Array;
  shape: [number, number];
}

/** The task module's entry (see src/train/data-parallel.ts). */
export async function setup(
  o: ParallelTaskOptions,
  _info: TaskInfo,
): Promise<DataParallelTask<ParallelBatch>> {
  const model = await instantiate(
    { config: o.modelConfig, weightsDir: null, tokenizerHash: null, label: 'replica' },
    o.seed,
  );
  let teacher: Teacher | null = null;
  let projections: SpadProjections | null = null;
  try {
    if (o.teacher) teacher = await loadTeacher(o.teacher.dir, o.teacher.engine);
    if (o.projections) {
      const p = o.projections;
      projections = new SpadProjections(p.studentWidth, p.teacherWidth, p.studentLayers, o.seed);
    }
  } catch (err) {
    model.dispose();
    await teacher?.dispose();
    throw err;
  }
  const ctx = {
    model,
    teacher,
    projections,
    ...(o.layerMap ? { layerMap: o.layerMap } : {}),
    weights: o.weights,
    rule: o.rule,
    slttK: o.slttK,
  };
  return {
    params: [...model.namedParameters(), ...(projections?.named() ?? [])],
    async grads(batch: ParallelBatch, shard: ShardContext) {
      const inputs = tf.tensor2d(batch.inputs, batch.shape, 'int32');
      const targets = tf.tensor2d(batch.targets, batch.shape, 'int32');
      const rng = createRng(shard.seed);
      try {
        const out = await microStep(ctx, inputs, targets, () => rng.next());
        // every term is a mean over positions of the shard's rows: rows weight it exactly
        return { value: out.loss, weight: batch.shape[0], grads: out.grads };
      } finally {
        tf.dispose([inputs, targets]);
      }
    },
    dispose() {
      projections?.dispose();
      void teacher?.dispose();
      model.dispose();
    },
  };
}
