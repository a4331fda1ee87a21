/**
 * The time and volume limits of client-JWT acceptance, and the arithmetic that ties them
 * together: how long a `jti` must be remembered, and how many `jti`s one issuer can make the
 * service remember. Kept apart so that the verifier, the replay cache's default size and the
 * configuration all derive from one set of numbers.
 */

/** Defaults of the verifier's limits (each is an option of `createClientJwtVerifier`). */
export const AUTH_DEFAULTS = {
  /** Tolerated clock difference with clients, applied to `exp` and `iat`. */
  clockSkewSeconds: 60,
  /** Oldest accepted `iat`, in seconds before now (plus skew). */
  maxTokenAgeSeconds: 300,
  /** Longest accepted `exp − iat`: CDS Hooks 2.0 asks for tokens of at most 5 minutes. */
  maxLifetimeSeconds: 300,
  /** Sustained verified requests per second one issuer may make (token-bucket refill rate). */
  issuerRatePerSecond: 2000,
  /** Requests one issuer may make at once above the sustained rate (token-bucket size). */
  issuerBurst: 2000,
} as const;

/** The limits that decide how many `jti`s one issuer can have remembered at once. */
export interface ReplaySizing {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly maxTokenAgeSeconds: number;
  readonly maxLifetimeSeconds: number;
  readonly clockSkewSeconds: number;
}

/**
 * Until when a verified token's `jti` must be remembered: for as long as the token could still
 * be accepted, i.e. until `exp` or `iat` + max age, whichever comes first, plus the skew. +1 s
 * because the expiry checks compare whole seconds, so the token is still accepted during that
 * last second.
 *
 * @param exp - the verified `exp` claim (epoch seconds)
 * @param iat - the verified `iat` claim (epoch seconds)
 * @param limits - max token age and clock skew
 * @returns epoch milliseconds after which the token can no longer be accepted anyway
 */
export function replayExpiryMs(exp: number, iat: number, limits: Pick<ReplaySizing, 'maxTokenAgeSeconds' | 'clockSkewSeconds'>): number {
  return (Math.min(exp, iat + limits.maxTokenAgeSeconds) + limits.clockSkewSeconds) * 1000 + 1000;
}

/**
 * The longest a `jti` can stay remembered, in seconds after the token was verified. A token is
 * verified at the earliest when `iat` = now + skew (the client's clock is ahead), and remembered
 * until `iat` + min(max age, max lifetime) + skew + 1 s: max(age, lifetime) + 2 × skew + 1 at
 * most. With the defaults: 300 + 120 + 1 = 421 s (a client with an exact clock: 361 s).
 *
 * @param limits - max token age, max lifetime and clock skew
 */
export function replayWindowSeconds(limits: Pick<ReplaySizing, 'maxTokenAgeSeconds' | 'maxLifetimeSeconds' | 'clockSkewSeconds'>): number {
  return Math.min(limits.maxTokenAgeSeconds, limits.maxLifetimeSeconds) + 2 * limits.clockSkewSeconds + 1;
}

/**
 * How many entries one issuer's share of the replay cache needs so that an issuer within its rate
 * limit is never refused: the token bucket lets through at most `burst + rate × t` requests in
 * any `t` seconds, and an entry lives at most {@link replayWindowSeconds} plus 1 s (expired
 * entries are dropped in whole-second steps). With the defaults: 2,000 × 422 + 2,000 = 846,000.
 *
 * @param limits - any of the limits; the others take their {@link AUTH_DEFAULTS}
 * @returns a positive integer
 */
export function replayEntriesPerIssuer(limits: Partial<ReplaySizing> = {}): number {
  const sizing: ReplaySizing = {
    ratePerSecond: AUTH_DEFAULTS.issuerRatePerSecond,
    burst: AUTH_DEFAULTS.issuerBurst,
    maxTokenAgeSeconds: AUTH_DEFAULTS.maxTokenAgeSeconds,
    maxLifetimeSeconds: AUTH_DEFAULTS.maxLifetimeSeconds,
    clockSkewSeconds: AUTH_DEFAULTS.clockSkewSeconds,
    ...limits,
  };
  return Math.ceil(sizing.ratePerSecond * (replayWindowSeconds(sizing) + 1)) + Math.ceil(sizing.burst);
}
