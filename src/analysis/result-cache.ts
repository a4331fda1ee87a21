/**
 * Results cache keyed by (trust domain, data source, StudyInstanceUID, model id, model
 * version): the same pixels through the same model version give the same answer, so a second
 * hook on the study is answered without fetching a byte. The domain and the DICOMweb roots the
 * study's pixels come from are part of the key, so a result never crosses to another client's
 * domain or stands in for another PACS's study that happens to carry the same UID. In-memory
 * LRU for the one-process default.
 */
import { LRUCache } from 'lru-cache';
import type { ModelStudyResult, StudyToAnalyse } from './types.js';

/**
 * Where results are kept: this process's memory (the embedded default), or Redis shared by every
 * worker (src/jobs), so that a study analysed by one worker is not analysed again by another.
 */
export interface ResultCache {
  get(study: StudyToAnalyse, modelId: string, modelVersion: string): Promise<ModelStudyResult | undefined>;
  set(study: StudyToAnalyse, result: ModelStudyResult): Promise<void>;
  /**
   * Claims the analysis of this study by this model for `ttlMs` (two jobs for one study, e.g. a
   * PACS trigger's and a hook's, must not both run the model): true when this caller got it.
   */
  claim(study: StudyToAnalyse, modelId: string, modelVersion: string, ttlMs: number): Promise<boolean>;
  /** Whether someone holds the claim (the claim lapses after its ttl if its holder died). */
  claimed(study: StudyToAnalyse, modelId: string, modelVersion: string): Promise<boolean>;
  /** Gives a claim back (only the holder's own). */
  release(study: StudyToAnalyse, modelId: string, modelVersion: string): Promise<void>;
}

/** The study's data sources: the distinct DICOMweb roots of its series, in a stable order. */
function sourcesOf(study: StudyToAnalyse): string[] {
  return [...new Set(study.series.map((s) => s.dicomWebRoot ?? ''))].sort();
}

/** The cache key of one model's result on a study: domain, data sources, StudyInstanceUID, model id and version. */
export const resultCacheKey = (study: StudyToAnalyse, modelId: string, version: string): string =>
  JSON.stringify([study.domain, sourcesOf(study), study.studyInstanceUid, modelId, version]);

/**
 * Creates a bounded in-memory LRU cache.
 *
 * @param capacity - maximum number of results kept
 */
export function createMemoryResultCache(capacity: number): ResultCache {
  const entries = new LRUCache<string, ModelStudyResult>({ max: capacity });
  const claims = new LRUCache<string, true>({ max: capacity, ttlAutopurge: false });
  return {
    claim(study, modelId, version, ttlMs) {
      const key = resultCacheKey(study, modelId, version);
      if (claims.get(key) !== undefined) return Promise.resolve(false);
      claims.set(key, true, { ttl: ttlMs });
      return Promise.resolve(true);
    },
    claimed: (study, modelId, version) => Promise.resolve(claims.get(resultCacheKey(study, modelId, version)) !== undefined),
    release(study, modelId, version) {
      claims.delete(resultCacheKey(study, modelId, version));
      return Promise.resolve();
    },
    get: (study, modelId, modelVersion) => Promise.resolve(entries.get(resultCacheKey(study, modelId, modelVersion))),
    set(study, result) {
      entries.set(resultCacheKey(study, result.model.id, result.model.version), result);
      return Promise.resolve();
    },
  };
}
