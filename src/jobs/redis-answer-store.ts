/**
 * The fronts' final answers on Redis: what one front answered, every front can send again for
 * the same request (see src/http/answers.ts for what "the same" means). Each lives as long as a
 * job's result; a front's client fails fast while Redis is down (the call is then answered the
 * long way, which says 503 itself).
 */
import { createStoreClient } from './redis-store.js';

/** Structurally the http layer's AnswerStore. */
export interface RedisAnswerStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, body: string): Promise<void>;
  fingerprint(): string;
  close(): void;
}

/**
 * Opens the store on its own connection.
 *
 * @param url - Redis
 * @param prefix - the deployment's key prefix
 * @param ttlSeconds - how long an answer is kept
 * @param fingerprint - the models the workers run, as one string
 */
export function openRedisAnswerStore(url: string, prefix: string, ttlSeconds: number, fingerprint: () => string): RedisAnswerStore {
  const client = createStoreClient(url, 1000);
  client.on('error', () => undefined);
  return {
    async get(key) {
      return (await client.get(`${prefix}:${key}`)) ?? undefined;
    },
    async set(key, body) {
      await client.set(`${prefix}:${key}`, body, 'EX', ttlSeconds);
    },
    fingerprint,
    close: () => { client.disconnect(); },
  };
}
