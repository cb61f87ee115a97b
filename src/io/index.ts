// Public surface of snnlm's file I/O: safetensors read/write (whole-buffer,
// on-demand and sharded), tfjs conversions, atomic writes and Hugging Face
// model folders. Other folders import from here only.
export { SAFETENSORS_DTYPES, DTYPE_BYTES, isSafetensorsDtype, isFloatDtype } from './dtypes.js';
export type { SafetensorsDtype, DtypeArrays, ElementArray } from './dtypes.js';
export {
  MAX_HEADER_BYTES,
  MAX_TENSORS,
  MAX_RANK,
  MAX_NAME_BYTES,
  MAX_INDEX_BYTES,
  MAX_INDEX_TENSORS,
  MAX_SHARDS,
  MAX_CONFIG_BYTES,
  DEFAULT_LIMITS,
} from './limits.js';
export type { SafetensorsLimits, IndexLimits } from './limits.js';
export type {
  TensorInfo,
  SafetensorsHeader,
  TensorData,
  SafetensorsTensor,
  TensorSource,
} from './types.js';
export { bytesToElements, elementsToBytes } from './typed-data.js';
export {
  decodeF16,
  encodeF16,
  decodeBF16,
  encodeBF16,
  f16BitsToNumber,
  numberToF16Bits,
  bf16BitsToNumber,
  numberToBf16Bits,
} from './half.js';
export { readSafetensors, readSafetensorsFile } from './read-safetensors.js';
export type { ReadSafetensorsOptions, SafetensorsContents } from './read-safetensors.js';
export { openSafetensors } from './open-safetensors.js';
export type { OpenSafetensorsOptions, SafetensorsReader } from './open-safetensors.js';
export { openShardedSafetensors } from './open-sharded-safetensors.js';
export type { ShardedSafetensorsReader, OpenShardedOptions } from './open-sharded-safetensors.js';
export { serializeSafetensors, writeSafetensors } from './write-safetensors.js';
export type { TensorMap, WriteSafetensorsOptions } from './write-safetensors.js';
export { decodeToFloat32, decodeToInt32, decodeToBool } from './decode-elements.js';
export { toTfTensor, readTfTensors, defaultTfDtype } from './to-tf-tensor.js';
export type { TfDtype, ToTfOptions, ReadTfTensorsOptions } from './to-tf-tensor.js';
export { fromTfTensor } from './from-tf-tensor.js';
export type { FromTfOptions } from './from-tf-tensor.js';
export { syncDirectory, writeFileAtomic } from './write-file-atomic.js';
export type {
  FileContent,
  WriteFileAtomicOptions,
  AtomicFs,
  AtomicFileHandle,
} from './write-file-atomic.js';
export {
  CONFIG_FILE,
  WEIGHTS_FILE,
  WEIGHTS_INDEX_FILE,
  GENERATION_CONFIG_FILE,
} from './model-folder-files.js';
export type { JsonObject } from './model-folder-files.js';
export { saveModelFolder } from './save-model-folder.js';
export type { SaveModelFolderOptions } from './save-model-folder.js';
export { loadModelFolder } from './load-model-folder.js';
export type { ModelConfig, ModelFolder } from './load-model-folder.js';
export {
  LLAMA2C_MAGIC,
  LLAMA2C_V1_HEADER_BYTES,
  parseLlama2cCheckpoint,
  readLlama2cCheckpoint,
} from './llama2c-checkpoint.js';
export type { Llama2cConfig, Llama2cWeights, Llama2cCheckpoint } from './llama2c-checkpoint.js';
export { parseLlama2cTokenizer, readLlama2cTokenizer } from './llama2c-tokenizer.js';
export type { Llama2cVocab } from './llama2c-tokenizer.js';
export {
  llama2cHfConfig,
  llama2cToHf,
  permuteRopeRows,
  saveLlama2cAsHf,
} from './llama2c-convert.js';
export type { Llama2cHfModel, SaveLlama2cOptions } from './llama2c-convert.js';
