// Loading and saving a model folder in the Hugging Face layout (config.json +
// model.safetensors or shards): the registry picks the architecture by
// `model_type`, its checkpoint table maps the tensor names, and every name and
// shape is checked before any weight is read (checkpoint.ts).
import { join } from 'node:path';
import { ConfigError } from '../src/errors.js';
import { CONFIG_FILE, loadModelFolder, saveModelFolder } from '../src/io/index.js';
import type { JsonObject } from '../src/io/index.js';
import type { CausalLM } from '../src/generate/types.js';
import { checkpointTensors, loadWeights } from './checkpoint.js';
import { modelSpec } from './registry.js';
import { isCausalLM } from './types.js';
import type { PretrainedModel } from './types.js';

/**
 * Build the model of the folder `dir` and load its weights; the model comes back
 * in eval mode. Errors name the file and the field or tensor at fault.
 */
export async function loadPretrained(dir: string): Promise<PretrainedModel> {
  const folder = await loadModelFolder(dir);
  try {
    const source = join(dir, CONFIG_FILE);
    const spec = modelSpec(folder.config.model_type, source);
    const model = spec.fromConfig(folder.config, source);
    try {
      await loadWeights(model, folder.tensors, spec.checkpoint(model.getConfig()));
    } catch (e) {
      model.dispose();
      throw e;
    }
    model.eval();
    return model;
  } finally {
    await folder.close();
  }
}

/** `loadPretrained` for a model that must generate (`CausalLM`); else a ConfigError. */
export async function loadCausalLM(dir: string): Promise<PretrainedModel & CausalLM> {
  const model = await loadPretrained(dir);
  if (!isCausalLM(model)) {
    model.dispose();
    throw new ConfigError(
      `${join(dir, CONFIG_FILE)}: model_type "${model.modelType}" cannot generate text`,
    );
  }
  return model;
}

/** Options of `savePretrained`. */
export interface SavePretrainedOptions {
  /** Other files: `generation_config.json`, `tokenizer.json`, ... */
  extraFiles?: Readonly<Record<string, string | Uint8Array | JsonObject | unknown[]>>;
  /** Replace a non-empty folder. @default false */
  overwrite?: boolean;
  /** Dtype of the weights in the file. @default 'F32' */
  floatDtype?: 'F32' | 'F16' | 'BF16';
}

/**
 * Save `model` as a Hugging Face folder with checkpoint names (what
 * `loadPretrained`, transformers and conversion tools read), written atomically.
 */
export async function savePretrained(
  model: PretrainedModel,
  dir: string,
  options: SavePretrainedOptions = {},
): Promise<void> {
  const config = model.getConfig();
  const spec = modelSpec(config.model_type, '(model config)');
  const ckpt = checkpointTensors(model, spec.checkpoint(config));
  try {
    await saveModelFolder(dir, {
      config,
      tensors: ckpt.tensors,
      extraFiles: options.extraFiles,
      overwrite: options.overwrite,
      floatDtype: options.floatDtype,
    });
  } finally {
    ckpt.dispose();
  }
}
