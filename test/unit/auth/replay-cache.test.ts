import { AUTH_DEFAULTS, replayEntriesPerIssuer, replayExpiryMs, replayWindowSeconds } from '../../../src/auth/limits.js';
import { createTokenBucketLimiter } from '../../../src/auth/rate-limiter.js';
import { createMemoryReplayCache, type ReplayVerdict } from '../../../src/auth/replay-cache.js';

const T0 = Date.UTC(2025, 5, 2, 9, 30, 0);

function cacheAt(start: number, maxEntriesPerIssuer?: number) {
  let now = start;
  const cache = createMemoryReplayCache({ now: () => now, ...(maxEntriesPerIssuer === undefined ? {} : { maxEntriesPerIssuer }) });
  return {
    cache,
    setNow: (value: number): void => {
      now = value;
    },
  };
}

const FRESH: ReplayVerdict = { status: 'fresh' };
const REPLAYED: ReplayVerdict = { status: 'replayed' };

describe('createMemoryReplayCache', () => {
  it('reports a pair as fresh once, then as replayed until it expires', async () => {
    const { cache, setNow } = cacheAt(T0);
    await expect(cache.checkAndRemember('iss-a', 'jti-1', T0 + 1000)).resolves.toEqual(FRESH);
    await expect(cache.checkAndRemember('iss-a', 'jti-1', T0 + 1000)).resolves.toEqual(REPLAYED);
    setNow(T0 + 999);
    await expect(cache.checkAndRemember('iss-a', 'jti-1', T0 + 1000)).resolves.toEqual(REPLAYED);
    setNow(T0 + 1000);
    await expect(cache.checkAndRemember('iss-a', 'jti-1', T0 + 5000)).resolves.toEqual(FRESH);
  });

  it('keeps the same jti from different issuers apart', async () => {
    const { cache } = cacheAt(T0);
    await expect(cache.checkAndRemember('iss-a', 'jti-1', T0 + 1000)).resolves.toEqual(FRESH);
    await expect(cache.checkAndRemember('iss-b', 'jti-1', T0 + 1000)).resolves.toEqual(FRESH);
  });

  it('does not confuse pairs whose concatenations are equal', async () => {
    const { cache } = cacheAt(T0);
    await expect(cache.checkAndRemember('a|b', 'c', T0 + 1000)).resolves.toEqual(FRESH);
    await expect(cache.checkAndRemember('a', 'b|c', T0 + 1000)).resolves.toEqual(FRESH);
    await expect(cache.checkAndRemember('a","b', 'c', T0 + 1000)).resolves.toEqual(FRESH);
  });

  it('answers full, with the time until room frees up, rather than forget an unexpired entry', async () => {
    const { cache } = cacheAt(T0, 2);
    await cache.checkAndRemember('iss', 'jti-1', T0 + 1500);
    await cache.checkAndRemember('iss', 'jti-2', T0 + 4000);
    // jti-1 is dropped once its second (T0 + 2 s) has passed.
    await expect(cache.checkAndRemember('iss', 'jti-3', T0 + 9000)).resolves.toEqual({ status: 'full', retryAfterMs: 2000 });
    // The held entries still count as seen.
    await expect(cache.checkAndRemember('iss', 'jti-1', T0 + 1500)).resolves.toEqual(REPLAYED);
    expect(cache.sizeOf('iss')).toBe(2);
  });

  it('gives each issuer its own share: one issuer filling its share does not refuse another', async () => {
    const { cache } = cacheAt(T0, 100);
    for (let i = 0; i < 100; i += 1) await cache.checkAndRemember('flooding-iss', `jti-${i}`, T0 + 60_000);
    await expect(cache.checkAndRemember('flooding-iss', 'one-more', T0 + 60_000)).resolves.toMatchObject({ status: 'full' });
    for (let i = 0; i < 100; i += 1) {
      await expect(cache.checkAndRemember('quiet-iss', `jti-${i}`, T0 + 60_000)).resolves.toEqual(FRESH);
    }
    expect(cache.size).toBe(200);
    expect(cache.maxEntriesPerIssuer).toBe(100);
  });

  it('drops expired entries to make room when full', async () => {
    const { cache, setNow } = cacheAt(T0, 2);
    await cache.checkAndRemember('iss', 'short', T0 + 100);
    await cache.checkAndRemember('iss', 'long', T0 + 10_000);
    setNow(T0 + 1000);
    await expect(cache.checkAndRemember('iss', 'new', T0 + 10_000)).resolves.toEqual(FRESH);
    await expect(cache.checkAndRemember('iss', 'long', T0 + 10_000)).resolves.toEqual(REPLAYED);
    expect(cache.sizeOf('iss')).toBe(2);
  });

  it('takes back the slot of an expired entry not yet dropped, without needing room', async () => {
    const { cache, setNow } = cacheAt(T0, 1);
    await cache.checkAndRemember('iss', 'a', T0 + 200);
    setNow(T0 + 500);
    await expect(cache.checkAndRemember('iss', 'a', T0 + 3000)).resolves.toEqual(FRESH);
    // The first entry's second passes: the entry remembered again is kept.
    setNow(T0 + 1500);
    await expect(cache.checkAndRemember('iss', 'a', T0 + 3000)).resolves.toEqual(REPLAYED);
  });

  it('forgets entries as their seconds pass, without waiting to be full', async () => {
    const { cache, setNow } = cacheAt(T0);
    for (let i = 0; i < 50; i += 1) await cache.checkAndRemember('iss', `jti-${i}`, T0 + 1000 * (i + 1));
    setNow(T0 + 10_000);
    await cache.checkAndRemember('iss', 'probe-1', T0 + 100_000);
    expect(cache.sizeOf('iss')).toBe(41);
    // After a long idle gap every entry has expired.
    setNow(T0 + 86_400_000);
    await cache.checkAndRemember('iss', 'probe-2', T0 + 86_500_000);
    expect(cache.sizeOf('iss')).toBe(1);
  });

  it('refuses a size that is not a positive integer within a Map’s limit', () => {
    expect(() => createMemoryReplayCache({ maxEntriesPerIssuer: 0 })).toThrow(TypeError);
    expect(() => createMemoryReplayCache({ maxEntriesPerIssuer: 1.5 })).toThrow(TypeError);
    expect(() => createMemoryReplayCache({ maxEntriesPerIssuer: 20_000_000 })).toThrow(TypeError);
  });
});

describe('replay cache sizing', () => {
  it('remembers a jti at most max(age, lifetime) + 2 × skew + 1 s: 421 s with the defaults', () => {
    expect(replayWindowSeconds(AUTH_DEFAULTS)).toBe(421);
    // A client whose clock is a full skew ahead: iat = now + 60 s.
    const nowSeconds = T0 / 1000;
    const iat = nowSeconds + AUTH_DEFAULTS.clockSkewSeconds;
    expect(replayExpiryMs(iat + 300, iat, AUTH_DEFAULTS) - T0).toBe(421_000);
  });

  it('sizes a share by default for 2,000 tokens/s over that window plus the burst', () => {
    expect(replayEntriesPerIssuer()).toBe(2000 * 422 + 2000);
    expect(createMemoryReplayCache().maxEntriesPerIssuer).toBe(846_000);
    expect(replayEntriesPerIssuer({ ratePerSecond: 50, burst: 100 })).toBe(50 * 422 + 100);
  });

  it('never refuses an issuer sending 2,000 tokens/s for 10 minutes, each remembered for the longest window', async () => {
    let now = T0;
    const clock = (): number => now;
    const cache = createMemoryReplayCache({ now: clock });
    const limiter = createTokenBucketLimiter({ ratePerSecond: AUTH_DEFAULTS.issuerRatePerSecond, burst: AUTH_DEFAULTS.issuerBurst, now: clock });
    const counts = { fresh: 0, refused: 0 };
    let peak = 0;
    // 2,000 requests/s for 600 s of simulated time: one every 0.5 ms.
    for (let i = 0; i < 2000 * 600; i += 1) {
      now = T0 + i / 2;
      // Worst case: the client's clock is a full skew ahead and its tokens live the full 300 s.
      const iat = Math.floor(now / 1000) + AUTH_DEFAULTS.clockSkewSeconds;
      const admitted = limiter.take('busy-iss').allowed;
      const verdict = admitted ? await cache.checkAndRemember('busy-iss', `jti-${i}`, replayExpiryMs(iat + 300, iat, AUTH_DEFAULTS)) : undefined;
      if (verdict?.status === 'fresh') counts.fresh += 1;
      else counts.refused += 1;
      if (i % 1000 === 0) peak = Math.max(peak, cache.sizeOf('busy-iss'));
    }
    expect(counts).toEqual({ fresh: 1_200_000, refused: 0 });
    // The share held as many entries as 421 s of traffic: the default size has little slack.
    expect(peak).toBeGreaterThan(2000 * 420);
    expect(peak).toBeLessThanOrEqual(cache.maxEntriesPerIssuer);
  });
});
