/**
 * The rendered results of the result hook, per (trust domain, patient, ImagingStudy id), for
 * the results endpoint (GET /results/ImagingStudy/:id?patient=…). A hook for one patient can
 * never replace or read another patient's results, nor one domain another's, even when they
 * name the same ImagingStudy id. Bounded LRU in memory: after a restart or eviction the next
 * result hook on the study fills it again.
 *
 * Rendered results are kept (not just analysis results) because the FHIR resources depend on
 * the hook's context (patient, ImagingStudy id, order) that the analysis cache does not hold.
 */
import type { Bundle } from 'fhir/r4.js';
import { LRUCache } from 'lru-cache';
import { resultBundle } from './result-bundle.js';
import type { RenderedResult } from './types.js';

/** Whose results: one patient's study, seen from one trust domain. */
export interface ResultKey {
  readonly domain: string;
  readonly patientId: string;
  readonly imagingStudyId: string;
}

/** Results per (trust domain, patient, ImagingStudy id). */
export interface ResultIndex {
  /** Records (replaces) the results for the study of this patient in this domain. */
  record(key: ResultKey, results: readonly RenderedResult[]): void;
  /**
   * The study's results as a `collection` Bundle, or undefined when none is known for this
   * patient in this domain (also when another patient or domain has results for the same id).
   */
  bundleFor(key: ResultKey): Bundle | undefined;
}

const keyString = (k: ResultKey): string => JSON.stringify([k.domain, k.patientId, k.imagingStudyId]);

/**
 * Creates the index.
 *
 * @param capacity - most studies remembered
 */
export function createResultIndex(capacity: number): ResultIndex {
  const byStudy = new LRUCache<string, readonly RenderedResult[]>({ max: capacity });
  return {
    record(key, results) {
      byStudy.set(keyString(key), results);
    },
    bundleFor(key) {
      const results = byStudy.get(keyString(key));
      if (results === undefined || results.length === 0) return undefined;
      // Bundle.timestamp: the newest analysis among the results, so the Bundle is reproducible.
      const timestamp = results.map((r) => r.diagnosticReport.issued ?? '').sort().at(-1) ?? new Date(0).toISOString();
      return resultBundle(results, 'collection', timestamp);
    },
  };
}
