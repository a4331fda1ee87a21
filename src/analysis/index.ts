/**
 * The analysis layer's public surface.
 */
export { analyseStudy } from './analyse-study.js';
export { analyseStudyThenMaps } from './deferred-maps.js';
export { createMemoryResultCache, resultCacheKey } from './result-cache.js';
export type { ResultCache } from './result-cache.js';
export type { ImageSource, ModelProfile, ModelRunner, ModelStudyResult, StudyAnalysis, StudyToAnalyse } from './types.js';
export { cardiacMeasures, efBand, MYOCARDIAL_DENSITY_G_PER_ML, phaseVolumes } from './cardiac-volumes.js';
export type { CardiacMeasures, PhaseVolumes } from './cardiac-volumes.js';
export { analyseCine, CARDIAC_CLASS_KEYS } from './cine-analysis.js';
export type { CineAnalysis } from './cine-analysis.js';
export type { PacsResultStore, SegmentationForPacs } from './pacs-results.js';
