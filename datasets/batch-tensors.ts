// tfjs tensors of a batch: `[B, N]` int32 inputs and targets. Kept apart from
// the batcher so that reading and batching data never loads tfjs; the caller
// owns (and disposes) the tensors, typically inside its training step's scope.
import { tf } from '../src/tf.js';
import type { Tensor2D } from '../src/tf.js';
import type { Batch } from './batcher.js';

/** `[B, N]` int32 tensors of a batch's inputs and targets. */
export function batchTensors(batch: Batch): { inputs: Tensor2D; targets: Tensor2D } {
  return {
    inputs: tf.tensor2d(batch.inputs, batch.shape, 'int32'), // [B, N]
    targets: tf.tensor2d(batch.targets, batch.shape, 'int32'), // [B, N]
  };
}
