/**
 * Packs rendered results into FHIR Bundles: a `transaction` for write-back and a `collection`
 * for interface teams (GET /results/…, example files). Both use the same entries, so what an
 * interface team maps is exactly what write-back sends.
 *
 * Why the shape is what it is:
 * - `fullUrl` is `urn:uuid:<deterministic id>` and references between the bundled resources are
 *   rewritten to it: the receiving server assigns its own ids, and in a transaction it rewrites
 *   `urn:uuid:` references to them. References to the EHR's own resources (Patient,
 *   ImagingStudy, ServiceRequest) stay relative.
 * - Every create is conditional on the resource key (`RESOURCE_KEY_SYSTEM`), so a retried or
 *   repeated transaction matches what the first one created instead of duplicating it.
 * - The same Device (one per model version) may appear in several results: it is sent once.
 */
import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4.js';
import { RESOURCE_KEY_SYSTEM } from '../terminology.js';
import type { RenderedResult } from './types.js';

/** The bundle types this module builds. */
export type ResultBundleType = 'transaction' | 'collection';

/** The resources of the results in write order: Devices, Observations, DiagnosticReports, Provenances. */
function orderedResources(results: readonly RenderedResult[]): FhirResource[] {
  const seen = new Set<string>();
  const out: FhirResource[] = [];
  const add = (r: FhirResource): void => {
    const key = `${r.resourceType}/${r.id ?? ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(r);
  };
  for (const r of results) add(r.device);
  for (const r of results) r.observations.forEach(add);
  for (const r of results) add(r.diagnosticReport);
  for (const r of results) add(r.provenance);
  return out;
}

/** Deep copy with every `reference` that names a bundled resource replaced by its urn:uuid. */
function rewriteReferences<T>(value: T, local: ReadonlyMap<string, string>): T {
  if (Array.isArray(value)) return value.map((v: unknown) => rewriteReferences(v, local)) as T;
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === 'reference' && typeof v === 'string' ? (local.get(v) ?? v) : rewriteReferences(v, local);
  }
  return out as T;
}

/**
 * The search that finds an already written copy of a resource: its key identifier, or for
 * Provenance (no `identifier` in R4) its key tag.
 *
 * @param resource - a rendered resource (carries the key)
 */
export function conditionalCreateQuery(resource: FhirResource): string {
  const id = resource.id ?? '';
  const param = resource.resourceType === 'Provenance' ? '_tag' : 'identifier';
  return `${param}=${encodeURIComponent(`${RESOURCE_KEY_SYSTEM}|${id}`)}`;
}

/**
 * Builds the Bundle for a set of rendered results.
 *
 * @param results - rendered results (one per study and model)
 * @param type - `transaction` (conditional creates, ids left to the server) or `collection`
 * @param timestamp - Bundle.timestamp (FHIR instant), e.g. the newest analysis time
 */
export function resultBundle(results: readonly RenderedResult[], type: ResultBundleType, timestamp: string): Bundle {
  const resources = orderedResources(results);
  const local = new Map(resources.map((r) => [`${r.resourceType}/${r.id ?? ''}`, `urn:uuid:${r.id ?? ''}`]));
  const entry: BundleEntry[] = resources.map((resource) => {
    const rewritten = rewriteReferences(resource, local);
    const fullUrl = `urn:uuid:${resource.id ?? ''}`;
    if (type === 'collection') return { fullUrl, resource: rewritten };
    // A create's id is the server's to assign; ours travels as the key identifier/tag.
    const { id: _ignored, ...withoutId } = rewritten;
    return {
      fullUrl,
      resource: withoutId as FhirResource,
      request: { method: 'POST', url: resource.resourceType, ifNoneExist: conditionalCreateQuery(resource) },
    };
  });
  return { resourceType: 'Bundle', type, timestamp, entry };
}
