/**
 * The analysis layer's public surface.
 */
export { analyseStudy } from './analyse-study.js';
export { analyseStudyThenMaps } from './deferred-maps.js';
export { createMemoryResultCache, resultCacheKey } from './result-cache.js';
export type { ResultCache } from './result-cache.js';
export type { ModelProfile, ModelRunner, ModelStudyResult, StudyAnalysis, StudyToAnalyse } from './types.js';
export { cardiacMeasures, efBand, MYOCARDIAL_DENSITY_G_PER_ML } from './cardiac-volumes.js';
export type { CardiacMeasures, PhaseLabels } from './cardiac-volumes.js';
