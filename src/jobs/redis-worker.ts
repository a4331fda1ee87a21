/**
 * The worker's side of the shared queue: takes analysis jobs from BullMQ, runs them, stores each
 * outcome under its key with a TTL for every front to read, and keeps its model set registered
 * so fronts can key their jobs. A transient failure is retried by BullMQ with backoff; any other
 * failure is final: stored with its code and reason and never retried.
 */
import { performance } from 'node:perf_hooks';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from '../logging.js';
import type { StudyAnalysis } from '../analysis/index.js';
import { failureOf, isTransient } from './key.js';
import { createStoreClient, encodeOutcome, MODELS_TTL_SECONDS, modelsKey, QUEUE_NAME, resultKey, type JobData } from './redis-store.js';
import { NO_JOB_METRICS } from './types.js';
import type { AnalysisJob, JobMetrics, ModelRef, StoredOutcome } from './types.js';

export interface RedisWorkerOptions {
  readonly url: string;
  readonly prefix: string;
  /** Runs a job; `onFindings` stores its findings before the saliency maps are made. */
  readonly analyse: (job: AnalysisJob, onFindings: (analysis: StudyAnalysis) => Promise<void>) => Promise<StudyAnalysis>;
  readonly models: () => readonly ModelRef[];
  /** Jobs this process runs at once. */
  readonly concurrency: number;
  /**
   * How long this worker's lock on a running job lasts (renewed at half of it while the job runs):
   * when the worker dies, another takes the job over within about twice this.
   */
  readonly lockMs: number;
  /** How long a result (and a final failure) is kept. */
  readonly resultTtlSeconds: number;
  /** How long a failure that ran out of retries is kept before a submit tries again. */
  readonly transientFailureTtlSeconds: number;
  readonly metrics?: JobMetrics | undefined;
  readonly log: Logger;
}

export interface AnalysisWorker {
  /** Finishes running jobs, stops taking new ones, unregisters nothing (the registration expires). */
  close(): Promise<void>;
}

/**
 * Starts taking jobs.
 *
 * @param options - Redis, the analysis and its models, limits
 */
export async function startRedisWorker(options: RedisWorkerOptions): Promise<AnalysisWorker> {
  const metrics = options.metrics ?? NO_JOB_METRICS;
  const { log } = options;
  const store = createStoreClient(options.url, 5000, true);
  store.on('error', (err: Error) => { log.debug({ err: err.message }, 'redis (result store) error'); });
  const register = async (): Promise<void> => {
    const list = options.models().map((m) => ({ id: m.id, version: m.version }));
    await store.set(modelsKey(options.prefix), JSON.stringify(list), 'EX', MODELS_TTL_SECONDS);
  };
  const store$ = (key: string, outcome: StoredOutcome, ttl: number): Promise<unknown> => store.set(resultKey(options.prefix, key), encodeOutcome(outcome), 'EX', ttl);

  async function processJob(job: Job<JobData>): Promise<void> {
    const key = job.id ?? '';
    if (job.attemptsMade === 0) metrics.waited(Math.max(0, Date.now() - job.timestamp) / 1000);
    log.info({ job: key, run: job.attemptsMade + 1 }, 'analysis job started');
    const started = performance.now();
    try {
      // The findings are answerable as soon as they are stored; the maps follow in the same job.
      const analysis = await options.analyse(job.data, async (findings) => { await store$(key, { state: 'done', analysis: findings }, options.resultTtlSeconds); });
      await store$(key, { state: 'done', analysis }, options.resultTtlSeconds);
      metrics.ran((performance.now() - started) / 1000, 'done');
      log.info({ job: key, results: analysis.results.length, ms: Math.round(performance.now() - started) }, 'analysis job done');
    } catch (err) {
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (isTransient(err) && !last) {
        metrics.ran((performance.now() - started) / 1000, 'retry');
        log.info({ job: key, run: job.attemptsMade + 1 }, 'analysis job will be retried');
        throw err;
      }
      const failure = failureOf(err);
      await store$(key, failure, failure.transient ? options.transientFailureTtlSeconds : options.resultTtlSeconds);
      metrics.ran((performance.now() - started) / 1000, 'failed');
      if (failure.code === 'INTERNAL') log.error({ err, job: key }, 'analysis job failed');
      else log.warn({ job: key, code: failure.code, reason: failure.reason }, 'analysis job failed');
      throw new UnrecoverableError(failure.reason);
    }
  }

  await register();
  const refresh = setInterval(() => {
    register().catch((err: unknown) => { log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not refresh the model registration'); });
  }, (MODELS_TTL_SECONDS * 1000) / 3);
  const worker = new Worker<JobData>(QUEUE_NAME, processJob, {
    connection: { url: options.url, maxRetriesPerRequest: null },
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    stalledInterval: options.lockMs,
  });
  worker.on('error', (err: Error) => { log.warn({ err: err.message }, 'worker: redis error'); });
  await worker.waitUntilReady();
  return {
    async close() {
      clearInterval(refresh);
      await worker.close();
      store.disconnect();
    },
  };
}
