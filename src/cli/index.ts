/**
 * The cli layer's public surface.
 */
export { startDemoPacs } from './demo-pacs.js';
export { resultHookRequest, sampleImagingStudy, wadoRsEndpoint } from './sample-fhir.js';
