/**
 * Verification of the JWT a CDS client sends with every call (`Authorization: Bearer <JWT>`).
 *
 * CDS Hooks 2.0 § Trusting CDS Clients: the client signs a short-lived JWT with its private key;
 * the service checks `iss` (and `jku`) against an allow-list, `aud` against the exact endpoint
 * URL, `exp`/`iat` and the lifetime `exp − iat`, the optional `tenant`, the signature against the
 * issuer's JWKS, and that the `jti` was not seen before. Every failure is an `AUTH_REJECTED`
 * AppError whose message is a short reason for the logs; the HTTP layer answers a bare 401 and
 * logs `iss`, `tenant`, `jti`, never the token. A valid token of an issuer over its limits is
 * answered `RATE_LIMITED` (429) or `REPLAY_CACHE_FULL` (503), with Retry-After.
 *
 * Only this module and key-sets.ts import jose: the rest of `src/` sees {@link ClientJwtVerifier}.
 *
 * @see https://cds-hooks.hl7.org/2.0/#trusting-cds-clients
 */

import {
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';

import { AppError } from '../errors.js';
import { buildIssuerKeys, keysFor, KeySetUnavailable, type IssuerKeys, type TrustedIssuer } from './key-sets.js';
import { createLimitLog, type LimitLog, type WarnLogger } from './limit-log.js';
import { AUTH_DEFAULTS, replayExpiryMs } from './limits.js';
import { createTokenBucketLimiter, type RateLimiter } from './rate-limiter.js';
import type { ReplayCache } from './replay-cache.js';

export type { TrustedIssuer } from './key-sets.js';

/** Options for {@link createClientJwtVerifier}: plain data, built by the config loader. */
export interface ClientJwtVerifierOptions {
  /** The allow-list of issuers. Each needs `jwksUrl`, `jwks` or `allowedJku` (not both of the first two). */
  readonly trustedIssuers: ReadonlyArray<TrustedIssuer>;
  /**
   * Remembers `(iss, jti)` pairs, with a bounded share per issuer. Replicas of one service must
   * share one cache, or a token replayed against another replica is accepted. Size an in-memory
   * cache with `replayEntriesPerIssuer` from the same limits as given here.
   */
  readonly replayCache: ReplayCache;
  /** Tolerated clock difference with clients, applied to `exp` and `iat`. Default 60. */
  readonly clockSkewSeconds?: number;
  /** Oldest accepted `iat`, in seconds before now (plus skew). Default 300. */
  readonly maxTokenAgeSeconds?: number;
  /**
   * Longest accepted lifetime `exp − iat`, in seconds (no skew: both come from the client's
   * clock). CDS Hooks 2.0 asks for short-lived tokens, at most 5 minutes. Default 300.
   */
  readonly maxLifetimeSeconds?: number;
  /**
   * Sustained verified requests per second each issuer may make, a token bucket checked after
   * the signature and claims are verified (so forged tokens cannot spend a real issuer's
   * budget). Over it: `RATE_LIMITED` (429) with Retry-After. Default 2,000.
   */
  readonly issuerRatePerSecond?: number;
  /** Requests an idle issuer may make at once above that rate (bucket size). Default 2,000. */
  readonly issuerBurst?: number;
  /**
   * Where rate-limit and full-replay-cache refusals are logged (warn), at most once per issuer and
   * limit per `limitLogIntervalMs`. Default: not logged.
   */
  readonly log?: WarnLogger;
  /** Least time between two warnings about one issuer and one limit. Default 60,000. */
  readonly limitLogIntervalMs?: number;
  /** Timeout of one JWK Set fetch. Default 1500: a cold fetch eats into the ~500 ms budget. */
  readonly fetchTimeoutMs?: number;
  /**
   * Least time between two fetches of one JWK Set triggered by an unknown `kid`, so that tokens
   * with made-up `kid`s cannot make the service hammer the client's server. Default 30,000.
   */
  readonly jwksCooldownMs?: number;
  /** How long fetched keys are used before they are fetched again. Default 600,000 (10 min). */
  readonly jwksCacheMaxAgeMs?: number;
  /** Clock in epoch milliseconds; injectable for tests. Default `Date.now`. */
  readonly now?: () => number;
}

/** The authenticated caller, safe to log. */
export interface VerifiedClient {
  readonly iss: string;
  readonly tenant?: string;
  readonly jti: string;
  readonly kid: string;
}

/** Verifies client JWTs; build one per process with {@link createClientJwtVerifier}. */
export interface ClientJwtVerifier {
  /**
   * Verifies the `Authorization` header of one call.
   *
   * @param authorizationHeader - The raw header value, `undefined` when absent.
   * @param audience - The exact URL of the endpoint called, built from the configured public base
   *   URL, never from the request's `Host` header (which the caller controls).
   * @returns The verified caller.
   * @throws AppError `AUTH_REJECTED` (401) with a short, token-free reason; `RATE_LIMITED` (429)
   *   or `REPLAY_CACHE_FULL` (503), both with `retryAfterSeconds`, for a valid token of an issuer
   *   over its limits.
   */
  verify(authorizationHeader: string | undefined, audience: string): Promise<VerifiedClient>;
}

/**
 * CDS Hooks 2.0 recommends ES384 and RS384 and forbids `none` and HMAC; we accept exactly the two.
 * HMAC must never reach key lookup: verified with a public key's bytes as the "secret", it lets
 * anyone forge tokens (the classic key-confusion attack).
 */
const ALLOWED_ALGORITHMS = ['ES384', 'RS384'] as const;
type AllowedAlgorithm = (typeof ALLOWED_ALGORITHMS)[number];

/** Header limits: Node caps headers at 16 KiB anyway; a CDS client JWT is well under 2 KiB. */
const MAX_TOKEN_LENGTH = 8192;
/** `jti` is stored in the replay cache, so its size bounds the cache's memory. */
const MAX_JTI_LENGTH = 256;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function reject(reason: string, cause?: unknown): never {
  throw new AppError('AUTH_REJECTED', reason, cause === undefined ? {} : { cause });
}

function isAllowedAlgorithm(alg: unknown): alg is AllowedAlgorithm {
  return typeof alg === 'string' && (ALLOWED_ALGORITHMS as ReadonlyArray<string>).includes(alg);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function parseBearer(header: string | undefined): string {
  if (header === undefined || header === '') reject('missing Authorization header');
  // The auth-scheme is case-insensitive (RFC 9110 § 11.1).
  const match = /^Bearer +(\S+)\s*$/i.exec(header);
  const token = match?.[1];
  if (token === undefined) reject('Authorization is not a Bearer token');
  if (token.length > MAX_TOKEN_LENGTH) reject('token too long');
  if (!COMPACT_JWS.test(token)) reject('malformed token');
  return token;
}

/** Maps a verification failure to a short reason; jose messages never contain the token. */
function reasonFor(err: unknown): string {
  if (err instanceof KeySetUnavailable) return 'JWKS unavailable';
  if (err instanceof joseErrors.JWKSTimeout) return 'JWKS fetch timed out';
  if (err instanceof joseErrors.JWTExpired) {
    return err.claim === 'iat' ? 'token too old (iat)' : 'token expired';
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return `missing ${err.claim} claim`;
    if (err.reason === 'invalid') return `invalid ${err.claim} claim`;
    if (err.claim === 'iat') return 'iat is in the future';
    if (err.claim === 'nbf') return 'token not yet valid (nbf)';
    return `unexpected ${err.claim} claim`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'no key matches kid';
  if (err instanceof joseErrors.JWKSMultipleMatchingKeys) return 'several keys match kid';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'alg not allowed';
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return 'malformed token';
  if (err instanceof joseErrors.JOSEError) return `verification failed (${err.code})`;
  return 'verification failed';
}

/** Checks that need no key, so that bad tokens never cause a fetch or a crypto operation. */
function precheck(token: string, issuers: ReadonlyMap<string, IssuerKeys>): { header: ProtectedHeaderParameters; kid: string; entry: IssuerKeys } {
  let header: ProtectedHeaderParameters;
  let claims: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    // Unverified: `iss` only selects which keys to verify with; jwtVerify re-checks it below.
    claims = decodeJwt(token);
  } catch {
    return reject('malformed token');
  }
  if (!isAllowedAlgorithm(header.alg)) reject('alg not allowed');
  if (!isNonEmptyString(header.kid)) reject('missing kid');
  // `typ` is a media type, so compared case-insensitively (RFC 7515 § 4.1.9).
  if (header.typ !== undefined && (typeof header.typ !== 'string' || header.typ.toUpperCase() !== 'JWT')) {
    reject('typ is not JWT');
  }
  if (!isNonEmptyString(claims.iss)) reject('missing iss claim');
  const entry = issuers.get(claims.iss);
  if (entry === undefined) reject('unknown iss');
  return { header, kid: header.kid, entry };
}

/** The time limits a token is held to, validated. */
interface TimeLimits {
  readonly clockSkewSeconds: number;
  readonly maxTokenAgeSeconds: number;
  readonly maxLifetimeSeconds: number;
}

function timeLimits(options: ClientJwtVerifierOptions): TimeLimits {
  const limits = {
    clockSkewSeconds: options.clockSkewSeconds ?? AUTH_DEFAULTS.clockSkewSeconds,
    maxTokenAgeSeconds: options.maxTokenAgeSeconds ?? AUTH_DEFAULTS.maxTokenAgeSeconds,
    maxLifetimeSeconds: options.maxLifetimeSeconds ?? AUTH_DEFAULTS.maxLifetimeSeconds,
  };
  if (!(limits.clockSkewSeconds >= 0) || !(limits.maxTokenAgeSeconds > 0) || !(limits.maxLifetimeSeconds > 0)) {
    throw new TypeError('clockSkewSeconds must be >= 0, maxTokenAgeSeconds and maxLifetimeSeconds > 0');
  }
  return limits;
}

/** Signature, `iss`, `aud`, `exp`, `iat` (jose), every failure mapped to `AUTH_REJECTED`. */
async function verifiedPayload(token: string, keys: JWTVerifyGetKey, iss: string, audience: string, limits: TimeLimits, nowMs: number): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: [...ALLOWED_ALGORITHMS],
      issuer: iss,
      audience,
      clockTolerance: limits.clockSkewSeconds,
      maxTokenAge: limits.maxTokenAgeSeconds,
      requiredClaims: ['exp', 'iat', 'jti'],
      currentDate: new Date(nowMs),
    });
    return payload;
  } catch (err) {
    // Keep the cause only for key-set failures, which operators must see; claim errors carry
    // the payload, which has no place in logs.
    const keySetFailure = err instanceof KeySetUnavailable || err instanceof joseErrors.JWKSTimeout;
    return reject(reasonFor(err), keySetFailure ? err : undefined);
  }
}

/** The claims jose does not check: `jti`, `tenant` and the lifetime `exp − iat`. */
function checkedClaims(payload: JWTPayload, issuer: TrustedIssuer, maxLifetimeSeconds: number): { jti: string; tenant: string | undefined; exp: number; iat: number } {
  const { jti, tenant, exp, iat } = payload;
  if (!isNonEmptyString(jti) || jti.length > MAX_JTI_LENGTH) reject('invalid jti claim');
  if (tenant !== undefined && typeof tenant !== 'string') reject('invalid tenant claim');
  if (issuer.tenants !== undefined && (tenant === undefined || !issuer.tenants.includes(tenant))) reject('tenant not allowed');
  // jwtVerify required both; the checks narrow the types.
  if (exp === undefined || iat === undefined) reject('missing exp or iat claim');
  // A long-lived token is a standing credential: a leaked one would work until `exp`, and every
  // accepted token costs a replay-cache entry for its whole life.
  if (exp - iat > maxLifetimeSeconds) reject(`token lifetime (exp - iat) over ${maxLifetimeSeconds} s`);
  return { jti, tenant, exp, iat };
}

/**
 * The per-issuer limits, for a token valid in every other respect: first the rate limit, then
 * the replay cache. Both come after signature verification, so only the issuer (or whoever holds
 * its key) can spend its budget or fill its share. A token that turns out to be a replay, or that
 * the cache cannot take, gives its rate-limit token back: replaying one captured token does not
 * drain the real client's budget. Each issuer has its own bucket and its own cache share, so one
 * issuer at its limits does not affect another.
 */
function admission(replayCache: ReplayCache, limiter: RateLimiter, limitLog: LimitLog) {
  return async (iss: string, jti: string, expiresAtMs: number): Promise<void> => {
    const decision = limiter.take(iss);
    if (!decision.allowed) {
      const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterSeconds));
      limitLog('RATE_LIMITED', iss, retryAfterSeconds);
      throw new AppError('RATE_LIMITED', 'this client is over its request rate limit', { retryAfterSeconds });
    }
    let verdict;
    try {
      // A failing shared cache (e.g. Redis down) propagates as is: a 500, not a misleading 401.
      verdict = await replayCache.checkAndRemember(iss, jti, expiresAtMs);
    } catch (err) {
      limiter.refund(iss);
      throw err;
    }
    if (verdict.status === 'fresh') return;
    limiter.refund(iss);
    if (verdict.status === 'replayed') reject('jti replayed');
    const retryAfterSeconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
    limitLog('REPLAY_CACHE_FULL', iss, retryAfterSeconds);
    throw new AppError('REPLAY_CACHE_FULL', "this client's share of the token replay cache is full", { retryAfterSeconds });
  };
}

/**
 * Builds a verifier. Key sets are created here, once (refresh policy: src/auth/key-sets.ts).
 *
 * @param options - Issuers, replay cache, limits, clock and JWKS timing.
 * @returns The verifier.
 * @throws TypeError when the issuer configuration or a limit is inconsistent: it must stop start-up.
 */
export function createClientJwtVerifier(options: ClientJwtVerifierOptions): ClientJwtVerifier {
  const limits = timeLimits(options);
  const now = options.now ?? Date.now;
  const issuers = buildIssuerKeys(options.trustedIssuers, {
    fetchTimeoutMs: options.fetchTimeoutMs ?? 1500,
    jwksCooldownMs: options.jwksCooldownMs ?? 30_000,
    jwksCacheMaxAgeMs: options.jwksCacheMaxAgeMs ?? 600_000,
  });
  const limiter = createTokenBucketLimiter({
    ratePerSecond: options.issuerRatePerSecond ?? AUTH_DEFAULTS.issuerRatePerSecond,
    burst: options.issuerBurst ?? AUTH_DEFAULTS.issuerBurst,
    now,
  });
  const admit = admission(options.replayCache, limiter, createLimitLog(options.log, options.limitLogIntervalMs ?? 60_000, now));

  async function verify(authorizationHeader: string | undefined, audience: string): Promise<VerifiedClient> {
    if (audience === '') throw new TypeError('audience must be the endpoint URL');
    const token = parseBearer(authorizationHeader);
    const { header, kid, entry } = precheck(token, issuers);
    const keys = keysFor(entry, header.jku);
    if (typeof keys === 'string') reject(keys);
    const { iss } = entry.issuer;
    const payload = await verifiedPayload(token, keys, iss, audience, limits, now());
    const { jti, tenant, exp, iat } = checkedClaims(payload, entry.issuer, limits.maxLifetimeSeconds);
    // Last: only a token valid in every other respect may use up its jti or the issuer's budget,
    // or anyone could burn a legitimate client's jti with a forged token.
    await admit(iss, jti, replayExpiryMs(exp, iat, limits));
    return tenant === undefined ? { iss, jti, kid } : { iss, tenant, jti, kid };
  }

  return { verify };
}
