/**
 * The PACS trigger: a study became stable in the PACS (Orthanc's OnStableStudy, see
 * deploy/orthanc/imaging-cds-trigger.lua) and is analysed before any hook asks. The front knows
 * only the StudyInstanceUID: the job names the PACS's DICOMweb root, and the worker lists the
 * study's series there (QIDO-RS) before analysing it. A later hook for the matching ImagingStudy
 * finds every model's result in the result cache (same trust domain, DICOMweb root, UID, model).
 */
import { AppError } from '../errors.js';
import type { StudyToAnalyse } from '../analysis/index.js';
import type { AnalysisJob } from '../jobs/index.js';
import type { PacsSeries } from '../dicom/index.js';

/** A DICOM UID (PS3.5 §9): digits and dots, at most 64 characters, no leading zero in a component. */
const UID = /^(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*$/;

/** Where a PACS trigger's results belong and where its studies are read. */
export interface PacsTriggerSource {
  /** The trust domain whose hooks will be answered from these results. */
  readonly domain: string;
  /** The PACS's DICOMweb root (allow-listed), exactly as its ImagingStudy Endpoints name it. */
  readonly dicomWebRoot: string;
}

/**
 * The job for a stable study.
 *
 * @param source - the trigger's trust domain and DICOMweb root
 * @param body - the parsed JSON body, `{ "StudyInstanceUID": "1.2.3" }`
 * @throws AppError TRIGGER_BAD_REQUEST (400) for anything else
 */
export function pacsStudyJob(source: PacsTriggerSource, body: unknown): AnalysisJob {
  const uid = (body as { StudyInstanceUID?: unknown } | null)?.StudyInstanceUID;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError('TRIGGER_BAD_REQUEST', 'the body must be a JSON object { "StudyInstanceUID": "…" }');
  if (typeof uid !== 'string' || uid.length > 64 || !UID.test(uid)) throw new AppError('TRIGGER_BAD_REQUEST', 'StudyInstanceUID must be a DICOM UID (digits and dots, at most 64 characters)', { expression: 'StudyInstanceUID' });
  return { study: { domain: source.domain, studyInstanceUid: uid, series: [] }, pacsRoot: source.dicomWebRoot };
}

/**
 * The study of a PACS trigger's job, its series as the PACS lists them; a job from a hook or a
 * notification already describes its series and is returned as it is.
 *
 * @param job - the job
 * @param listSeries - QIDO-RS series of a study
 * @throws AppError DATA_UNAVAILABLE when the PACS lists no series for the study
 */
export async function studyOfJob(job: AnalysisJob, listSeries: (root: string, studyUid: string) => Promise<PacsSeries[]>): Promise<StudyToAnalyse> {
  if (job.pacsRoot === undefined) return job.study;
  const root = job.pacsRoot;
  const found = await listSeries(root, job.study.studyInstanceUid);
  if (found.length === 0) throw new AppError('DATA_UNAVAILABLE', 'the PACS lists no series for the triggered study');
  const series: StudyToAnalyse['series'] = found.map((s) => ({ uid: s.uid, modality: s.modality, bodyPart: s.bodyPart, description: s.description, instanceUids: [], dicomWebRoot: root }));
  return { ...job.study, series };
}
