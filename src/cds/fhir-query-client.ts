/**
 * Adapts the fhir layer's reader to the prefetch resolver's narrow {@link FhirQueryClient}.
 */
import { createFhirReader, type FhirReaderOptions, type FhirSearchParams, isResourceTypeName } from '../fhir/index.js';
import type { ResourceTypeName } from '../fhir/index.js';
import { AppError } from '../errors.js';
import type { FhirQueryClient } from './prefetch.js';

function resourceType(name: string): ResourceTypeName {
  if (!isResourceTypeName(name)) throw new AppError('CDS_BAD_REQUEST', `unknown FHIR resource type ${name} in a prefetch query`);
  return name as ResourceTypeName;
}

/** Groups repeated query parameters (`_include=a&_include=b`) into arrays. */
function toParams(query: URLSearchParams): FhirSearchParams {
  const params: Record<string, string | string[]> = {};
  for (const key of new Set(query.keys())) {
    const values = query.getAll(key);
    params[key] = values.length === 1 ? (values[0] ?? '') : values;
  }
  return params;
}

/**
 * Creates a query client for one FHIR server and one token.
 *
 * @param options - base URL (already allow-listed), token, timeout
 */
export function createFhirQueryClient(options: FhirReaderOptions): FhirQueryClient {
  const reader = createFhirReader(options);
  return {
    read: (type, id) => reader.read(resourceType(type), id),
    async search(type, query) {
      const result = await reader.search(resourceType(type), toParams(query));
      return [...result.resources, ...result.included];
    },
  };
}
