/**
 * The cds layer's public surface.
 */
export { createCatalogue } from './catalogue.js';
export { createFhirQueryClient } from './fhir-query-client.js';
export { createPrefetchResolver } from './prefetch.js';
export type { FhirClientFactory } from './prefetch.js';
export type { CdsService, HandlerContext } from './service.js';
export type { ResultOwner, ResultSink } from './services/deps.js';
