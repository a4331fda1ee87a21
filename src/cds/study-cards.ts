/**
 * Turns analyses into cards. Shared by every service: the result hook shows all results,
 * patient-view and the order hooks show only what a physician should act on.
 */
import type { FhirResource, ImagingStudy } from 'fhir/r4.js';
import { isAppError } from '../errors.js';
import type { ModelStudyResult, StudyAnalysis } from '../analysis/index.js';
import { renderResult } from '../reports/index.js';
import type { RenderedResult } from '../reports/index.js';
import type { CdsCard } from '../cds-hooks/index.js';
import type { HandlerContext } from './service.js';
import type { ServiceDeps } from './services/deps.js';
import { studyToAnalyse } from './study-input.js';

export interface StudyRefs {
  readonly patientId: string;
  readonly serviceRequestId: string | undefined;
}

/** True when a result has a finding above threshold or in the review band. */
export function isActionable(result: ModelStudyResult): boolean {
  return result.findings.some((f) => f.interpretation === 'positive' || f.needsReview);
}

/**
 * Renders one model's result: the card (with the "Save preliminary AI report" suggestion) and
 * the FHIR resources it offers to save.
 *
 * @param deps - templates and viewer link
 * @param study - the ImagingStudy the result belongs to
 * @param result - one model's result
 * @param refs - patient and order the result belongs to
 */
export function renderStudyResult(deps: ServiceDeps, study: ImagingStudy, result: ModelStudyResult, refs: StudyRefs): RenderedResult {
  return renderResult(deps.templates, {
    subject: {
      patientReference: `Patient/${refs.patientId}`,
      imagingStudyReference: `ImagingStudy/${study.id ?? ''}`,
      serviceRequestReference: refs.serviceRequestId === undefined ? undefined : `ServiceRequest/${refs.serviceRequestId}`,
      studyInstanceUid: result.studyInstanceUid,
      studyDescription: study.description,
      studyDate: study.started,
    },
    series: result.series,
    model: result.model,
    findings: result.findings,
    measurements: result.measurements,
    overlay: result.overlay,
    issued: result.analysedAt,
    viewerUrl: deps.viewerUrl,
    smartViewer: deps.smartViewer,
  });
}

/**
 * Renders the full result card only.
 *
 * @param deps - templates and viewer link
 * @param study - the ImagingStudy the result belongs to
 * @param result - one model's result
 * @param refs - patient and order the result belongs to
 */
export function resultCard(deps: ServiceDeps, study: ImagingStudy, result: ModelStudyResult, refs: StudyRefs): CdsCard {
  return renderStudyResult(deps, study, result, refs).card;
}

/**
 * Analyses one study, turning data errors into a log line instead of failing the whole call:
 * for patient-view and order hooks one bad prior study must not hide the others.
 *
 * @returns the analysis, or undefined when the study could not be analysed
 */
export async function analyseQuietly(deps: ServiceDeps, study: ImagingStudy, known: readonly FhirResource[], ctx: HandlerContext): Promise<StudyAnalysis | undefined> {
  const { data, log, domain } = ctx;
  try {
    return await deps.analyse(await studyToAnalyse(domain, study, known, data, deps.defaultDicomWebRoot));
  } catch (err) {
    // Data problems with one study, and a model that is not loaded or busy, must not hide the
    // other cards; anything else is a bug and fails the call.
    if (!isAppError(err) || (err.status >= 500 && err.code !== 'MODEL_UNAVAILABLE' && err.code !== 'INFERENCE_BUSY')) throw err;
    log.warn({ code: err.code, reason: err.message, imagingStudy: study.id }, 'prior study not analysed');
    return undefined;
  }
}
