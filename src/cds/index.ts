/**
 * The cds layer's public surface.
 */
export { createCatalogue } from './catalogue.js';
export { createFhirQueryClient } from './fhir-query-client.js';
export { createPrefetchResolver } from './prefetch.js';
export type { FhirClientFactory, FhirQueryClient, PrefetchResolver } from './prefetch.js';
export { checkResource } from './resource-shapes.js';
export { studyToAnalyse } from './study-input.js';
export type { CdsService, HandlerContext } from './service.js';
export type { ResultOwner, ResultSink } from './services/deps.js';
