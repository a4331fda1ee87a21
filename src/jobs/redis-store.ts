/**
 * What fronts and workers share in Redis besides BullMQ's own keys: one stored outcome per job
 * key (a string with a TTL), and the model set the workers run (refreshed while they live).
 */
import { Redis } from 'ioredis';
import { AppError } from '../errors.js';
import type { AnalysisJob, ModelRef, StoredOutcome } from './types.js';

/** The BullMQ queue every front adds to and every worker takes from. */
export const QUEUE_NAME = 'analysis';

export const resultKey = (prefix: string, key: string): string => `${prefix}:result:${key}`;
export const modelsKey = (prefix: string): string => `${prefix}:models`;

/** How long a worker's model registration lives unless refreshed (it refreshes every third of it). */
export const MODELS_TTL_SECONDS = 30;

/** The job's payload in BullMQ. */
export type JobData = AnalysisJob;

export function encodeOutcome(outcome: StoredOutcome): string {
  return JSON.stringify(outcome);
}

/** Parses a stored outcome; anything else (a foreign or corrupt value) reads as absent. */
export function decodeOutcome(text: string | null): StoredOutcome | undefined {
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as Partial<StoredOutcome> | null;
    if (value?.state === 'done' && typeof value.analysis === 'object') return value as StoredOutcome;
    if (value?.state === 'failed' && typeof value.code === 'string' && typeof value.reason === 'string') return value as StoredOutcome;
  } catch {
    // fall through
  }
  return undefined;
}

export function decodeModels(text: string | null): ModelRef[] {
  if (text === null) return [];
  try {
    const value = JSON.parse(text) as unknown;
    if (!Array.isArray(value)) return [];
    return value.filter((m): m is ModelRef => typeof (m as ModelRef | null)?.id === 'string' && typeof (m as ModelRef).version === 'string');
  } catch {
    return [];
  }
}

/**
 * A client for the stored outcomes. A front's (`patient`: false) fails a command within
 * `commandTimeoutMs` and queues nothing while disconnected, so a hook never hangs on a Redis that
 * is down; a worker's waits for Redis to come back. ioredis reconnects by itself.
 */
export function createStoreClient(url: string, commandTimeoutMs: number, patient = false): Redis {
  return patient
    ? new Redis(url, { maxRetriesPerRequest: null, enableOfflineQueue: true })
    : new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: commandTimeoutMs, enableOfflineQueue: false });
}

/** The 503 a front answers when Redis cannot be reached. */
export function storeUnavailable(cause: unknown, retryAfterSeconds: number): AppError {
  if (cause instanceof AppError) return cause;
  return new AppError('JOB_STORE_UNAVAILABLE', 'the analysis queue cannot be reached; retry later', { cause, retryAfterSeconds });
}
