// The loss, SpAD terms and gradients of one micro-batch: the single definition used by
// the in-process training loop (loop.ts) and by the data-parallel workers
// (parallel-task.ts), so that both compute exactly the same thing.
import type { CausalLM } from '../src/generate/index.js';
import type { Scalar, Tensor } from '../src/tf.js';
import { valueAndGrads } from '../src/train/index.js';
import { SpikingCausalLM, studentValueAndGrads } from '../models/index.js';
import type { PretrainedModel } from '../models/index.js';
import type { GradientRule } from '../models/index.js';
import { spadLoss } from './spad.js';
import type { SpadProjections, SpadTerm, SpadWeights, StudentFeatures } from './spad.js';
import { disposeFeatures } from './teacher.js';
import type { Teacher, TeacherFeatures } from './teacher.js';

/** What the loss of a micro-batch depends on besides the batch. */
export interface StepContext {
  model: PretrainedModel & CausalLM;
  /** Frozen teacher; null = cross-entropy only. */
  teacher: Teacher | null;
  projections: SpadProjections | null;
  layerMap?: readonly number[];
  weights: SpadWeights;
  /** Gradient rule of spiking students (ANN models use plain backprop). */
  rule: GradientRule;
  /** K of `sltt-k`. */
  slttK: number;
}

/** One micro-batch's outcome; the caller owns (disposes) `grads`. */
export interface StepOutcome {
  loss: number;
  terms: Partial<Record<SpadTerm, number>>;
  grads: Map<string, Tensor>;
  firingRate?: number;
}

/** Loss, terms and gradients (model + loss parameters) of ids/targets `[B, N]`. */
export async function microStep(
  ctx: StepContext,
  ids: Tensor,
  targets: Tensor,
  random: () => number,
): Promise<StepOutcome> {
  const { model, weights } = ctx;
  // a teacher whose terms are all switched off costs nothing (CE-only baselines)
  const teacherTerms = weights.logits + weights.hidden + weights.embedding + weights.attention;
  const teacher = teacherTerms > 0 ? ctx.teacher : null;
  const wantHidden = teacher !== null && (weights.hidden > 0 || weights.embedding > 0);
  const wantMaps = teacher !== null && weights.attention > 0;
  let tf_: TeacherFeatures | null = null;
  if (teacher) {
    tf_ = await teacher.features(ids, {
      hidden: wantHidden,
      embeddings: weights.embedding > 0,
      attentions: wantMaps,
    });
  }
  try {
    const studentHidden = wantHidden && Boolean(tf_?.hidden || tf_?.embeddings);
    const studentMaps = wantMaps && Boolean(tf_?.attentions);
    const terms: Partial<Record<SpadTerm, number>> = {};
    const lossFn = (f: StudentFeatures): Scalar => {
      const r = spadLoss(f, tf_, targets, {
        weights,
        layerMap: ctx.layerMap,
        projections: ctx.projections,
      });
      for (const [k, v] of Object.entries(r.terms)) terms[k as SpadTerm] = v.dataSync()[0];
      return r.total;
    };
    const lossParams = ctx.projections?.named() ?? [];
    if (model instanceof SpikingCausalLM) {
      const r = studentValueAndGrads(model, ids, lossFn, {
        rule: ctx.rule,
        ...(ctx.rule === 'sltt-k' ? { k: ctx.slttK, random } : {}),
        hidden: studentHidden,
        attentions: studentMaps,
        lossParams,
      });
      return { loss: r.value, terms, grads: r.grads, firingRate: r.firingRate };
    }
    const r = valueAndGrads(() => {
      const out = model.forward(ids, {
        outputHiddenStates: studentHidden,
        outputAttentions: studentMaps,
      });
      return lossFn({ logits: out.logits, hidden: out.hiddenStates, attentions: out.attentions });
    }, [...model.namedParameters(), ...lossParams]);
    const loss = (await r.loss.data())[0];
    r.loss.dispose();
    return { loss, terms, grads: r.grads };
  } finally {
    if (tf_) disposeFeatures(tf_);
  }
}
