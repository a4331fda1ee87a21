/**
 * Results cache keyed by (StudyInstanceUID, model id, model version): the same pixels through
 * the same model version give the same answer, so a second hook on the study is answered
 * without fetching a byte. In-memory LRU for the one-process default; the interface is what a
 * shared (Redis) cache implements at scale.
 */
import type { ModelStudyResult } from './types.js';

export interface ResultCache {
  get(studyUid: string, modelId: string, modelVersion: string): ModelStudyResult | undefined;
  set(result: ModelStudyResult): void;
  /** All cached results for a study (any model). */
  forStudy(studyUid: string): ModelStudyResult[];
}

const keyOf = (studyUid: string, modelId: string, version: string): string => `${studyUid}\u0000${modelId}\u0000${version}`;

/**
 * Creates a bounded in-memory LRU cache.
 *
 * @param capacity - maximum number of results kept
 */
export function createMemoryResultCache(capacity: number): ResultCache {
  // Map keeps insertion order: re-inserting on read makes the first key the least recently used.
  const entries = new Map<string, ModelStudyResult>();
  return {
    get(studyUid, modelId, modelVersion) {
      const key = keyOf(studyUid, modelId, modelVersion);
      const hit = entries.get(key);
      if (hit !== undefined) {
        entries.delete(key);
        entries.set(key, hit);
      }
      return hit;
    },
    set(result) {
      const key = keyOf(result.studyInstanceUid, result.model.id, result.model.version);
      entries.delete(key);
      entries.set(key, result);
      while (entries.size > capacity) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
    },
    forStudy(studyUid) {
      return [...entries.values()].filter((r) => r.studyInstanceUid === studyUid);
    },
  };
}
