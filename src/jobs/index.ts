/**
 * The jobs layer's public surface: analysis jobs keyed by (trust domain, data source,
 * StudyInstanceUID, models' id@version), run in this process or by workers over Redis, and
 * awaited within a budget.
 */
export { createInProcessJobQueue } from './in-process.js';
export type { InProcessQueueOptions } from './in-process.js';
export { createRedisJobQueue } from './redis-queue.js';
export type { RedisJobQueue, RedisQueueOptions } from './redis-queue.js';
export { startRedisWorker } from './redis-worker.js';
export type { AnalysisWorker, RedisWorkerOptions } from './redis-worker.js';
export { errorOf, jobKey } from './key.js';
export { NO_JOB_METRICS } from './types.js';
export type { AnalysisJob, JobFailure, JobMetrics, JobOutcome, JobQueue, JobTicket, ModelRef } from './types.js';
export { openRedisResultCache } from './redis-result-cache.js';
export { openRedisAnswerStore, openRedisStrings } from './redis-strings.js';
export type { RedisAnswerStore, RedisStrings } from './redis-strings.js';
