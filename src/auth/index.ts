/**
 * The auth layer's public surface: verification of the client JWTs that EHRs send, the replay
 * cache behind it, and the allow-list every outbound URL is checked against. The only part of
 * the service that imports jose.
 */
export { createClientJwtVerifier } from './client-jwt.js';
export type { ClientJwtVerifier, TrustedIssuer } from './client-jwt.js';
export { readJwksFile } from './jwks-file.js';
export { createOriginAllowList } from './outbound-allow-list.js';
export type { OriginAllowList } from './outbound-allow-list.js';
export { createMemoryReplayCache } from './replay-cache.js';
export type { ReplayCache } from './replay-cache.js';
