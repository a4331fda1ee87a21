/**
 * The rendered results of the result hook, per ImagingStudy id, for the results endpoint
 * (GET /results/ImagingStudy/:id). Bounded LRU in memory, like the result cache it mirrors:
 * after a restart or eviction the next result hook on the study fills it again.
 *
 * Rendered results are kept (not just analysis results) because the FHIR resources depend on
 * the hook's context (patient, ImagingStudy id, order) that the analysis cache does not hold.
 */
import type { Bundle } from 'fhir/r4.js';
import { LRUCache } from 'lru-cache';
import { resultBundle } from './result-bundle.js';
import type { RenderedResult } from './types.js';

/** Results per ImagingStudy id. */
export interface ResultIndex {
  /** Records (replaces) the results for a study. */
  record(imagingStudyId: string, results: readonly RenderedResult[]): void;
  /**
   * The study's results as a `collection` Bundle, or undefined when none is known.
   *
   * @param imagingStudyId - the ImagingStudy's logical id in the EHR
   */
  bundleFor(imagingStudyId: string): Bundle | undefined;
}

/**
 * Creates the index.
 *
 * @param capacity - most studies remembered
 */
export function createResultIndex(capacity: number): ResultIndex {
  const byStudy = new LRUCache<string, readonly RenderedResult[]>({ max: capacity });
  return {
    record(imagingStudyId, results) {
      byStudy.set(imagingStudyId, results);
    },
    bundleFor(imagingStudyId) {
      const results = byStudy.get(imagingStudyId);
      if (results === undefined || results.length === 0) return undefined;
      // Bundle.timestamp: the newest analysis among the results, so the Bundle is reproducible.
      const timestamp = results.map((r) => r.diagnosticReport.issued ?? '').sort().at(-1) ?? new Date(0).toISOString();
      return resultBundle(results, 'collection', timestamp);
    },
  };
}
