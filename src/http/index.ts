/**
 * The http layer's public surface.
 */
export { cdsRouter, requestContext } from './cds-router.js';
export type { CdsRouterDeps } from './cds-router.js';
export { errorHandler, operationOutcome, sendOutcome } from './errors.js';
export { createMetrics } from './metrics.js';
export { resultsRouter } from './results-router.js';
export type { ResultsLookup, ResultsQuery } from './results-router.js';
export { LOCAL_DOMAIN, trustDomainOf } from './trust-domain.js';
export { triggersRouter } from './triggers-router.js';
export { answerKey, createMemoryAnswerStore } from './answers.js';
export type { AnswerStore } from './answers.js';
export type { TriggersRouterDeps } from './triggers-router.js';
export { viewerRouter } from './viewer-router.js';
export type { ViewerRouterDeps } from './viewer-router.js';
export { opsPageRouter, recordFailures } from './ops-page-router.js';
