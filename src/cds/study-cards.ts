/**
 * Turns analyses into cards. Shared by every service: the result hook shows all results,
 * patient-view and the order hooks show only what a physician should act on.
 */
import type { FhirResource, ImagingStudy } from 'fhir/r4.js';
import { isAppError } from '../errors.js';
import type { ModelStudyResult, StudyAnalysis } from '../analysis/index.js';
import type { JobOutcome } from '../jobs/index.js';
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

/**
 * True when a result has a finding above threshold or in the review band, or the image is unlike
 * those the model was validated on (a physician must review it whatever the finding says), or a
 * cine series' LV ejection fraction falls in the reduced band (its card is a warning too).
 */
export function isActionable(result: ModelStudyResult): boolean {
  return result.findings.some((f) => f.interpretation === 'positive' || f.needsReview || f.unfamiliar?.flagged === true) || result.cardiac?.lvEfBand === 'reduced';
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
    cardiac: result.cardiac,
    pacsObjects: result.pacsObjects,
    overlay: result.overlay,
    overlayStatus: result.overlayPending === true ? { pending: true } : result.overlayUnavailable === undefined ? undefined : { pending: false, unavailable: result.overlayUnavailable },
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
 * Submits the analysis of one study (a no-op when the same job is queued, running or finished)
 * and waits for it up to `budgetMs`.
 *
 * @returns done (the analysis), failed (its error code and reason) or pending (still running), and
 *   whether this call queued the job (false: it was queued, running or finished already)
 * @throws AppError - the study's data cannot be read, or the queue refuses the job (full: 503)
 */
export async function analysisWithin(deps: ServiceDeps, study: ImagingStudy, known: readonly FhirResource[], ctx: HandlerContext, budgetMs: number): Promise<{ outcome: JobOutcome; queued: boolean; key: string }> {
  const { data, domain } = ctx;
  // A call that waits for its job has it run before background work (triggers, other hooks' priors).
  const ticket = await deps.jobs.submit({ study: await studyToAnalyse(domain, study, known, data, deps.defaultDicomWebRoot), urgent: budgetMs > 0 });
  const outcome = await deps.jobs.wait(ticket.key, budgetMs);
  if (outcome.state === 'done') logOutsideUse(ctx.log, outcome.analysis, deps.onOutsideUse);
  return { outcome, queued: ticket.queued, key: ticket.key };
}

/**
 * One line per model that this answer leaves out because the study is outside its validated use:
 * the model and the rule's stable code only (no age, birth date or patient id).
 */
export function logOutsideUse(log: HandlerContext['log'], analysis: StudyAnalysis, count?: ServiceDeps['onOutsideUse']): void {
  const seen = new Set<string>();
  for (const s of analysis.skipped) {
    if (s.outsideUse === undefined || s.modelId === undefined || seen.has(`${s.modelId}|${s.outsideUse.code}`)) continue;
    seen.add(`${s.modelId}|${s.outsideUse.code}`);
    log.info({ model: s.modelId, reasonCode: s.outsideUse.code }, 'model not applied: outside its validated use');
    count?.(s.modelId, s.outsideUse.code);
  }
}

/**
 * The analysis of one study if it is ready, without waiting: the job is submitted so that a
 * later call finds it. Data errors, a failed job, a full queue and work still running become a
 * log line instead of failing the call: for patient-view and order hooks one study must not hide
 * the others.
 *
 * @returns the analysis, or undefined when it is not (yet) available
 */
export async function readyAnalysis(deps: ServiceDeps, study: ImagingStudy, known: readonly FhirResource[], ctx: HandlerContext): Promise<StudyAnalysis | undefined> {
  const { log } = ctx;
  try {
    const { outcome } = await analysisWithin(deps, study, known, ctx, 0);
    if (outcome.state === 'done') return outcome.analysis;
    if (outcome.state === 'failed') log.warn({ code: outcome.code, reason: outcome.reason, imagingStudy: study.id }, 'prior study not analysed');
    else log.debug({ imagingStudy: study.id }, 'prior study analysis in progress');
    return undefined;
  } catch (err) {
    // Data problems with one study, and a model that is not loaded or a queue that is full or
    // unreachable, must not hide the other cards; anything else is a bug and fails the call.
    if (!isAppError(err) || (err.status >= 500 && !TOLERATED.has(err.code))) throw err;
    log.warn({ code: err.code, reason: err.message, imagingStudy: study.id }, 'prior study not analysed');
    return undefined;
  }
}

/** 5xx codes that concern one study's analysis, not the call. */
const TOLERATED: ReadonlySet<string> = new Set(['MODEL_UNAVAILABLE', 'INFERENCE_BUSY', 'JOB_STORE_UNAVAILABLE']);
