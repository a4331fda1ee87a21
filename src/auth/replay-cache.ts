/**
 * Replay protection for CDS client JWTs: each `(iss, jti)` pair is accepted once for as long as
 * the token could still be accepted.
 *
 * CDS Hooks 2.0 § Trusting CDS Clients requires `jti`, and the service must refuse a token whose
 * `jti` it has already seen. The in-memory cache here is enough for a single replica; several
 * replicas must share one cache (e.g. Redis `SET key 1 NX PXAT expiresAtMs`), which is why the
 * verifier depends only on the {@link ReplayCache} interface.
 *
 * @see https://cds-hooks.hl7.org/2.0/#trusting-cds-clients
 */

/**
 * Outcome of {@link ReplayCache.checkAndRemember}:
 * - `fresh`: never seen; it is now remembered until its expiry.
 * - `replayed`: seen before and not yet expired: reject the token.
 * - `full`: the cache cannot remember it without forgetting an unexpired token: reject the token.
 */
export type ReplayVerdict = 'fresh' | 'replayed' | 'full';

/** A store of seen `(iss, jti)` pairs. Implementations must make the check-and-set atomic. */
export interface ReplayCache {
  /**
   * Records `(iss, jti)` unless it is already recorded and unexpired, in one atomic step (two
   * concurrent calls with the same pair must not both get `fresh`).
   *
   * @param iss - The token's issuer; `jti` is only unique per issuer (RFC 7519 § 4.1.7).
   * @param jti - The token's JWT ID.
   * @param expiresAtMs - Epoch milliseconds after which the token can no longer be accepted
   *   anyway, so the entry may be forgotten.
   * @returns Whether the token is fresh, a replay, or cannot be tracked.
   */
  checkAndRemember(iss: string, jti: string, expiresAtMs: number): Promise<ReplayVerdict>;
}

/** Options for {@link createMemoryReplayCache}. */
export interface MemoryReplayCacheOptions {
  /**
   * Most entries held at once. Size it to peak token rate × token acceptance window
   * (`maxTokenAgeSeconds` + clock skew): 100 requests/s × 420 s ≈ 42,000. Default 100,000.
   */
  readonly maxEntries?: number;
  /** Clock in epoch milliseconds; injectable for tests. Default `Date.now`. */
  readonly now?: () => number;
}

/** An in-process {@link ReplayCache}; `size` is exposed for metrics and tests. */
export interface MemoryReplayCache extends ReplayCache {
  /** Entries currently held, expired ones not yet swept included. */
  readonly size: number;
}

const DEFAULT_MAX_ENTRIES = 100_000;

/**
 * Creates a bounded in-memory replay cache for a single replica.
 *
 * When the cache is full it first drops every expired entry; if it is still full, it answers
 * `full` and the token is rejected. The alternative, evicting the oldest unexpired entry, would
 * silently reopen a replay window for that token, and an attacker holding one captured token
 * could force exactly that by flooding. Failing closed costs availability instead, but only
 * tokens that already passed signature verification reach the cache, so only a trusted client
 * (or its stolen key) can fill it, and the bound is a sizing problem visible in metrics.
 *
 * @param options - Size bound and clock.
 * @returns The cache.
 */
export function createMemoryReplayCache(options: MemoryReplayCacheOptions = {}): MemoryReplayCache {
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new TypeError(`replay cache maxEntries must be a positive integer, got ${String(maxEntries)}`);
  }
  const now = options.now ?? Date.now;
  // key → expiry (epoch ms). A Map keeps insertion order, so a sweep walks oldest first.
  const entries = new Map<string, number>();
  // A lower bound on the earliest expiry held. While the clock is before it nothing can have
  // expired, so a full cache under sustained load does not pay an O(n) sweep per request.
  let earliestExpiry = Number.POSITIVE_INFINITY;

  function sweep(at: number): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const [key, expiresAt] of entries) {
      if (expiresAt <= at) entries.delete(key);
      else if (expiresAt < earliest) earliest = expiresAt;
    }
    earliestExpiry = earliest;
  }

  return {
    get size(): number {
      return entries.size;
    },

    checkAndRemember(iss: string, jti: string, expiresAtMs: number): Promise<ReplayVerdict> {
      const at = now();
      // JSON encoding keeps ("a|b", "c") and ("a", "b|c") apart, unlike a joined string.
      const key = JSON.stringify([iss, jti]);
      const seen = entries.get(key);
      if (seen !== undefined) {
        if (seen > at) return Promise.resolve('replayed');
        entries.delete(key);
      }
      if (entries.size >= maxEntries) {
        if (at >= earliestExpiry) sweep(at);
        if (entries.size >= maxEntries) return Promise.resolve('full');
      }
      entries.set(key, expiresAtMs);
      if (expiresAtMs < earliestExpiry) earliestExpiry = expiresAtMs;
      return Promise.resolve('fresh');
    },
  };
}
