/**
 * The JWK Sets of the trusted issuers, built once at start-up, and how keys are found in them.
 *
 * JWKS refresh policy (jose `createRemoteJWKSet`, one set per URL, shared by every issuer that
 * names the URL):
 * - A set is fetched on its first use, not at start-up. Its keys are then used for
 *   `jwksCacheMaxAgeMs` (default 10 min); the first verification after that refetches it and
 *   waits for the answer (at most `fetchTimeoutMs`, default 1.5 s).
 * - A token whose `kid` is not in the set triggers one refetch, unless the set was fetched less
 *   than `jwksCooldownMs` ago (default 30 s): then it is rejected ("no key matches kid") with no
 *   request, so made-up `kid`s cannot make the service hammer a client's server. This is also
 *   how a key rotated in by the client is picked up; a key removed from the set stops working at
 *   the next refetch.
 * - Concurrent refetches of one URL share one request. Redirects are refused. A failed fetch
 *   (error status, bad JSON, timeout) rejects the tokens that needed it ("JWKS unavailable" /
 *   "JWKS fetch timed out"); a set past its max age whose refetch fails is not used, and the next
 *   verification tries again.
 *
 * Imported keys are cached: jose imports each JWK of a fetched (or configured) set once per
 * algorithm, on first use, and returns the same CryptoKey afterwards, so a verification does
 * not re-import a key. Only a refetched set is imported again, once per key (a unit test counts
 * the imports). Looking a key up is a filter over the set's few keys by `kid` and `alg`.
 */

import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  type CryptoKey,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type JWTVerifyGetKey,
  type RemoteJWKSetOptions,
} from 'jose';

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

/** Normalises a configured or presented URL for exact comparison; `undefined` if not http(s). */
export function normaliseUrl(raw: string): string | undefined {
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
export class KeySetUnavailable extends Error {
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

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/** The key sets of one trusted issuer. */
export interface IssuerKeys {
  readonly issuer: TrustedIssuer;
  /** Keys used when the token has no `jku`. */
  readonly defaultKeys: JWTVerifyGetKey | undefined;
  /** Normalised `jku` URL → its key set. */
  readonly jkuKeys: ReadonlyMap<string, JWTVerifyGetKey>;
}

/** Timing of the remote sets: see the refresh policy above. */
export interface KeySetTiming {
  readonly fetchTimeoutMs: number;
  readonly jwksCooldownMs: number;
  readonly jwksCacheMaxAgeMs: number;
}

/**
 * Builds the key sets of every trusted issuer. Since every URL comes from configuration, the
 * number of remote sets (and of fetch targets) is fixed here.
 *
 * @param trustedIssuers - the allow-list
 * @param timing - fetch timeout, refetch cooldown, max age of fetched keys
 * @returns `iss` → its key sets
 * @throws TypeError when the issuer configuration is inconsistent: it must stop start-up
 */
export function buildIssuerKeys(trustedIssuers: readonly TrustedIssuer[], timing: KeySetTiming): Map<string, IssuerKeys> {
  const remoteOptions: RemoteJWKSetOptions = {
    timeoutDuration: timing.fetchTimeoutMs,
    cooldownDuration: timing.jwksCooldownMs,
    cacheMaxAge: timing.jwksCacheMaxAgeMs,
  };
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

/**
 * The key set a token must be verified with: the issuer's own, or the one its `jku` names when
 * that URL is on the issuer's list.
 *
 * @returns the key set, or the reason the token is refused
 */
export function keysFor(entry: IssuerKeys, jku: unknown): JWTVerifyGetKey | string {
  if (jku === undefined) return entry.defaultKeys ?? 'jku required by this issuer';
  const href = typeof jku === 'string' ? normaliseUrl(jku) : undefined;
  const keys = href === undefined ? undefined : entry.jkuKeys.get(href);
  return keys ?? 'jku not allowed for this issuer';
}
