// Loading and saving a model folder in the Hugging Face layout (config.json +
// model.safetensors or shards): the registry picks the architecture by
// `model_type`, its checkpoint table maps the tensor names, and every name and
// shape is checked before any weight is read (checkpoint.ts).
import { join } from 'node:path';
import { ConfigError } from '../src/errors.js';
import { log } from '../src/log.js';
import { CONFIG_FILE, loadModelFolder, saveModelFolder } from '../src/io/index.js';
import type { JsonObject } from '../src/io/index.js';
import type { CausalLM } from '../src/generate/types.js';
import { checkpointTensors, loadWeights } from './checkpoint.js';
import { modelSpec } from './registry.js';
import { isCausalLM } from './types.js';
import type { PretrainedModel } from './types.js';

/** Options of `loadPretrained`. */
export interface LoadPretrainedOptions {
  /**
   * config.json fields to override, e.g. `{ architectures: ["BertForSequenceClassification"],
   * num_labels: 3 }` to put a new task head on a BERT MLM body. When the architecture
   * differs from the folder's, the head tensors the checkpoint lacks (the spec's
   * `freshHeads`) are initialised with `seed` and listed in one log line; every body
   * tensor must still be present and nothing unexpected may remain.
   */
  config?: JsonObject;
  /** Seed of the model's initialisation (what fresh head tensors keep). Default 0. */
  seed?: number;
}

const architectureOf = (c: JsonObject): string | undefined =>
  Array.isArray(c.architectures) ? String(c.architectures[0]) : undefined;

/**
 * Build the model of the folder `dir` and load its weights; the model comes back
 * in eval mode. Errors name the file and the field or tensor at fault.
 */
export async function loadPretrained(
  dir: string,
  options: LoadPretrainedOptions = {},
): Promise<PretrainedModel> {
  const folder = await loadModelFolder(dir);
  try {
    const source = join(dir, CONFIG_FILE);
    const config = { ...folder.config, ...(options.config ?? {}) };
    if (config.model_type !== folder.config.model_type) {
      throw new ConfigError(
        `${source}: options.config may not change model_type ("${String(folder.config.model_type)}")`,
      );
    }
    const spec = modelSpec(folder.config.model_type, source);
    const seed = options.seed ?? 0;
    const model = spec.fromConfig(config, source, { seed });
    try {
      const built = model.getConfig();
      const newHead = architectureOf(built) !== architectureOf(folder.config);
      const fresh = newHead && spec.freshHeads ? spec.freshHeads(built) : [];
      const r = await loadWeights(model, folder.tensors, spec.checkpoint(built), { fresh });
      if (r.fresh.length) {
        const shapes = new Map(model.namedParameters().map(([n, v]) => [n, v.shape]));
        const list = r.fresh.map((n) => `${n} [${(shapes.get(n) ?? []).join(', ')}]`);
        log.info(
          `${dir}: ${String(architectureOf(built))} head not in the checkpoint ` +
            `(saved as ${String(architectureOf(folder.config) ?? 'no architecture')}); ` +
            `new tensors initialised with seed ${seed}: ${list.join(', ')}`,
        );
      }
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
