// The tfjs namespace every snnlm module imports (`import { tf } from '../tf.js'`).
//
// NOTE: `@tensorflow/tfjs-core` on its own registers no gradient functions in
// Node (its CommonJS bundle leaves them out, and its ESM files cannot be loaded
// by Node because their imports have no extensions). The union package
// `@tensorflow/tfjs` carries all of them and registers them on import, so it is
// imported here once, for that side effect, before anything can take a gradient.
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';

export { tf };
export type {
  Tensor,
  Variable,
  Rank,
  Scalar,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  Tensor4D,
  DataType,
} from '@tensorflow/tfjs-core';
