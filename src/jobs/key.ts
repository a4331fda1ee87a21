/**
 * Job keys and failure classes, shared by every queue implementation.
 */
import { createHash } from 'node:crypto';
import { AppError, isAppError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { AnalysisJob, JobFailure, JobOutcome, ModelRef } from './types.js';

/**
 * The key of analysing `study` with `models`: the trust domain, the study's DICOMweb roots (its
 * data source), its StudyInstanceUID and every model's id@version. The same study from another
 * domain or another PACS, or after a model upgrade, is another job. The series as the ImagingStudy
 * describes them (uid, modality, body part, instances) are part of it too: a study that gained a
 * series, or a corrected description, is looked at again (the per-model result cache still spares
 * the models whose result is known). So is the patient's birth date from the EHR: the models' age
 * rules are judged on it, so an outcome is never served to a call that brings another or none. Hashed: safe as a BullMQ job id and a Redis key, and it
 * carries no identifier in clear.
 */
export function jobKey(job: AnalysisJob, models: readonly ModelRef[]): string {
  const { study } = job;
  // A PACS trigger's job names its root instead of series: same root and UID, same job.
  const sources = job.pacsRoot === undefined ? [...new Set(study.series.map((s) => s.dicomWebRoot ?? ''))].sort() : [job.pacsRoot];
  const modelIds = models.map((m) => `${m.id}@${m.version}`).sort();
  const series = study.series.map((s) => [s.uid, s.modality ?? '', s.bodyPart ?? '', s.dicomWebRoot ?? '', [...s.instanceUids].sort()]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  const digest = createHash('sha256').update(JSON.stringify([study.domain, sources, study.studyInstanceUid, modelIds, series, job.pacsRoot === undefined ? 'fhir' : 'pacs', study.patientBirthDate ?? ''])).digest('hex');
  return `sa-${digest}`;
}

/** Failures that may go away by themselves: retried with backoff a bounded number of times. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set(['UPSTREAM_FAILED', 'INFERENCE_BUSY']);

/** Whether a run that threw `err` is worth another try. */
export function isTransient(err: unknown): boolean {
  return isAppError(err) && TRANSIENT.has(err.code);
}

/**
 * A stored failure for `err`: an AppError keeps its code and message (written for callers); any
 * other error is a bug and is stored as INTERNAL without its message.
 */
export function failureOf(err: unknown): JobFailure {
  if (isAppError(err)) return { state: 'failed', code: err.code, reason: err.message, transient: TRANSIENT.has(err.code) };
  return { state: 'failed', code: 'INTERNAL', reason: 'the analysis failed unexpectedly', transient: false };
}

/** The AppError a caller throws for a failed job, as if it had analysed the study itself. */
export function errorOf(failure: JobFailure): AppError {
  return new AppError(failure.code, failure.reason);
}

/** What the metrics call an outcome. */
export function servedState(outcome: JobOutcome): 'ready' | 'in-progress' | 'failed' {
  return outcome.state === 'done' ? 'ready' : outcome.state === 'pending' ? 'in-progress' : 'failed';
}

/** The 503 a full queue answers. */
export function queueFull(retryAfterSeconds: number): AppError {
  return new AppError('INFERENCE_BUSY', 'the analysis queue is full; retry later', { retryAfterSeconds });
}
