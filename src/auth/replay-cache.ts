/**
 * Replay protection for CDS client JWTs: each `(iss, jti)` pair is accepted once for as long as
 * the token could still be accepted.
 *
 * CDS Hooks 2.0 § Trusting CDS Clients requires `jti`, and the service must refuse a token whose
 * `jti` it has already seen. The in-memory cache here is enough for a single replica; several
 * replicas must share one cache (e.g. Redis `SET key 1 NX PXAT expiresAtMs`, with a per-issuer
 * counter for the share), which is why the verifier depends only on the {@link ReplayCache}
 * interface.
 *
 * @see https://cds-hooks.hl7.org/2.0/#trusting-cds-clients
 */

import { replayEntriesPerIssuer } from './limits.js';

/**
 * Outcome of {@link ReplayCache.checkAndRemember}:
 * - `fresh`: never seen; it is now remembered until its expiry.
 * - `replayed`: seen before and not yet expired: reject the token.
 * - `full`: the issuer's share cannot remember it without forgetting an unexpired token: refuse
 *   the call for now; room frees up in `retryAfterMs` at the latest.
 */
export type ReplayVerdict =
  | { readonly status: 'fresh' }
  | { readonly status: 'replayed' }
  | { readonly status: 'full'; readonly retryAfterMs: number };

/** A store of seen `(iss, jti)` pairs. Implementations must make the check-and-set atomic. */
export interface ReplayCache {
  /**
   * Records `(iss, jti)` unless it is already recorded and unexpired, in one atomic step (two
   * concurrent calls with the same pair must not both get `fresh`).
   *
   * @param iss - The token's issuer; `jti` is only unique per issuer (RFC 7519 § 4.1.7). Each
   *   issuer has its own bounded share, so one issuer cannot crowd out another.
   * @param jti - The token's JWT ID.
   * @param expiresAtMs - Epoch milliseconds after which the token can no longer be accepted
   *   anyway, so the entry may be forgotten.
   * @returns Whether the token is fresh, a replay, or cannot be tracked now.
   */
  checkAndRemember(iss: string, jti: string, expiresAtMs: number): Promise<ReplayVerdict>;
}

/** Options for {@link createMemoryReplayCache}. */
export interface MemoryReplayCacheOptions {
  /**
   * Most entries one issuer's share holds at once. Default {@link replayEntriesPerIssuer}() =
   * 846,000: enough for 2,000 tokens/s per issuer (the default rate limit) with every token
   * remembered for the longest window the default limits allow (421 s) plus the 2,000 burst.
   * At most 16,000,000 (a JavaScript Map's limit).
   */
  readonly maxEntriesPerIssuer?: number;
  /** Clock in epoch milliseconds; injectable for tests. Default `Date.now`. */
  readonly now?: () => number;
}

/** An in-process {@link ReplayCache}; sizes are exposed for metrics and tests. */
export interface MemoryReplayCache extends ReplayCache {
  /** Entries currently held over all issuers (expired ones not yet dropped included). */
  readonly size: number;
  /** The capacity of each issuer's share. */
  readonly maxEntriesPerIssuer: number;
  /** Entries currently held for `iss`. */
  sizeOf(iss: string): number;
}

/** V8 refuses to grow a Map beyond 2^24 entries; stay clearly below. */
const MAX_ENTRIES_LIMIT = 16_000_000;

/**
 * One issuer's share. Expiries are kept in milliseconds relative to the cache's creation (small
 * integers, which V8 stores unboxed) and indexed by the whole second in which they fall, so the
 * entries that expired since the last call are found without looking at the others: each entry
 * is dropped once, by the first call after its second has passed.
 */
class Share {
  /** jti → expiry (ms since the cache's base). */
  readonly expiries = new Map<string, number>();
  /** Second k (since the base) → the jtis expiring in (k − 1, k] s. */
  private readonly buckets = new Map<number, string[]>();
  /** Every bucket up to this second has been emptied. */
  private cursor: number;
  private lastBucket: number;

  constructor(at: number) {
    this.cursor = Math.floor(at / 1000);
    this.lastBucket = this.cursor;
  }

  /** Drops the entries that expired at or before `at` (ms since the base). */
  purge(at: number): void {
    const second = Math.floor(at / 1000);
    if (second <= this.cursor) return;
    if (second - this.cursor > this.buckets.size) {
      // After a long idle gap, visiting the buckets held is cheaper than visiting every second.
      for (const [key, jtis] of this.buckets) if (key <= second) this.drain(key, jtis, at);
    } else {
      for (let key = this.cursor + 1; key <= second; key += 1) {
        const jtis = this.buckets.get(key);
        if (jtis !== undefined) this.drain(key, jtis, at);
      }
    }
    this.cursor = second;
  }

  private drain(key: number, jtis: readonly string[], at: number): void {
    for (const jti of jtis) {
      // A jti remembered again after it expired has a later expiry (and a later bucket): keep it.
      const expiry = this.expiries.get(jti);
      if (expiry !== undefined && expiry <= at) this.expiries.delete(jti);
    }
    this.buckets.delete(key);
  }

  remember(jti: string, expiry: number): void {
    this.expiries.set(jti, expiry);
    const key = Math.max(Math.ceil(expiry / 1000), this.cursor + 1);
    const jtis = this.buckets.get(key);
    if (jtis === undefined) this.buckets.set(key, [jti]);
    else jtis.push(jti);
    if (key > this.lastBucket) this.lastBucket = key;
  }

  /** Milliseconds from `at` until the next bucket is emptied (room frees up). */
  msUntilRoom(at: number): number {
    for (let key = this.cursor + 1; key <= this.lastBucket; key += 1) {
      if (this.buckets.has(key)) return Math.max(1, key * 1000 - at);
    }
    return 1000;
  }
}

/**
 * Creates a bounded in-memory replay cache for a single replica, partitioned by issuer.
 *
 * When an issuer's share is full of unexpired entries it answers `full` for that issuer only.
 * The alternative, evicting the oldest unexpired entry, would silently reopen a replay window for
 * that token, and an attacker holding one captured token could force exactly that by flooding.
 * Failing closed costs availability instead, but only tokens that already passed signature
 * verification reach the cache, so only a trusted client (or its stolen key) can fill its own
 * share, and the verifier's per-issuer rate limit keeps a share sized by
 * {@link replayEntriesPerIssuer} from ever filling. Issuers are the verifier's allow-list, so the
 * number of shares is fixed by configuration.
 *
 * Memory grows with the entries actually held, not with the capacity: measured on Node 20 with
 * UUID `jti`s (bench/auth-throughput.ts), 99 bytes of heap per entry, so a full default share of
 * 846,000 entries takes about 80 MiB of heap (about 105 MiB of RSS).
 *
 * @param options - Per-issuer capacity and clock.
 * @returns The cache.
 */
export function createMemoryReplayCache(options: MemoryReplayCacheOptions = {}): MemoryReplayCache {
  const maxEntriesPerIssuer = options.maxEntriesPerIssuer ?? replayEntriesPerIssuer();
  if (!Number.isInteger(maxEntriesPerIssuer) || maxEntriesPerIssuer < 1 || maxEntriesPerIssuer > MAX_ENTRIES_LIMIT) {
    throw new TypeError(`replay cache maxEntriesPerIssuer must be an integer from 1 to ${MAX_ENTRIES_LIMIT}, got ${String(maxEntriesPerIssuer)}`);
  }
  const now = options.now ?? Date.now;
  const base = now();
  const shares = new Map<string, Share>();

  function shareOf(iss: string, at: number): Share {
    let share = shares.get(iss);
    if (share === undefined) {
      share = new Share(at);
      shares.set(iss, share);
    }
    return share;
  }

  return {
    maxEntriesPerIssuer,
    get size(): number {
      let total = 0;
      for (const share of shares.values()) total += share.expiries.size;
      return total;
    },
    sizeOf(iss: string): number {
      return shares.get(iss)?.expiries.size ?? 0;
    },

    checkAndRemember(iss: string, jti: string, expiresAtMs: number): Promise<ReplayVerdict> {
      const at = now() - base;
      const share = shareOf(iss, at);
      share.purge(at);
      const seen = share.expiries.get(jti);
      if (seen !== undefined && seen > at) return Promise.resolve({ status: 'replayed' });
      // An expired entry not yet dropped is overwritten in place and needs no room.
      if (seen === undefined && share.expiries.size >= maxEntriesPerIssuer) {
        return Promise.resolve({ status: 'full', retryAfterMs: share.msUntilRoom(at) });
      }
      share.remember(jti, expiresAtMs - base);
      return Promise.resolve({ status: 'fresh' });
    },
  };
}
