/**
 * A token-bucket rate limiter keyed by a string (the verifier keys it by verified issuer).
 *
 * Each key has a bucket of `burst` tokens that refills at `ratePerSecond`; a request takes one
 * token or is refused with the time until one is back. Time is read from an injectable clock, so
 * tests can run minutes of traffic in milliseconds.
 */

import { AppError } from '../errors.js';

/** Options for {@link createTokenBucketLimiter}. */
export interface TokenBucketOptions {
  /** Sustained requests per second per key (refill rate). Positive. */
  readonly ratePerSecond: number;
  /** Requests a key may make at once after being idle (bucket size). At least 1. */
  readonly burst: number;
  /** Clock in epoch milliseconds; injectable for tests. Default `Date.now`. */
  readonly now?: () => number;
}

/** The answer of {@link RateLimiter.take}. */
export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/** Per-key token buckets. */
export interface RateLimiter {
  /** Takes one token from `key`'s bucket when there is one. */
  take(key: string): RateDecision;
  /**
   * Takes one token or throws.
   *
   * @param key - the bucket, e.g. a verified issuer
   * @param what - names the key in the error message, e.g. `issuer`
   * @throws AppError `RATE_LIMITED` (429) with `retryAfterSeconds`
   */
  consume(key: string, what: string): void;
  /** Gives back a token taken for a request that then did no work (never above `burst`). */
  refund(key: string): void;
  /** Keys with a bucket in memory (a bucket that has refilled completely is dropped). */
  readonly size: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Creates a token-bucket limiter.
 *
 * Memory: one small bucket per key seen since its bucket last refilled completely; full buckets
 * are dropped (a missing bucket is a full one) in a sweep at most once per refill time
 * (`burst / ratePerSecond`). Keys must come from a bounded set (verified issuers, not values a
 * caller chooses freely).
 *
 * @param options - rate, burst and clock
 * @throws TypeError when rate or burst is not a positive finite number (burst ≥ 1)
 */
export function createTokenBucketLimiter(options: TokenBucketOptions): RateLimiter {
  const { ratePerSecond, burst } = options;
  if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) throw new TypeError(`rate limit ratePerSecond must be a positive number, got ${String(ratePerSecond)}`);
  if (!Number.isFinite(burst) || burst < 1) throw new TypeError(`rate limit burst must be a number ≥ 1, got ${String(burst)}`);
  const now = options.now ?? Date.now;
  const refillMs = (burst / ratePerSecond) * 1000;
  const buckets = new Map<string, Bucket>();
  let nextSweep = now() + refillMs;

  function refilled(bucket: Bucket, at: number): number {
    return Math.min(burst, bucket.tokens + (Math.max(0, at - bucket.updatedAt) * ratePerSecond) / 1000);
  }

  function sweep(at: number): void {
    for (const [key, bucket] of buckets) if (refilled(bucket, at) >= burst) buckets.delete(key);
    nextSweep = at + refillMs;
  }

  function take(key: string): RateDecision {
    const at = now();
    if (at >= nextSweep) sweep(at);
    const bucket = buckets.get(key) ?? { tokens: burst, updatedAt: at };
    bucket.tokens = refilled(bucket, at);
    bucket.updatedAt = at;
    buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: (1 - bucket.tokens) / ratePerSecond };
  }

  return {
    take,
    consume(key, what) {
      const decision = take(key);
      if (decision.allowed) return;
      throw new AppError('RATE_LIMITED', `this ${what} is over its rate limit of ${ratePerSecond} requests/s (burst ${burst})`, {
        retryAfterSeconds: decision.retryAfterSeconds,
      });
    },
    refund(key) {
      const bucket = buckets.get(key);
      if (bucket !== undefined) bucket.tokens = Math.min(burst, bucket.tokens + 1);
    },
    get size() {
      return buckets.size;
    },
  };
}
