// The model folder a finished run leaves in `<out>/model`: the trained weights in the
// Hugging Face layout (savePretrained), the tokenizer files, the generation defaults of
// the teacher when it has them, the learned SpAD projections, and `distill_config.json`
// recording how the model was made (teacher, data hash, losses, rule, steps, tokens,
// seed, final validation perplexity), so that every result traces back to its run.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TOKENIZER_FILES } from '../datasets/index.js';
import { GENERATION_CONFIG_FILE, fromTfTensor, serializeSafetensors } from '../src/io/index.js';
import type { JsonObject, TensorData } from '../src/io/index.js';
import { savePretrained } from '../models/index.js';
import type { PretrainedModel } from '../models/index.js';
import { FINAL_MODEL_DIR } from './loop.js';
import type { SpadProjections } from './spad.js';

export const DISTILL_CONFIG_FILE = 'distill_config.json';
export const PROJECTIONS_FILE = 'spad_projections.safetensors';

/** What `saveFinalModel` writes. */
export interface FinalModelOptions {
  model: PretrainedModel;
  /** Run folder; the model goes to `<outDir>/model`. */
  outDir: string;
  /** Folder whose tokenizer files are copied. */
  tokenizerDir: string;
  /** Folder whose generation_config.json is copied when present (the teacher). */
  generationConfigDir?: string | null;
  projections?: SpadProjections | null;
  /** Content of distill_config.json. */
  record: JsonObject;
}

/** Write the final model folder (atomically; a previous one is replaced). Returns its path. */
export async function saveFinalModel(o: FinalModelOptions): Promise<string> {
  const dir = join(resolve(o.outDir), FINAL_MODEL_DIR);
  const extraFiles: Record<string, string | Uint8Array | JsonObject> = {};
  for (const name of TOKENIZER_FILES) {
    const path = join(o.tokenizerDir, name);
    if (existsSync(path)) extraFiles[name] = await readFile(path);
  }
  const gen = o.generationConfigDir ? join(o.generationConfigDir, GENERATION_CONFIG_FILE) : null;
  if (gen && existsSync(gen)) extraFiles[GENERATION_CONFIG_FILE] = await readFile(gen);
  if (o.projections?.active) {
    const tensors = new Map<string, TensorData>();
    for (const [n, v] of o.projections.named()) tensors.set(n, await fromTfTensor(v));
    extraFiles[PROJECTIONS_FILE] = serializeSafetensors(tensors, { metadata: { format: 'pt' } });
  }
  extraFiles[DISTILL_CONFIG_FILE] = o.record;
  await savePretrained(o.model, dir, { extraFiles, overwrite: true });
  return dir;
}
