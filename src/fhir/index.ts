/**
 * The fhir layer's public surface.
 */
export { createFhirReader, FHIR_READER_DEFAULTS } from './fhir-client.js';
export { isFhirKitDebugEnabled } from './fhir-kit-debug.js';
export type { FhirReaderOptions, FhirSearchParams } from './fhir-client.js';
export { bundleEntries, isCptRadiologyCode, isImagingServiceRequest, isWadoRsEndpoint, seriesSummary, studyInstanceUid } from './imaging.js';
export type { ImagingOrderRule } from './imaging.js';
export { isResourceTypeName } from './references.js';
export type { ResourceTypeName } from './types.js';
export { createWriteBackQueue } from './write-back-queue.js';
export type { WriteBackQueue } from './write-back-queue.js';
export { createFhirWriter, DEFAULT_WRITE_BACK_MAX_RESPONSE_BYTES } from './write-back.js';
