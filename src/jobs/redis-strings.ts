/**
 * Strings the fronts share on Redis, each with a TTL: their final answers (what one front
 * answered, every front can send again for the same request; see src/http/answers.ts) and the
 * rendered results the results endpoint serves (whichever front rendered them). A front's client
 * fails fast while Redis is down: the caller then answers the long way, or 503.
 */
import { createStoreClient } from './redis-store.js';

/** Strings under one namespace of the deployment's prefix. */
export interface RedisStrings {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  close(): void;
}

/** Structurally the http layer's AnswerStore. */
export interface RedisAnswerStore extends RedisStrings {
  fingerprint(): string;
}

/**
 * Opens a namespace of strings on its own connection.
 *
 * @param url - Redis
 * @param prefix - the deployment's key prefix
 * @param namespace - e.g. `answers`
 * @param ttlSeconds - how long a value is kept
 */
export function openRedisStrings(url: string, prefix: string, namespace: string, ttlSeconds: number): RedisStrings {
  const client = createStoreClient(url, 1000);
  client.on('error', () => undefined);
  return {
    async get(key) {
      return (await client.get(`${prefix}:${namespace}:${key}`)) ?? undefined;
    },
    async set(key, value) {
      await client.set(`${prefix}:${namespace}:${key}`, value, 'EX', ttlSeconds);
    },
    close: () => { client.disconnect(); },
  };
}

/**
 * Opens the answer store.
 *
 * @param fingerprint - the models the workers run, as one string
 */
export function openRedisAnswerStore(url: string, prefix: string, ttlSeconds: number, fingerprint: () => string): RedisAnswerStore {
  return { ...openRedisStrings(url, prefix, 'answers', ttlSeconds), fingerprint };
}
