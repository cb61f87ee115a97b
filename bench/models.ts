// Language-model speed: prefill and decode tokens/s of the stories260K-shaped
// LLaMA teacher and of each spiking student preset at the teacher's width and
// depth (D 64, L 5, H 8, V 512, context 512), plus decode time per token at
// context 64 vs 512 (BiSpikCLM's recurrent SFSA state should keep it flat).
// Weights are fresh random ones of the real shapes: speed does not depend on
// their values, and the bench needs no files. The teacher is the ANN baseline
// of the same shape, measured in the same run.
import { tf } from '../src/tf.js';
import type { Tensor } from '../src/tf.js';
import type { CausalLM } from '../src/generate/types.js';
import { buildModel, isCausalLM, studentPreset } from '../models/index.js';
import type { StudentType } from '../models/index.js';
import { round, time } from './timing.js';

/** stories260K's config.json (shared/models/transformersjs/stories260K). */
const TEACHER_CONFIG = {
  model_type: 'llama',
  architectures: ['LlamaForCausalLM'],
  vocab_size: 512,
  hidden_size: 64,
  intermediate_size: 172,
  num_hidden_layers: 5,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 8,
  max_position_embeddings: 512,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: true,
  bos_token_id: 1,
  eos_token_id: 2,
};

const SAME_SHAPE = {
  vocab_size: 512,
  hidden_size: 64,
  num_hidden_layers: 5,
  num_attention_heads: 8,
  max_position_embeddings: 512,
};

const PREFILL = 128;

function ids(n: number, batch = 1): Tensor {
  const data = new Int32Array(batch * n);
  for (let i = 0; i < data.length; i++) data[i] = 3 + ((i * 7919) % 500);
  return tf.tensor2d(data, [batch, n], 'int32');
}

/** Decode up to `context` tokens, then time `steps` more single-token steps (ms per token). */
function decodeMsPerToken(model: CausalLM, context: number, steps: number): number {
  const state = model.initState(1);
  try {
    const prompt = ids(context - steps);
    tf.dispose(model.decode(prompt, state));
    prompt.dispose();
    const one = ids(1);
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      const logits = model.decode(one, state);
      logits.dataSync();
      logits.dispose();
    }
    one.dispose();
    return (performance.now() - t0) / steps;
  } finally {
    state.dispose();
  }
}

async function measure(model: CausalLM, reps: number): Promise<Record<string, number>> {
  const x = ids(PREFILL);
  const prefill = await time(() => {
    const out = model.forward(x);
    out.logits.dataSync();
    tf.dispose(out as unknown as tf.TensorContainer);
  }, reps);
  x.dispose();
  const steps = 16;
  const at64 = decodeMsPerToken(model, 64, steps);
  const at512 = decodeMsPerToken(model, 512, steps);
  return {
    prefill_tok_per_s: round((PREFILL / prefill.median_ms) * 1000, 1),
    decode_tok_per_s_ctx64: round(1000 / at64, 1),
    decode_ms_per_token_ctx64: round(at64, 3),
    decode_ms_per_token_ctx512: round(at512, 3),
    decode_ctx512_over_ctx64: round(at512 / at64, 2),
  };
}

/** Prefill/decode speed of the teacher and each decoder student preset. */
export async function benchModels(reps: number): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { prefill_tokens: PREFILL, shape: SAME_SHAPE };
  const teacher = buildModel(TEACHER_CONFIG, 'bench teacher');
  if (!isCausalLM(teacher)) throw new Error('the llama teacher must be a CausalLM');
  teacher.eval();
  const base = await measure(teacher, reps);
  teacher.dispose();
  out.teacher_llama = base;
  const students: StudentType[] = ['wd-spikingformer', 'bispikclm'];
  for (const type of students) {
    const model = buildModel(studentPreset(type, 'small', SAME_SHAPE), `bench ${type}`);
    if (!isCausalLM(model)) throw new Error(`${type} must be a CausalLM`);
    model.eval();
    const m = await measure(model, reps);
    model.dispose();
    out[type] = {
      ...m,
      prefill_over_teacher: round(m.prefill_tok_per_s / base.prefill_tok_per_s, 2),
      decode_over_teacher: round(m.decode_tok_per_s_ctx64 / base.decode_tok_per_s_ctx64, 2),
    };
  }
  return out;
}
