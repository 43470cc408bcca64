/**
 * The synthetic reasoning world: seeded multi-step arithmetic word problems with GSM8K-style worked
 * solutions, disjoint train/dev/test splits and difficulty knobs. `lightreasoner make-data` is the
 * command-line face of `generateProblems` + `writeGsm8kJsonl`.
 */
export { generateProblems, type GenerateOptions, type SyntheticProblem } from './generate.js';
export { writeGsm8kJsonl, toGsm8kRecord, type Gsm8kRecord } from './gsm8k-jsonl.js';
export { DEFAULT_DIFFICULTY, resolveDifficulty, type Difficulty } from './difficulty.js';
export { SPLITS, splitOf, type Split } from './split.js';
export { OP_KINDS, OP_SYMBOL, canonicalExpression, evaluateProgram, type OpKind, type Operand, type Program, type ProgramStep } from './program.js';
export { TEMPLATES, TEMPLATE_IDS } from './templates/index.js';
