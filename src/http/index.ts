/**
 * The http layer's public surface.
 */
export { cdsRouter, requestContext } from './cds-router.js';
export type { CdsRouterDeps } from './cds-router.js';
export { errorHandler, operationOutcome } from './errors.js';
export { createMetrics } from './metrics.js';
export { resultsRouter } from './results-router.js';
export type { ResultsLookup } from './results-router.js';
