// Converts a llama2.c checkpoint to a Hugging Face LLaMA folder (`config.json`,
// `generation_config.json`, `model.safetensors` with LlamaForCausalLM names),
// the layout transformers and transformers.js load. The only numeric change is
// the RoPE convention: llama2.c rotates adjacent pairs (2i, 2i+1) inside a head,
// Hugging Face rotates halves (i, i + head_size/2), so the rows of q_proj and
// k_proj are reordered inside every head to [0, 2, 4, ..., 1, 3, 5, ...] (the
// permutation of transformers' convert_llama_weights_to_hf); scores are unchanged.
import { saveModelFolder } from './save-model-folder.js';
import type { JsonObject } from './model-folder-files.js';
import type { TensorData } from './types.js';
import type { Llama2cCheckpoint, Llama2cConfig } from './llama2c-checkpoint.js';

/** A converted model: what `saveModelFolder` writes. */
export interface Llama2cHfModel {
  readonly config: JsonObject & { model_type: 'llama' };
  readonly generationConfig: JsonObject;
  /** LlamaForCausalLM weights by name, float32. */
  readonly tensors: Record<string, TensorData>;
}

/** Options of `saveLlama2cAsHf`. */
export interface SaveLlama2cOptions {
  /** More files for the folder (the tokenizer files, a README). */
  extraFiles?: Readonly<Record<string, string | Uint8Array | JsonObject | unknown[]>>;
  /** Replace a non-empty existing folder. @default false */
  overwrite?: boolean;
}

/** BOS and EOS ids of llama2.c vocabularies (sentencepiece defaults). */
const BOS_ID = 1;
const EOS_ID = 2;

/** `config.json` of the converted model, with the fields (and order) transformers writes. */
export function llama2cHfConfig(c: Llama2cConfig): JsonObject & { model_type: 'llama' } {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: c.vocabSize,
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: c.headSize,
    max_position_embeddings: c.seqLen,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    rope_scaling: null,
    hidden_act: 'silu',
    attention_bias: false,
    attention_dropout: 0.0,
    mlp_bias: false,
    initializer_range: 0.02,
    pretraining_tp: 1,
    tie_word_embeddings: c.sharedClassifier,
    bos_token_id: BOS_ID,
    eos_token_id: EOS_ID,
    torch_dtype: 'float32',
    use_cache: true,
  };
}

/**
 * Reorder the rows of a `[nHeads * headSize, inFeatures]` projection inside each
 * head from adjacent-pair RoPE to rotate-half: new row i = old row 2i, new row
 * i + headSize/2 = old row 2i + 1.
 */
export function permuteRopeRows(
  w: Float32Array,
  nHeads: number,
  headSize: number,
  inFeatures: number,
): Float32Array {
  const out = new Float32Array(w.length);
  const half = headSize / 2;
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < headSize; i++) {
      const from = h * headSize + (i < half ? 2 * i : 2 * (i - half) + 1);
      const to = h * headSize + i;
      out.set(w.subarray(from * inFeatures, (from + 1) * inFeatures), to * inFeatures);
    }
  }
  return out;
}

/** Convert a parsed checkpoint to LlamaForCausalLM tensors and configs (no I/O). */
export function llama2cToHf(checkpoint: Llama2cCheckpoint): Llama2cHfModel {
  const c = checkpoint.config;
  const w = checkpoint.weights;
  const { dim: D, hiddenDim: H, kvDim: K, vocabSize: V } = c;
  const f32 = (data: Float32Array, shape: number[]): TensorData => ({ dtype: 'F32', shape, data });
  /** Layer `l`'s slice of a tensor stacked over layers. */
  const at = (all: Float32Array, l: number, size: number): Float32Array =>
    all.subarray(l * size, (l + 1) * size);
  const tensors: Record<string, TensorData> = {
    'model.embed_tokens.weight': f32(w.tokenEmbedding, [V, D]),
    'model.norm.weight': f32(w.rmsFinal, [D]),
  };
  for (let l = 0; l < c.nLayers; l++) {
    const p = `model.layers.${l}.`;
    const q = permuteRopeRows(at(w.wq, l, D * D), c.nHeads, c.headSize, D);
    const k = permuteRopeRows(at(w.wk, l, K * D), c.nKvHeads, c.headSize, D);
    tensors[`${p}input_layernorm.weight`] = f32(at(w.rmsAtt, l, D), [D]);
    tensors[`${p}self_attn.q_proj.weight`] = f32(q, [D, D]);
    tensors[`${p}self_attn.k_proj.weight`] = f32(k, [K, D]);
    tensors[`${p}self_attn.v_proj.weight`] = f32(at(w.wv, l, K * D), [K, D]);
    tensors[`${p}self_attn.o_proj.weight`] = f32(at(w.wo, l, D * D), [D, D]);
    tensors[`${p}post_attention_layernorm.weight`] = f32(at(w.rmsFfn, l, D), [D]);
    tensors[`${p}mlp.gate_proj.weight`] = f32(at(w.w1, l, H * D), [H, D]);
    tensors[`${p}mlp.down_proj.weight`] = f32(at(w.w2, l, D * H), [D, H]);
    tensors[`${p}mlp.up_proj.weight`] = f32(at(w.w3, l, H * D), [H, D]);
  }
  if (w.classifier) tensors['lm_head.weight'] = f32(w.classifier, [V, D]);
  return {
    config: llama2cHfConfig(c),
    // NOTE: llama2.c stops on BOS (the story separator of its training data), so
    // BOS is listed as an end-of-sequence id next to EOS.
    generationConfig: {
      bos_token_id: BOS_ID,
      eos_token_id: [BOS_ID, EOS_ID],
      max_length: c.seqLen,
    },
    tensors,
  };
}

/**
 * Convert `checkpoint` and save it as the Hugging Face folder `dir` (atomically,
 * through `saveModelFolder`), with `options.extraFiles` beside the weights.
 */
export async function saveLlama2cAsHf(
  dir: string,
  checkpoint: Llama2cCheckpoint,
  options: SaveLlama2cOptions = {},
): Promise<Llama2cHfModel> {
  const model = llama2cToHf(checkpoint);
  await saveModelFolder(dir, {
    config: model.config,
    tensors: model.tensors,
    extraFiles: { 'generation_config.json': model.generationConfig, ...options.extraFiles },
    overwrite: options.overwrite ?? false,
  });
  return model;
}
