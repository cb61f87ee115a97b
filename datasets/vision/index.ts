// Public surface of the vision data: IDX files, MNIST / Fashion-MNIST splits,
// deterministic batches and continual-learning task sequences.
export {
  IDX_MAX_DIMS,
  IDX_MAX_ELEMENTS,
  IDX_UBYTE,
  encodeIdx,
  isGzip,
  parseIdx,
  readIdx,
} from './idx.js';
export type { IdxArray } from './idx.js';
export {
  MNIST_NORMALIZATION,
  VISION_DATASETS,
  VISION_SUBDIRS,
  loadVisionDataset,
} from './mnist.js';
export type { LoadVisionOptions, VisionDataset, VisionDatasetName, VisionSplit } from './mnist.js';
export {
  batchCount,
  batches,
  gatherBatch,
  permutedTasks,
  splitTasks,
  taskSize,
  wholeSplit,
} from './batches.js';
export type { BatchOptions, VisionBatch, VisionTask } from './batches.js';
