import { createMemoryReplayCache } from '../../../src/auth/replay-cache.js';

const T0 = Date.UTC(2025, 5, 2, 9, 30, 0);

function cacheAt(start: number, maxEntries?: number) {
  let now = start;
  const cache = createMemoryReplayCache({ now: () => now, ...(maxEntries === undefined ? {} : { maxEntries }) });
  return {
    cache,
    setNow: (value: number): void => {
      now = value;
    },
  };
}

describe('createMemoryReplayCache', () => {
  it('reports a pair as fresh once, then as replayed until it expires', async () => {
    const { cache, setNow } = cacheAt(T0);
    await expect(cache.checkAndRemember('iss-a', 'jti-1', T0 + 1000)).resolves.toBe('fresh');
    await expect(cache.checkAndRemember('iss-a', 'jti-1', T0 + 1000)).resolves.toBe('replayed');
    setNow(T0 + 999);
    await expect(cache.checkAndRemember('iss-a', 'jti-1', T0 + 1000)).resolves.toBe('replayed');
    setNow(T0 + 1000);
    await expect(cache.checkAndRemember('iss-a', 'jti-1', T0 + 5000)).resolves.toBe('fresh');
  });

  it('keeps the same jti from different issuers apart', async () => {
    const { cache } = cacheAt(T0);
    await expect(cache.checkAndRemember('iss-a', 'jti-1', T0 + 1000)).resolves.toBe('fresh');
    await expect(cache.checkAndRemember('iss-b', 'jti-1', T0 + 1000)).resolves.toBe('fresh');
  });

  it('does not confuse pairs whose concatenations are equal', async () => {
    const { cache } = cacheAt(T0);
    await expect(cache.checkAndRemember('a|b', 'c', T0 + 1000)).resolves.toBe('fresh');
    await expect(cache.checkAndRemember('a', 'b|c', T0 + 1000)).resolves.toBe('fresh');
    await expect(cache.checkAndRemember('a","b', 'c', T0 + 1000)).resolves.toBe('fresh');
  });

  it('answers full rather than forget an unexpired entry', async () => {
    const { cache } = cacheAt(T0, 2);
    await cache.checkAndRemember('iss', 'jti-1', T0 + 1000);
    await cache.checkAndRemember('iss', 'jti-2', T0 + 1000);
    await expect(cache.checkAndRemember('iss', 'jti-3', T0 + 1000)).resolves.toBe('full');
    // The held entries still count as seen.
    await expect(cache.checkAndRemember('iss', 'jti-1', T0 + 1000)).resolves.toBe('replayed');
    expect(cache.size).toBe(2);
  });

  it('drops expired entries to make room when full', async () => {
    const { cache, setNow } = cacheAt(T0, 2);
    await cache.checkAndRemember('iss', 'short', T0 + 100);
    await cache.checkAndRemember('iss', 'long', T0 + 10_000);
    setNow(T0 + 100);
    await expect(cache.checkAndRemember('iss', 'new', T0 + 10_000)).resolves.toBe('fresh');
    await expect(cache.checkAndRemember('iss', 'long', T0 + 10_000)).resolves.toBe('replayed');
    expect(cache.size).toBe(2);
  });

  it('makes room again once the earliest entry expires after a sweep found none expired', async () => {
    const { cache, setNow } = cacheAt(T0, 1);
    await cache.checkAndRemember('iss', 'a', T0 + 500);
    await expect(cache.checkAndRemember('iss', 'b', T0 + 500)).resolves.toBe('full');
    setNow(T0 + 500);
    await expect(cache.checkAndRemember('iss', 'b', T0 + 900)).resolves.toBe('fresh');
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => createMemoryReplayCache({ maxEntries: 0 })).toThrow(TypeError);
    expect(() => createMemoryReplayCache({ maxEntries: 1.5 })).toThrow(TypeError);
  });
});
