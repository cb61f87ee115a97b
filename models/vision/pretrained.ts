// Vision nets as model folders (config.json + model.safetensors, written atomically
// by src/io): save after training, load for evaluation or to continue training.
import { join } from 'node:path';
import {
  CONFIG_FILE,
  loadModelFolder,
  readTfTensors,
  saveModelFolder,
} from '../../src/io/index.js';
import type { JsonObject } from '../../src/io/index.js';
import { tf } from '../../src/tf.js';
import type { Tensor } from '../../src/tf.js';
import { SpikingVisionNet } from './net.js';
import { parseVisionConfig } from './config.js';

/** What `saveVisionModel` needs of a net: its config.json and its named weights. */
export interface SavableNet {
  getConfig(): Record<string, unknown> & { model_type: string };
  namedParameters(): [string, Tensor][];
}

/** Save `net` to `dir` (`extraFiles` e.g. a results JSON); `overwrite` replaces a non-empty folder. */
export async function saveVisionModel(
  net: SavableNet,
  dir: string,
  o: { overwrite?: boolean; extraFiles?: Record<string, JsonObject | string> } = {},
): Promise<void> {
  await saveModelFolder(dir, {
    config: net.getConfig() as JsonObject,
    tensors: Object.fromEntries(net.namedParameters()),
    overwrite: o.overwrite,
    extraFiles: o.extraFiles,
  });
}

/** Load a vision net from a model folder; names and shapes are checked. Returned in eval mode. */
export async function loadVisionModel(dir: string): Promise<SpikingVisionNet> {
  const folder = await loadModelFolder(dir);
  try {
    const net = new SpikingVisionNet(parseVisionConfig(folder.config, join(dir, CONFIG_FILE)));
    try {
      const tensors = await readTfTensors(folder.tensors);
      try {
        net.loadState(tensors);
      } finally {
        tf.dispose(Object.values(tensors));
      }
    } catch (e) {
      net.dispose();
      throw e;
    }
    net.eval();
    return net;
  } finally {
    await folder.close();
  }
}
