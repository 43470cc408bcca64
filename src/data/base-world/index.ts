/**
 * The base-regime world (issue 13): a general corpus and a math corpus in base-model form, for a
 * general Amateur and a domain-pretrained Expert. tools/world/build-base.sh builds it.
 */
export { generateGeneralDocuments, renderChatMl, GENERAL_KINDS, GENERAL_SYSTEM_PROMPTS, type CorpusDocument, type GeneralCorpusOptions, type GeneralKind } from './general.js';
export { generateMathDocuments, formatSolution, ANSWER_FORMATS, LAYOUTS, PROBLEMS_PER_DOCUMENT, type AnswerFormat, type Layout, type MathCorpusOptions, type MathDocument } from './math.js';
export { writeCorpusJsonl, toCorpusRecord, type CorpusRecord } from './corpus-jsonl.js';
