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

export interface ResultCache {
  get(study: StudyToAnalyse, modelId: string, modelVersion: string): ModelStudyResult | undefined;
  set(study: StudyToAnalyse, result: ModelStudyResult): void;
}

/** The study's data sources: the distinct DICOMweb roots of its series, in a stable order. */
function sourcesOf(study: StudyToAnalyse): string[] {
  return [...new Set(study.series.map((s) => s.dicomWebRoot ?? ''))].sort();
}

const keyOf = (study: StudyToAnalyse, modelId: string, version: string): string =>
  JSON.stringify([study.domain, sourcesOf(study), study.studyInstanceUid, modelId, version]);

/**
 * Creates a bounded in-memory LRU cache.
 *
 * @param capacity - maximum number of results kept
 */
export function createMemoryResultCache(capacity: number): ResultCache {
  const entries = new LRUCache<string, ModelStudyResult>({ max: capacity });
  return {
    get: (study, modelId, modelVersion) => entries.get(keyOf(study, modelId, modelVersion)),
    set(study, result) {
      entries.set(keyOf(study, result.model.id, result.model.version), result);
    },
  };
}
