/**
 * Results cache keyed by (StudyInstanceUID, model id, model version): the same pixels through
 * the same model version give the same answer, so a second hook on the study is answered
 * without fetching a byte. In-memory LRU for the one-process default.
 */
import { LRUCache } from 'lru-cache';
import type { ModelStudyResult } from './types.js';

export interface ResultCache {
  get(studyUid: string, modelId: string, modelVersion: string): ModelStudyResult | undefined;
  set(result: ModelStudyResult): void;
}

const keyOf = (studyUid: string, modelId: string, version: string): string => `${studyUid}\u0000${modelId}\u0000${version}`;

/**
 * Creates a bounded in-memory LRU cache.
 *
 * @param capacity - maximum number of results kept
 */
export function createMemoryResultCache(capacity: number): ResultCache {
  const entries = new LRUCache<string, ModelStudyResult>({ max: capacity });
  return {
    get: (studyUid, modelId, modelVersion) => entries.get(keyOf(studyUid, modelId, modelVersion)),
    set(result) {
      entries.set(keyOf(result.studyInstanceUid, result.model.id, result.model.version), result);
    },
  };
}
