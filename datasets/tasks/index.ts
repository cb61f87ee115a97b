// Public surface of the benchmark readers: multiple-choice QA JSONL (BoolQ, PIQA,
// ARC, OpenBookQA, WinoGrande, HellaSwag), GLUE TSV, SQuAD v1.1 JSON, the bzip2
// decoder they need, file resolution with clear "missing file" errors, and seeded subsets.
export { bunzip2, MAX_BZIP2_OUTPUT_BYTES } from './bzip2.js';
export {
  MAX_TASK_FILE_BYTES,
  RecordReader,
  readDataBytes,
  readDataLines,
  readDataText,
  readJsonlRecords,
  resolveDataFile,
} from './files.js';
export type { DataFileSpec, NumberedLine } from './files.js';
export { SUBSET_SEED, takeSubset } from './subset.js';
export type { Subset } from './subset.js';
export {
  QA_FILES,
  readArc,
  readBoolq,
  readHellaswag,
  readOpenbookqa,
  readPiqa,
  readWinogrande,
} from './qa.js';
export type { BoolqDoc, ChoiceQuestionDoc, HellaswagDoc, PiqaDoc, WinograndeDoc } from './qa.js';
export { GLUE_TASKS, glueFile, readGlue } from './glue.js';
export type { GlueDoc, GlueSplit, GlueTask } from './glue.js';
export { parseSquad, readSquad, squadFile } from './squad.js';
export type { SquadExample, SquadSplit } from './squad.js';
