/**
 * The model-card evaluation tool: recomputes each model card's test-split numbers through the
 * service's inference engine and compares them with the manifest. The CLI is `evaluate.ts`.
 */
export { DEFAULT_TOLERANCE, METRIC_KEYS, evaluateModelCards } from './card-check.js';
export type { CardCheck, EvaluateOptions, MetricCheck } from './card-check.js';
export { DATA_DIR_ENV, defaultDataDir, missingData, resolveDataDir } from './data-dir.js';
export { readMaskGif, readRgbTiff } from './drive.js';
export { EvaluationListSchema, SECTIONS, discoverEvaluations, parseEvaluationList } from './plan.js';
export type { Discovered, EvaluationProblem, EvaluationTarget, Section } from './plan.js';
export { formatChecks } from './report.js';
export { TEST_SET_KINDS, TestSetSchema, resolveTestSet } from './test-sets.js';
export type { ResolvedTestSet, TestSetSpec } from './test-sets.js';
