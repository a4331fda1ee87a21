/**
 * The fhir layer's public surface.
 */
export { createFhirReader } from './fhir-client.js';
export { isFhirKitDebugEnabled } from './fhir-kit-debug.js';
export type { FhirReaderOptions, FhirSearchParams } from './fhir-client.js';
export { bundleEntries, isImagingServiceRequest, isWadoRsEndpoint, seriesSummary, studyInstanceUid } from './imaging.js';
export { isResourceTypeName } from './references.js';
export type { ResourceTypeName } from './types.js';
export { createWriteBackQueue } from './write-back-queue.js';
export type { WriteBackQueue } from './write-back-queue.js';
export { createFhirWriter } from './write-back.js';
