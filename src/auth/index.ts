/**
 * The auth layer's public surface: verification of the client JWTs that EHRs send, with the
 * replay cache and per-issuer rate limit behind it, and the allow-list every outbound URL is
 * checked against. The only part of the service that imports jose.
 */
export { createClientJwtVerifier } from './client-jwt.js';
export type { ClientJwtVerifier, ClientJwtVerifierOptions, TrustedIssuer, VerifiedClient } from './client-jwt.js';
export { readJwksFile } from './jwks-file.js';
export { AUTH_DEFAULTS, replayEntriesPerIssuer, replayWindowSeconds } from './limits.js';
export type { ReplaySizing } from './limits.js';
export type { WarnLogger } from './limit-log.js';
export { createOriginAllowList } from './outbound-allow-list.js';
export type { OriginAllowList } from './outbound-allow-list.js';
export { createTokenBucketLimiter } from './rate-limiter.js';
export type { RateDecision, RateLimiter, TokenBucketOptions } from './rate-limiter.js';
export { createMemoryReplayCache } from './replay-cache.js';
export type { MemoryReplayCache, MemoryReplayCacheOptions, ReplayCache, ReplayVerdict } from './replay-cache.js';
