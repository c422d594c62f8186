/**
 * The Node API of `dist/api.js`: the same core the CLI and the extension call, for teams that want
 * the contract checks inside their own test suites.
 */
export { validateMetadata } from './core/metadata';
export { parseEvalJsonl } from './core/evalSet';
export { discoverPrompts } from './core/promptLayout';
export { metadataJsonSchema, promptMetadataSchema } from './core/metadataSchema';
export { checkRepoOnDisk } from './node/checkRepo';
export { findRepoRoot } from './node/repoFiles';
export { parseSpan, findLlmSpans, spanSummary } from './core/span';
export { toAuditRecord, toAuditMarkdown } from './core/replay';
export { replaySpanText } from './node/replayRunner';
export { readPromptAtCommit } from './node/promptAtCommit';
export { parseTemplate, renderTemplate } from './core/template/template';
export { mcnemar } from './core/stats/mcnemar';
export { runEval, prepareEval } from './node/runEval';
