/**
 * The viewer layer's public surface: the SMART result viewer's and the operations page's server
 * side (access-token verification, the result view, feedback, the ops summary), free of HTTP.
 */
export type { ModelFeedback, OpsSummary, Percentiles, ViewerFeedbackRequest, ViewerLaunchConfig, ViewerResult, ViewerResults } from './api-types.js';
export { canReadReports, createAccessTokenVerifier, scopesOf } from './access-token.js';
export type { AccessTokenVerifier } from './access-token.js';
export { createAuthServers } from './auth-servers.js';
export type { AuthServers, AuthServerMetadata } from './auth-servers.js';
export { fetchJson } from './capped-fetch.js';
export type { FetchLimits } from './capped-fetch.js';
export { createCardLedger } from './card-ledger.js';
export type { CardLedger, LedgerCard } from './card-ledger.js';
export { createFailureLog } from './failures.js';
export type { FailureLog, FailureRecord } from './failures.js';
export { feedbackItem, parseViewerFeedback, storeFeedback } from './feedback.js';
export { opsSummary, quantile } from './ops-summary.js';
export type { MetricJson, OpsSources } from './ops-summary.js';
export { PRELIMINARY_BANNER, resultView } from './result-view.js';
export type { ModelCardInfo } from './result-view.js';
export { buildViewer } from './wiring.js';
export type { ViewerInputs, ViewerParts, ViewerServices } from './wiring.js';
export type { ViewerSession } from './types.js';
