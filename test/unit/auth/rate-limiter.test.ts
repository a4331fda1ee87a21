import { createTokenBucketLimiter } from '../../../src/auth/rate-limiter.js';

const T0 = Date.UTC(2025, 5, 2, 9, 30, 0);

function limiterAt(ratePerSecond: number, burst: number) {
  let now = T0;
  const limiter = createTokenBucketLimiter({ ratePerSecond, burst, now: () => now });
  return {
    limiter,
    advance: (ms: number): void => {
      now += ms;
    },
  };
}

function takeMany(limiter: ReturnType<typeof createTokenBucketLimiter>, key: string, n: number): number {
  let allowed = 0;
  for (let i = 0; i < n; i += 1) if (limiter.take(key).allowed) allowed += 1;
  return allowed;
}

describe('createTokenBucketLimiter', () => {
  it('lets a burst through at once, then refuses with the time until a token is back', () => {
    const { limiter } = limiterAt(10, 5);
    expect(takeMany(limiter, 'iss', 5)).toBe(5);
    expect(limiter.take('iss')).toEqual({ allowed: false, retryAfterSeconds: 0.1 });
  });

  it('refills at the configured rate and never above the burst', () => {
    const { limiter, advance } = limiterAt(10, 5);
    takeMany(limiter, 'iss', 5);
    advance(300);
    expect(takeMany(limiter, 'iss', 10)).toBe(3);
    advance(60_000);
    expect(takeMany(limiter, 'iss', 10)).toBe(5);
  });

  it('holds a sustained rate equal to the limit indefinitely', () => {
    const { limiter, advance } = limiterAt(100, 1);
    let refused = 0;
    for (let i = 0; i < 10_000; i += 1) {
      if (!limiter.take('iss').allowed) refused += 1;
      advance(10);
    }
    expect(refused).toBe(0);
  });

  it('keeps keys apart: one key over its limit does not slow another', () => {
    const { limiter } = limiterAt(1, 2);
    expect(takeMany(limiter, 'flooding-iss', 100)).toBe(2);
    expect(takeMany(limiter, 'quiet-iss', 2)).toBe(2);
  });

  it('throws RATE_LIMITED with Retry-After seconds from consume', () => {
    const { limiter } = limiterAt(0.5, 1);
    limiter.consume('iss', 'issuer');
    let error: unknown;
    try {
      limiter.consume('iss', 'issuer');
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ name: 'AppError', code: 'RATE_LIMITED', status: 429, retryAfterSeconds: 2 });
  });

  it('takes a refunded token back, up to the burst', () => {
    const { limiter } = limiterAt(1, 2);
    takeMany(limiter, 'iss', 2);
    limiter.refund('iss');
    limiter.refund('iss');
    limiter.refund('iss');
    expect(takeMany(limiter, 'iss', 5)).toBe(2);
  });

  it('forgets the buckets of keys that have been idle long enough to refill', () => {
    const { limiter, advance } = limiterAt(10, 10);
    for (let i = 0; i < 100; i += 1) limiter.take(`key-${i}`);
    expect(limiter.size).toBe(100);
    advance(1001);
    limiter.take('key-0');
    expect(limiter.size).toBe(1);
  });

  it('refuses a rate or burst that cannot work', () => {
    expect(() => createTokenBucketLimiter({ ratePerSecond: 0, burst: 1 })).toThrow(TypeError);
    expect(() => createTokenBucketLimiter({ ratePerSecond: Number.NaN, burst: 1 })).toThrow(TypeError);
    expect(() => createTokenBucketLimiter({ ratePerSecond: 1, burst: 0.5 })).toThrow(TypeError);
    expect(() => createTokenBucketLimiter({ ratePerSecond: Number.POSITIVE_INFINITY, burst: 1 })).toThrow(TypeError);
  });
});
