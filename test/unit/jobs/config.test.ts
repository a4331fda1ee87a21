/**
 * The job queue's configuration: which queue, the hook budget's defaults, and bad values refused.
 */
import { ConfigError, DEFAULT_HOOK_BUDGET_MS, loadConfig } from '../../../src/config.js';

describe('job queue configuration', () => {
  it('runs the embedded queue without REDIS_URL, with a budget below CDS Hooks\' ~500 ms guidance', () => {
    const c = loadConfig({});
    expect(c.jobs).toEqual({ redis: undefined, concurrency: 2, capacity: 64, retries: 3, retryDelayMs: 500, resultTtlSeconds: 86_400, failureTtlSeconds: 30, lockMs: 30_000 });
    expect(c.hookBudgetMs).toBe(DEFAULT_HOOK_BUDGET_MS);
    expect(DEFAULT_HOOK_BUDGET_MS).toBeLessThan(500);
    expect(c.inProgressCards).toBe(true);
  });

  it('uses Redis with REDIS_URL, and then a budget below CDS Hooks\' ~500 ms guidance', () => {
    const c = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379/0', REDIS_PREFIX: 'cds-prod' });
    expect(c.jobs.redis).toEqual({ url: 'redis://127.0.0.1:6379/0', prefix: 'cds-prod' });
    expect(c.hookBudgetMs).toBe(DEFAULT_HOOK_BUDGET_MS);
  });

  it('takes an explicit budget (0 included) and turns in-progress cards off', () => {
    expect(loadConfig({ HOOK_BUDGET_MS: '0' }).hookBudgetMs).toBe(0);
    expect(loadConfig({ REDIS_URL: 'rediss://cache.example.org:6380', HOOK_BUDGET_MS: '250' }).hookBudgetMs).toBe(250);
    expect(loadConfig({ IN_PROGRESS_CARDS: 'false' }).inProgressCards).toBe(false);
  });

  it('refuses a REDIS_URL that is not redis:// or rediss://, a prefix with a colon, and a negative budget', () => {
    expect(() => loadConfig({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: 'a:b' })).toThrow(/REDIS_PREFIX/);
    expect(() => loadConfig({ HOOK_BUDGET_MS: '-1' })).toThrow(/HOOK_BUDGET_MS/);
  });
});
