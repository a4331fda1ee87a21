/**
 * Verification of the JWT a CDS client sends with every call (`Authorization: Bearer <JWT>`).
 *
 * CDS Hooks 2.0 § Trusting CDS Clients: the client signs a short-lived JWT with its private key;
 * the service checks `iss` (and `jku`) against an allow-list, `aud` against the exact endpoint
 * URL, `exp`/`iat`, the optional `tenant`, the signature against the issuer's JWKS, and that the
 * `jti` was not seen before. Every failure is an `AUTH_REJECTED` AppError whose message is a short
 * reason for the logs; the HTTP layer answers a bare 401 and logs `iss`, `tenant`, `jti`, never
 * the token.
 *
 * Only this module (within `auth/`) imports jose: the rest of `src/` sees {@link ClientJwtVerifier}.
 *
 * @see https://cds-hooks.hl7.org/2.0/#trusting-cds-clients
 */

import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type CryptoKey,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
  type RemoteJWKSetOptions,
} from 'jose';

import { AppError } from '../errors.js';
import type { ReplayCache } from './replay-cache.js';

/** One CDS client (EHR) the service trusts. */
export interface TrustedIssuer {
  /** Exact `iss` claim value. */
  readonly iss: string;
  /** Where the issuer publishes its JWK Set. */
  readonly jwksUrl?: string;
  /** The issuer's JWK Set given inline (read from a file by the config loader). */
  readonly jwks?: JSONWebKeySet;
  /**
   * JWK Set URLs this issuer may name in the `jku` header, compared exactly after URL parsing. A
   * token with `jku` takes its keys from there; a `jku` not listed here is rejected, so a client
   * can never point the service at keys it chose itself.
   */
  readonly allowedJku?: ReadonlyArray<string>;
  /** When set, the token must carry a `tenant` claim on this list. */
  readonly tenants?: ReadonlyArray<string>;
}

/** Options for {@link createClientJwtVerifier}: plain data, built by the config loader. */
export interface ClientJwtVerifierOptions {
  /** The allow-list of issuers. Each needs `jwksUrl`, `jwks` or `allowedJku` (not both of the first two). */
  readonly trustedIssuers: ReadonlyArray<TrustedIssuer>;
  /**
   * Remembers `(iss, jti)` pairs. Replicas of one service must share one cache, or a token
   * replayed against another replica is accepted.
   */
  readonly replayCache: ReplayCache;
  /** Tolerated clock difference with clients, applied to `exp` and `iat`. Default 60. */
  readonly clockSkewSeconds?: number;
  /** Oldest accepted `iat`, in seconds before now (plus skew). Default 300. */
  readonly maxTokenAgeSeconds?: number;
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
   * @throws AppError `AUTH_REJECTED` with a short, token-free reason.
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

/** Normalises a configured or presented URL for exact comparison; `undefined` if not http(s). */
function normaliseUrl(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    if (url.username !== '' || url.password !== '') return undefined;
    return url.href;
  } catch {
    return undefined;
  }
}

/**
 * A key set could not be obtained or used (connection refused, non-200, bad JSON, invalid JWK).
 * Tagged at the key-resolver boundary because a bare `TypeError('fetch failed')` is otherwise
 * indistinguishable from any other TypeError.
 */
class KeySetUnavailable extends Error {
  constructor(cause: unknown) {
    super('JWKS unavailable', { cause });
    this.name = 'KeySetUnavailable';
  }
}

/** A JWK Set as jose's local and remote sets present it. */
type KeySet = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

function tagFailures(keys: KeySet): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (err) {
      const expected =
        err instanceof joseErrors.JWKSNoMatchingKey ||
        err instanceof joseErrors.JWKSMultipleMatchingKeys ||
        err instanceof joseErrors.JWKSTimeout;
      throw expected ? err : new KeySetUnavailable(err);
    }
  };
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

interface IssuerKeys {
  readonly issuer: TrustedIssuer;
  /** Keys used when the token has no `jku`. */
  readonly defaultKeys: JWTVerifyGetKey | undefined;
  /** Normalised `jku` URL → its key set. */
  readonly jkuKeys: ReadonlyMap<string, JWTVerifyGetKey>;
}

/** The key sets of every trusted issuer, built once at start-up. */
function issuerKeys(trustedIssuers: readonly TrustedIssuer[], remoteOptions: RemoteJWKSetOptions): Map<string, IssuerKeys> {
  // One remote set per URL, shared by every issuer naming it, so each URL has one cache.
  const remoteSets = new Map<string, JWTVerifyGetKey>();
  function remoteSet(raw: string, iss: string): [string, JWTVerifyGetKey] {
    const href = normaliseUrl(raw);
    if (href === undefined) {
      throw new TypeError(`issuer ${JSON.stringify(iss)}: JWKS URL ${JSON.stringify(raw)} must be an http(s) URL without userinfo`);
    }
    let set = remoteSets.get(href);
    if (set === undefined) {
      set = tagFailures(createRemoteJWKSet(new URL(href), remoteOptions));
      remoteSets.set(href, set);
    }
    return [href, set];
  }

  const issuers = new Map<string, IssuerKeys>();
  for (const issuer of trustedIssuers) {
    const label = JSON.stringify(issuer.iss);
    if (!isNonEmptyString(issuer.iss)) throw new TypeError('trusted issuer with an empty iss');
    if (issuers.has(issuer.iss)) throw new TypeError(`issuer ${label} is listed twice`);
    if (issuer.jwksUrl !== undefined && issuer.jwks !== undefined) {
      throw new TypeError(`issuer ${label}: give jwksUrl or jwks, not both`);
    }
    const jkuKeys = new Map((issuer.allowedJku ?? []).map((url) => remoteSet(url, issuer.iss)));
    let defaultKeys: JWTVerifyGetKey | undefined;
    if (issuer.jwksUrl !== undefined) defaultKeys = remoteSet(issuer.jwksUrl, issuer.iss)[1];
    // createLocalJWKSet validates the set's shape, so a broken key file fails at start-up.
    else if (issuer.jwks !== undefined) defaultKeys = tagFailures(createLocalJWKSet(issuer.jwks));
    if (defaultKeys === undefined && jkuKeys.size === 0) {
      throw new TypeError(`issuer ${label} needs jwksUrl, jwks or allowedJku`);
    }
    issuers.set(issuer.iss, { issuer, defaultKeys, jkuKeys });
  }
  return issuers;
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

/**
 * Builds a verifier. Key sets are created here, once: jose's remote sets cache keys, refetch on
 * an unknown `kid` at most once per cooldown, and refuse redirects. Since every URL comes from
 * configuration, the number of remote sets (and of fetch targets) is fixed at start-up.
 *
 * @param options - Issuers, replay cache, clock and timing limits.
 * @returns The verifier.
 * @throws TypeError when the issuer configuration is inconsistent: it must stop start-up.
 */
export function createClientJwtVerifier(options: ClientJwtVerifierOptions): ClientJwtVerifier {
  const skewSeconds = options.clockSkewSeconds ?? 60;
  const maxAgeSeconds = options.maxTokenAgeSeconds ?? 300;
  const now = options.now ?? Date.now;
  const remoteOptions = {
    timeoutDuration: options.fetchTimeoutMs ?? 1500,
    cooldownDuration: options.jwksCooldownMs ?? 30_000,
    cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
  };
  if (!(skewSeconds >= 0) || !(maxAgeSeconds > 0)) {
    throw new TypeError('clockSkewSeconds must be >= 0 and maxTokenAgeSeconds > 0');
  }

  const issuers = issuerKeys(options.trustedIssuers, remoteOptions);

  function keysFor(entry: IssuerKeys, header: ProtectedHeaderParameters): JWTVerifyGetKey {
    if (header.jku === undefined) {
      return entry.defaultKeys ?? reject('jku required by this issuer');
    }
    const href = typeof header.jku === 'string' ? normaliseUrl(header.jku) : undefined;
    const keys = href === undefined ? undefined : entry.jkuKeys.get(href);
    return keys ?? reject('jku not allowed for this issuer');
  }

  async function verify(authorizationHeader: string | undefined, audience: string): Promise<VerifiedClient> {
    if (audience === '') throw new TypeError('audience must be the endpoint URL');
    const token = parseBearer(authorizationHeader);
    const { header, kid, entry } = precheck(token, issuers);
    const keys = keysFor(entry, header);
    const { iss, tenants } = entry.issuer;

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: [...ALLOWED_ALGORITHMS],
        issuer: iss,
        audience,
        clockTolerance: skewSeconds,
        maxTokenAge: maxAgeSeconds,
        requiredClaims: ['exp', 'iat', 'jti'],
        currentDate: new Date(now()),
      }));
    } catch (err) {
      // Keep the cause only for key-set failures, which operators must see; claim errors carry
      // the payload, which has no place in logs.
      const keySetFailure = err instanceof KeySetUnavailable || err instanceof joseErrors.JWKSTimeout;
      return reject(reasonFor(err), keySetFailure ? err : undefined);
    }

    const { jti, tenant, exp, iat } = payload;
    if (!isNonEmptyString(jti) || jti.length > MAX_JTI_LENGTH) reject('invalid jti claim');
    if (tenant !== undefined && typeof tenant !== 'string') reject('invalid tenant claim');
    if (tenants !== undefined && (tenant === undefined || !tenants.includes(tenant))) reject('tenant not allowed');
    // jwtVerify required both; the checks narrow the types.
    if (exp === undefined || iat === undefined) reject('missing exp or iat claim');

    // The replay check comes last: only a token that is valid in every other respect may use
    // up its jti, or anyone could burn a legitimate client's jti with a forged token. It is
    // remembered for as long as it could be accepted: until exp or iat + max age, plus skew.
    const acceptableUntilSeconds = Math.min(exp, iat + maxAgeSeconds) + skewSeconds;
    // +1 s: jose compares whole seconds, so the token is still accepted during that last second.
    // A failing shared cache (e.g. Redis down) propagates as is: a 500, not a misleading 401.
    const verdict = await options.replayCache.checkAndRemember(iss, jti, acceptableUntilSeconds * 1000 + 1000);
    if (verdict === 'replayed') reject('jti replayed');
    if (verdict === 'full') reject('replay cache full');

    return tenant === undefined ? { iss, jti, kid } : { iss, tenant, jti, kid };
  }

  return { verify };
}
