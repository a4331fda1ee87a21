/**
 * The embedded job queue: analyses run in this process, a few at a time, and finished outcomes
 * are kept in a bounded LRU. `npm start` needs nothing else. Transient failures (PACS down,
 * inference queue full) are retried with exponential backoff a bounded number of times; any
 * other failure is final and stored, so an undecodable image is not retried by every hook.
 */
import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';
import { AppError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { StudyAnalysis } from '../analysis/index.js';
import { failureOf, isTransient, jobKey, queueFull, servedState } from './key.js';
import { NO_JOB_METRICS } from './types.js';
import type { AnalysisJob, JobMetrics, JobOutcome, JobQueue, JobTicket, ModelRef, StoredOutcome } from './types.js';

export interface InProcessQueueOptions {
  /** The analysis use case (analyseStudy with its image source, models and cache). */
  /** Runs a job; `onFindings` stores its findings before the saliency maps are made. */
  readonly analyse: (job: AnalysisJob, onFindings: (analysis: StudyAnalysis) => Promise<void>) => Promise<StudyAnalysis>;
  /** The loaded models (part of every job key). */
  readonly models: () => readonly ModelRef[];
  /** Analyses running at once. Default 2. */
  readonly concurrency?: number | undefined;
  /** Jobs accepted and not finished; beyond it submit answers INFERENCE_BUSY. Default 64. */
  readonly capacity?: number | undefined;
  /** Finished outcomes kept (LRU). Default 1000. */
  readonly resultsSize?: number | undefined;
  /** Further runs after a transient failure. Default 3. */
  readonly retries?: number | undefined;
  /** Delay before the first retry, doubled for each further one. Default 500 ms. */
  readonly retryDelayMs?: number | undefined;
  /** How long a failure that ran out of retries is remembered before a submit tries again. Default 30 s. */
  readonly transientFailureTtlMs?: number | undefined;
  /** Retry-After of the 503 a full queue answers. Default 5 s. */
  readonly retryAfterSeconds?: number | undefined;
  readonly metrics?: JobMetrics | undefined;
  readonly log?: Logger | undefined;
}

interface Entry {
  readonly job: AnalysisJob;
  readonly submittedAt: number;
  runs: number;
  /** Settles when the job finished (or the queue closed). */
  readonly settled: Promise<void>;
  readonly settle: () => void;
  /** Settles when the findings are stored (before the maps), the job finished, or the queue closed. */
  readonly found: Promise<void>;
  readonly foundFindings: () => void;
}

/** A promise and the function that resolves it. */
function signal(): [Promise<void>, () => void] {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return [promise, resolve];
}

/** Resolves after `ms`, or when `promise` settles, whichever comes first. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The queue's state and steps; {@link createInProcessJobQueue} hands out its JobQueue face. */
class InProcessQueue implements JobQueue {
  private readonly concurrency: number;
  private readonly capacity: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly transientTtl: number;
  private readonly retryAfterSeconds: number;
  private readonly metrics: JobMetrics;
  private readonly results: LRUCache<string, StoredOutcome>;
  /** Accepted, unfinished jobs by key. */
  private readonly jobs = new Map<string, Entry>();
  /** Keys waiting for a free slot, in order. */
  private readonly ready: string[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private closed = false;
  /** How many keys at the head of `ready` are urgent. */
  private urgentCount = 0;

  constructor(private readonly options: InProcessQueueOptions) {
    this.concurrency = options.concurrency ?? 2;
    this.capacity = options.capacity ?? 64;
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.transientTtl = options.transientFailureTtlMs ?? 30_000;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 5;
    this.metrics = options.metrics ?? NO_JOB_METRICS;
    this.results = new LRUCache<string, StoredOutcome>({ max: options.resultsSize ?? 1000 });
  }

  submit(job: AnalysisJob): Promise<JobTicket> {
    if (this.closed) return Promise.reject(new AppError('MODEL_UNAVAILABLE', 'the service is shutting down', { retryAfterSeconds: this.retryAfterSeconds }));
    const models = this.options.models();
    // No model loaded is not "no finding": say so rather than answer with no cards.
    if (models.length === 0) return Promise.reject(new AppError('MODEL_UNAVAILABLE', 'no AI model is loaded (see /readyz)'));
    const key = jobKey(job, models);
    if (this.results.get(key) !== undefined || this.jobs.has(key)) {
      if (job.urgent === true) this.promote(key);
      return Promise.resolve({ key, queued: false });
    }
    if (this.jobs.size >= this.capacity) {
      this.metrics.shed();
      return Promise.reject(queueFull(this.retryAfterSeconds));
    }
    const [settled, settle] = signal();
    const [found, foundFindings] = signal();
    this.jobs.set(key, { job, submittedAt: performance.now(), runs: 0, settled, settle, found, foundFindings });
    this.metrics.depth(this.jobs.size);
    // A hook waits for an urgent job: ahead of background work, behind earlier urgent jobs.
    if (job.urgent === true) this.ready.splice(this.urgentCount++, 0, key);
    else this.ready.push(key);
    this.pump();
    return Promise.resolve({ key, queued: true });
  }

  async wait(key: string, budgetMs: number): Promise<JobOutcome> {
    const entry = this.jobs.get(key);
    if (entry !== undefined && budgetMs > 0) await within(entry.found, budgetMs);
    const outcome: JobOutcome = this.results.get(key) ?? { state: 'pending' };
    this.metrics.served(servedState(outcome));
    return outcome;
  }

  async waitComplete(key: string, budgetMs: number): Promise<JobOutcome> {
    const entry = this.jobs.get(key);
    if (entry !== undefined && budgetMs > 0) await within(entry.settled, budgetMs);
    if (this.jobs.has(key)) return { state: 'pending' };
    return this.results.get(key) ?? { state: 'pending' };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
    // Whoever still waits hears "pending" now rather than at the end of its budget.
    for (const entry of this.jobs.values()) {
      entry.settle();
      entry.foundFindings();
    }
  }

  /** Moves a queued (not yet running) job ahead of background work. */
  private promote(key: string): void {
    const at = this.ready.indexOf(key);
    if (at < this.urgentCount) return;
    this.ready.splice(at, 1);
    this.ready.splice(this.urgentCount++, 0, key);
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.concurrency && this.ready.length > 0) {
      const key = this.ready.shift() ?? '';
      this.urgentCount = Math.max(0, this.urgentCount - 1);
      const entry = this.jobs.get(key);
      if (entry === undefined) continue;
      const run: Promise<void> = this.run(key, entry).finally(() => {
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async run(key: string, entry: Entry): Promise<void> {
    if (entry.runs === 0) this.metrics.waited((performance.now() - entry.submittedAt) / 1000);
    entry.runs += 1;
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    try {
      const analysis = await this.options.analyse(entry.job, (findings) => {
        // Answerable now; the maps follow and replace this outcome when the job finishes.
        this.results.set(key, { state: 'done', analysis: findings });
        entry.foundFindings();
        return Promise.resolve();
      });
      this.metrics.ran(seconds(), 'done');
      this.finish(key, entry, { state: 'done', analysis });
    } catch (err) {
      if (isTransient(err) && entry.runs <= this.retries && !this.closed) {
        this.metrics.ran(seconds(), 'retry');
        this.options.log?.info({ job: key, run: entry.runs, code: (err as AppError).code }, 'analysis job will be retried');
        this.retryLater(key, entry);
        return;
      }
      this.metrics.ran(seconds(), 'failed');
      const failure = failureOf(err);
      if (failure.code === 'INTERNAL') this.options.log?.error({ err, job: key }, 'analysis job failed');
      else this.options.log?.warn({ job: key, code: failure.code, reason: failure.reason, runs: entry.runs }, 'analysis job failed');
      this.finish(key, entry, failure);
    }
  }

  private retryLater(key: string, entry: Entry): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.ready.push(key);
      this.pump();
    }, this.retryDelayMs * 2 ** (entry.runs - 1));
    this.timers.add(timer);
  }

  private finish(key: string, entry: Entry, outcome: StoredOutcome): void {
    // A failure that may go away is remembered briefly; a result or a final failure until evicted.
    this.results.set(key, outcome, outcome.state === 'failed' && outcome.transient ? { ttl: this.transientTtl } : undefined);
    this.jobs.delete(key);
    this.metrics.depth(this.jobs.size);
    entry.settle();
    entry.foundFindings();
  }
}

/**
 * Creates the in-process queue.
 *
 * @param options - the analysis, the models, and the limits
 */
export function createInProcessJobQueue(options: InProcessQueueOptions): JobQueue {
  return new InProcessQueue(options);
}
