/**
 * The jobs layer's vocabulary: an analysis job, its key, what waiting for it yields, and the
 * queue interface every implementation (in-process, BullMQ on Redis) offers.
 */
import type { ErrorCode } from '../errors.js';
import type { StudyAnalysis, StudyToAnalyse } from '../analysis/index.js';

/** A loaded model as it enters a job key. */
export interface ModelRef {
  readonly id: string;
  readonly version: string;
}

/**
 * One study to analyse with every loaded model. A hook or a FHIR notification describes the
 * study from its ImagingStudy; a PACS trigger knows only the StudyInstanceUID and the DICOMweb
 * root it came from: its `study.series` is empty and `pacsRoot` says where the worker reads them.
 */
export interface AnalysisJob {
  readonly study: StudyToAnalyse;
  /** DICOMweb root to list the study's series from (QIDO-RS), when `study.series` is empty. */
  readonly pacsRoot?: string | undefined;
  /**
   * A hook waits for it: it runs before background work (triggers, patient-view), and a queued
   * job with its key is moved ahead. Not part of the key.
   */
  readonly urgent?: boolean | undefined;
}

/** A job that failed for good (or ran out of retries): its stable error code and the reason. */
export interface JobFailure {
  readonly state: 'failed';
  readonly code: ErrorCode;
  readonly reason: string;
  /** True when the cause may go away (PACS down): a later submit tries again once this expires. */
  readonly transient: boolean;
}

/** What waiting for a job yields. `pending`: queued or running, not finished within the budget. */
export type JobOutcome = { readonly state: 'done'; readonly analysis: StudyAnalysis } | JobFailure | { readonly state: 'pending' };

/** A finished job, as stored. */
export type StoredOutcome = Exclude<JobOutcome, { readonly state: 'pending' }>;

export interface JobTicket {
  /** The job key: (trust domain, DICOMweb roots, StudyInstanceUID, loaded models' id@version), hashed. */
  readonly key: string;
  /** True when this call queued the job; false when it was already queued, running or finished. */
  readonly queued: boolean;
}

export interface JobQueue {
  /**
   * Queues the analysis of a study unless the same job (same key) is already queued, running or
   * finished: any number of callers never analyse the same thing twice.
   *
   * @throws AppError INFERENCE_BUSY (503, Retry-After) when the queue is full;
   *   MODEL_UNAVAILABLE (503) when no model is loaded (no worker registered its models)
   */
  submit(job: AnalysisJob): Promise<JobTicket>;
  /**
   * Waits up to `budgetMs` for a job; 0 only looks. An unknown key reads as pending.
   */
  wait(key: string, budgetMs: number): Promise<JobOutcome>;
  /**
   * Waits up to `budgetMs` for a job to finish, saliency maps included (`wait` answers as soon as
   * the findings are stored); pending when it has not.
   */
  waitComplete(key: string, budgetMs: number): Promise<JobOutcome>;
  /** Stops taking work; lets running jobs finish (in-process) or closes connections (Redis). */
  close(): Promise<void>;
}

/** What the jobs layer reports; wiring backs it with Prometheus metrics. */
export interface JobMetrics {
  /** Jobs accepted and not finished (queued, running, waiting to retry). */
  depth(n: number): void;
  /** Seconds from submit to the start of the job's first run. */
  waited(seconds: number): void;
  /** Seconds one run took, and how it ended. */
  ran(seconds: number, outcome: 'done' | 'failed' | 'retry'): void;
  /** What a wait answered: the result ready, still in progress, or failed. */
  served(state: 'ready' | 'in-progress' | 'failed'): void;
  /** A submit refused because the queue was full. */
  shed(): void;
}

/** Metrics that go nowhere (tests, tools). */
export const NO_JOB_METRICS: JobMetrics = {
  depth: () => undefined,
  waited: () => undefined,
  ran: () => undefined,
  served: () => undefined,
  shed: () => undefined,
};
