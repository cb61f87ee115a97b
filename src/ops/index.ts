// Public surface of src/ops: the routed matrix product every snnlm module uses
// (`matMul`, fast forward and backward on wasm), its route planner and cost model,
// the stored weight transpose of inference heads, and the trace-gradient product of OTTT.
export { matMul, matMulRouted } from './matmul.js';
export {
  LOOP_MIN_ROWS,
  LOOP_BLOCK,
  MATMUL_COST,
  matMulShapes,
  plan2d,
  planBatched,
  planMatMul,
  preferPerItem,
} from './matmul-plan.js';
export type {
  MatMulCost,
  MatMulLayout,
  MatMulPlan,
  MatMulRoute,
  PlanOptions,
} from './matmul-plan.js';
export { TransposeCache, matMulWeightT } from './transpose-cache.js';
export { traceMatMul } from './trace-matmul.js';
