/**
 * The per-model result cache on Redis, shared by every worker: a study one worker analysed is
 * not analysed again by another, whichever trigger or hook submitted its job. Keyed like the
 * in-memory cache (trust domain, data sources, StudyInstanceUID, model id and version), hashed so
 * that no identifier is stored in clear in a key; each entry lives `ttlSeconds`.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { resultCacheKey, type ModelStudyResult, type ResultCache } from '../analysis/index.js';
import { createStoreClient } from './redis-store.js';

/** Deletes the claim only when it is still the caller's (it may have lapsed and been taken). */
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

const keyOf = (prefix: string, plain: string): string => `${prefix}:model-result:${createHash('sha256').update(plain).digest('hex')}`;

/** Parses a stored result; a foreign or corrupt value reads as absent (the model runs again). */
function decode(text: string | null): ModelStudyResult | undefined {
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as Partial<ModelStudyResult> | null;
    return typeof value?.studyInstanceUid === 'string' && typeof value.model === 'object' && Array.isArray(value.findings) ? (value as ModelStudyResult) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creates the shared cache over a connected client.
 *
 * @param client - a worker's store client (it waits for Redis to come back rather than fail)
 * @param prefix - the deployment's key prefix
 * @param ttlSeconds - how long a result is kept
 */
export function createRedisResultCache(client: Redis, prefix: string, ttlSeconds: number): ResultCache {
  // One token per process: a claim is released only by the process that holds it.
  const token = randomUUID();
  const claimKey = (study: Parameters<ResultCache['claim']>[0], modelId: string, version: string): string => `${keyOf(prefix, resultCacheKey(study, modelId, version))}:claim`;
  return {
    async claim(study, modelId, version, ttlMs) {
      return (await client.set(claimKey(study, modelId, version), token, 'PX', ttlMs, 'NX')) === 'OK';
    },
    async claimed(study, modelId, version) {
      return (await client.exists(claimKey(study, modelId, version))) === 1;
    },
    async release(study, modelId, version) {
      await client.eval(RELEASE, 1, claimKey(study, modelId, version), token);
    },
    async get(study, modelId, modelVersion) {
      return decode(await client.get(keyOf(prefix, resultCacheKey(study, modelId, modelVersion))));
    },
    async set(study, result) {
      await client.set(keyOf(prefix, resultCacheKey(study, result.model.id, result.model.version)), JSON.stringify(result), 'EX', ttlSeconds);
    },
  };
}

/**
 * Opens the shared cache on its own connection (a worker's: it waits for Redis rather than fail).
 *
 * @returns the cache, and a close that drops the connection
 */
export function openRedisResultCache(url: string, prefix: string, ttlSeconds: number): { cache: ResultCache; close(): void } {
  const client = createStoreClient(url, 5000, true);
  // ioredis reconnects by itself; a command waits for it (the job's run is what times out).
  client.on('error', () => undefined);
  return { cache: createRedisResultCache(client, prefix, ttlSeconds), close: () => { client.disconnect(); } };
}
