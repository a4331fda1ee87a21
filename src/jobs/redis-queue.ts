/**
 * The front's side of the shared queue: BullMQ on Redis. A job's id is its key, so any number of
 * fronts adding the same study add one job; workers (src/worker.ts) run it and store its outcome
 * under the key with a TTL, where every front reads it. The front keeps no state of its own.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';
import type { Logger } from '../logging.js';
import { jobKey, queueFull, servedState } from './key.js';
import { createStoreClient, decodeModels, decodeOutcome, modelsKey, QUEUE_NAME, resultKey, storeUnavailable, type JobData } from './redis-store.js';
import { NO_JOB_METRICS } from './types.js';
import type { JobMetrics, JobOutcome, JobQueue, ModelRef, StoredOutcome } from './types.js';

export interface RedisQueueOptions {
  readonly url: string;
  /** Prefix of every Redis key (BullMQ's and ours). */
  readonly prefix: string;
  /** Jobs waiting (not yet running) beyond which submit answers INFERENCE_BUSY. */
  readonly capacity: number;
  /** Further runs after a transient failure, and the first retry's delay (doubled each time). */
  readonly retries: number;
  readonly retryDelayMs: number;
  /** How often a waiting hook looks for the stored outcome. Default 20 ms. */
  readonly pollMs?: number | undefined;
  /** Retry-After of the 503s. Default 5 s. */
  readonly retryAfterSeconds?: number | undefined;
  readonly metrics?: JobMetrics | undefined;
  readonly log?: Logger | undefined;
}

export interface RedisJobQueue extends JobQueue {
  /** The model set the workers registered, as last read (empty: no worker alive). */
  models(): readonly ModelRef[];
}

/** BullMQ priority of background jobs (triggers, patient-view, order hooks). */
const BACKGROUND_PRIORITY = 10;

/** How long the front trusts the registered model set before reading it again. */
const MODELS_REFRESH_MS = 2000;
/** Completed and failed BullMQ records are kept this long: an add racing a finishing job stays a no-op. */
const KEEP_FINISHED_S = 60;

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

async function whenReady(client: Redis, ms: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      resolve(false);
    }, ms);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    client.once('ready', onReady);
  });
}

/** `fn`, its calls run one after another (each starts when the previous one settled). */
function oneAtATime<A extends unknown[], T>(fn: (...args: A) => Promise<T>): (...args: A) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (...args) => {
    const next = tail.then(() => fn(...args));
    tail = next.catch(() => undefined);
    return next;
  };
}

/** The stored outcome once `complete` holds for it, polled up to `budgetMs`; else pending. */
async function pollOutcome(at: { store: Redis; key: string; pollMs: number; retryAfterSeconds: number }, budgetMs: number, complete: (o: StoredOutcome) => boolean): Promise<JobOutcome> {
  const deadline = Date.now() + budgetMs;
  try {
    for (;;) {
      const stored = decodeOutcome(await at.store.get(at.key));
      if (stored !== undefined && complete(stored)) return stored;
      const left = deadline - Date.now();
      if (left <= 0) return { state: 'pending' };
      await sleep(Math.min(at.pollMs, left));
    }
  } catch (err) {
    throw storeUnavailable(err, at.retryAfterSeconds);
  }
}

/**
 * Connects to Redis (waiting a few seconds for it; a front whose Redis is down still starts and
 * answers 503 until it is back).
 */
export async function createRedisJobQueue(options: RedisQueueOptions): Promise<RedisJobQueue> {
  const metrics = options.metrics ?? NO_JOB_METRICS;
  const retryAfterSeconds = options.retryAfterSeconds ?? 5;
  const pollMs = options.pollMs ?? 20;
  const store = createStoreClient(options.url, 1000);
  store.on('error', (err: Error) => options.log?.debug({ err: err.message }, 'redis (result store) error'));
  const queue = new Queue<JobData>(QUEUE_NAME, { connection: { url: options.url, maxRetriesPerRequest: 1, enableOfflineQueue: false }, prefix: options.prefix });
  queue.on('error', (err: Error) => options.log?.debug({ err: err.message }, 'redis (queue) error'));
  if (!(await whenReady(store, 5000))) options.log?.warn({}, 'Redis is not reachable yet: hooks answer 503 JOB_STORE_UNAVAILABLE until it is');
  let models: { readonly at: number; readonly list: readonly ModelRef[] } = { at: -Infinity, list: [] };

  async function registeredModels(): Promise<readonly ModelRef[]> {
    // An empty set is never trusted from the cache: the first worker may have just registered.
    if (models.list.length > 0 && Date.now() - models.at < MODELS_REFRESH_MS) return models.list;
    models = { at: Date.now(), list: decodeModels(await store.get(modelsKey(options.prefix))) };
    return models.list;
  }
  // Kept fresh without hooks too: /readyz reads it, so a front becomes ready once a worker runs.
  const refresh = (): void => {
    registeredModels().catch(() => undefined);
  };
  refresh();
  const refresher = setInterval(refresh, MODELS_REFRESH_MS);
  refresher.unref();

  // Check-then-add is not atomic in Redis: one add at a time per front, so a flood of calls to
  // one front cannot all pass the capacity check together (the bound is passed by at most one
  // job per front).
  const add = oneAtATime(addNow);

  /** Adds the job unless it exists; a finished record whose outcome expired is replaced. */
  async function addNow(key: string, data: JobData): Promise<boolean> {
    const existing = await queue.getJob(key);
    if (existing !== undefined) {
      const state = await existing.getState();
      // A hook now waits for a job queued as background work: move it ahead.
      if (state === 'prioritized' && data.urgent === true) await existing.changePriority({ priority: 0 }).catch(() => undefined);
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return false;
      await existing.remove().catch(() => undefined);
    }
    const counts = await queue.getJobCounts('waiting', 'paused', 'delayed', 'prioritized', 'active');
    const depth = Object.values(counts).reduce((a, b) => a + b, 0);
    metrics.depth(depth);
    // Bounded by the jobs not yet running (a paused queue's included); checked, then added: with
    // several fronts the bound can be passed by at most one job per front.
    if (depth - (counts['active'] ?? 0) >= options.capacity) {
      metrics.shed();
      throw queueFull(retryAfterSeconds);
    }
    await queue.add('analyse', data, {
      jobId: key,
      // BullMQ runs jobs without a priority first: those a hook waits for; background work after.
      ...(data.urgent === true ? {} : { priority: BACKGROUND_PRIORITY }),
      attempts: options.retries + 1,
      backoff: { type: 'exponential', delay: options.retryDelayMs },
      removeOnComplete: { age: KEEP_FINISHED_S },
      removeOnFail: { age: KEEP_FINISHED_S },
    });
    metrics.depth(depth + 1);
    return true;
  }

  const poll = (key: string, budgetMs: number, complete: (o: StoredOutcome) => boolean): Promise<JobOutcome> =>
    pollOutcome({ store, key: resultKey(options.prefix, key), pollMs, retryAfterSeconds }, budgetMs, complete);

  return {
    models: () => models.list,
    async submit(job) {
      try {
        const list = await registeredModels();
        if (list.length === 0) throw new AppError('MODEL_UNAVAILABLE', 'no analysis worker is running (none has registered its models)', { retryAfterSeconds });
        const key = jobKey(job, list);
        if (decodeOutcome(await store.get(resultKey(options.prefix, key))) !== undefined) return { key, queued: false };
        return { key, queued: await add(key, { study: job.study, ...(job.pacsRoot === undefined ? {} : { pacsRoot: job.pacsRoot }), ...(job.urgent === true ? { urgent: true } : {}) }) };
      } catch (err) {
        throw storeUnavailable(err, retryAfterSeconds);
      }
    },
    async wait(key, budgetMs) {
      const outcome = await poll(key, budgetMs, () => true);
      metrics.served(servedState(outcome));
      return outcome;
    },
    waitComplete: (key, budgetMs) => poll(key, budgetMs, (o) => o.state === 'failed' || !o.analysis.results.some((r) => r.overlayPending === true)),
    async close() {
      clearInterval(refresher);
      await queue.close().catch(() => undefined);
      store.disconnect();
    },
  };
}
