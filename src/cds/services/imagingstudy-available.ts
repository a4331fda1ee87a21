/**
 * The custom result hook `org.imaging-cds.imagingstudy-available` (hook definition in
 * fhir-resources/hook-imagingstudy-available.json): a study is available, analyse it (through the
 * job queue, waiting up to the hook's budget) and answer with one card per model that fits, each
 * offering to save the preliminary report, or with an "analysis in progress" card.
 */
import type { ImagingStudy } from 'fhir/r4.js';
import { AppError } from '../../errors.js';
import { IMAGINGSTUDY_AVAILABLE_HOOK } from '../../terminology.js';
import { contextSchemas, parseContext } from '../../cds-hooks/index.js';
import type { CdsService } from '../service.js';
import { analysisWithin, renderStudyResult } from '../study-cards.js';
import { belongsToPatient } from '../study-input.js';
import { renderInProgressCard, renderNotAnalysedCard } from '../../reports/index.js';
import { errorOf } from '../../jobs/index.js';
import type { ResultOwner, ServiceDeps } from './deps.js';
import type { Logger } from '../../logging.js';
import { PATIENT_PREFETCH } from './order-imaging.js';

export const IMAGINGSTUDY_AVAILABLE_PREFETCH = {
  // _include brings the study's and its series' Endpoints in the same round trip.
  imagingStudy: 'ImagingStudy?_id={{context.imagingStudyId}}&_include=ImagingStudy:endpoint',
  // Its birthDate: the models' age rules take the patient's age at the study.
  patient: PATIENT_PREFETCH,
} as const;

/**
 * In the background, after the answer: waits for the job to finish its saliency maps, then hands
 * the completed results to the sink (results endpoint, write-back), replacing the ones without map.
 */
async function recordWhenComplete(deps: ServiceDeps, key: string, study: ImagingStudy, owner: ResultOwner, serviceRequestId: string | undefined, log: Logger): Promise<void> {
  try {
    const outcome = await deps.jobs.waitComplete(key, deps.mapFollowUpMs ?? 600_000);
    if (outcome.state !== 'done') {
      log.warn({ state: outcome.state }, 'saliency maps not completed; the stored result stays without them');
      return;
    }
    const rendered = outcome.analysis.results.map((r) => renderStudyResult(deps, study, r, { patientId: owner.patientId, serviceRequestId }));
    deps.resultSink?.(owner, rendered, log, true);
    log.info({ results: rendered.length }, 'stored results completed with their saliency maps');
  } catch (err) {
    // The answer was given already; the stored result keeps saying its map is being made.
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not complete the stored results with their saliency maps');
  }
}

/** Creates the result-hook service. */
export function imagingStudyAvailableService(deps: ServiceDeps): CdsService {
  // One background wait per job and owner, however many hooks ask while the maps are made
  // (with Redis each wait polls the store).
  const following = new Set<string>();
  const followUp = (key: string, study: ImagingStudy, owner: ResultOwner, serviceRequestId: string | undefined, log: Logger): void => {
    const id = JSON.stringify([key, owner.domain, owner.patientId, owner.imagingStudyId, serviceRequestId ?? null]);
    if (following.has(id)) return;
    following.add(id);
    void recordWhenComplete(deps, key, study, owner, serviceRequestId, log).finally(() => following.delete(id));
  };
  return {
    definition: {
      id: 'imaging-ai-result',
      hook: IMAGINGSTUDY_AVAILABLE_HOOK,
      title: 'Imaging AI: preliminary findings for a new study',
      description:
        'Analyses a newly available imaging study with the AI models that fit it and returns preliminary findings, with a suggestion to save a preliminary DiagnosticReport. Decision support only, not a diagnosis.',
      prefetch: IMAGINGSTUDY_AVAILABLE_PREFETCH,
    },
    async handle(request, handlerContext) {
      const { data, log, domain } = handlerContext;
      const ctx = parseContext(contextSchemas.imagingStudyAvailable, request.context);
      const entries = await data.entries('imagingStudy');
      const study = entries.find((r): r is ImagingStudy => r.resourceType === 'ImagingStudy' && r.id === ctx.imagingStudyId);
      if (study === undefined) throw new AppError('DATA_UNAVAILABLE', 'the ImagingStudy named in context.imagingStudyId was not found', { expression: 'context.imagingStudyId' });
      // The study must belong to the patient in context: never analyse or report across patients.
      if (!belongsToPatient(study, ctx.patientId)) {
        throw new AppError('CDS_BAD_REQUEST', 'the ImagingStudy does not belong to context.patientId', { expression: 'context.patientId' });
      }
      // Submitted (once per study, models and source, whoever asks), then awaited within the
      // hook's budget: what is not ready by then is answered as in progress and goes on.
      const { outcome, queued, key } = await analysisWithin(deps, study, entries, handlerContext, deps.hookBudgetMs);
      const view = { studyInstanceUid: study.id ?? '', description: study.description, date: study.started };
      if (outcome.state === 'failed') throw errorOf(outcome);
      if (outcome.state === 'pending') {
        log.info({ budgetMs: deps.hookBudgetMs }, 'analysis in progress');
        return { cards: deps.inProgressCards === false ? [] : [renderInProgressCard(deps.templates, view)] };
      }
      const { analysis } = outcome;
      // From the cache: this call found the job done already, or the job found every result cached.
      log.info({ results: analysis.results.length, skipped: analysis.skipped.map((s) => s.reason), fromCache: !queued || analysis.fromCache }, 'study analysed');
      const rendered = analysis.results.map((r) => renderStudyResult(deps, study, r, { patientId: ctx.patientId, serviceRequestId: ctx.serviceRequestId }));
      // After rendering, before answering: the sink only records and schedules (write-back runs
      // in the background), so the answer is not delayed by the FHIR server.
      const owner = { domain, patientId: ctx.patientId, imagingStudyId: ctx.imagingStudyId };
      const mapsPending = analysis.results.some((r) => r.overlayPending === true);
      if (rendered.length > 0) deps.resultSink?.(owner, rendered, log, !mapsPending);
      if (mapsPending) followUp(key, study, owner, ctx.serviceRequestId, log);
      else handlerContext.final?.();
      if (rendered.length === 0 && deps.notAnalysedCards !== false) {
        const others = analysis.skipped.filter((s) => s.outsideUse === undefined).map((s) => s.reason);
        const outsideUse = analysis.skipped.flatMap((s) => (s.outsideUse === undefined ? [] : [{ modelName: s.outsideUse.modelName, reason: s.reason }]));
        return { cards: [renderNotAnalysedCard(deps.templates, { ...view, studyInstanceUid: analysis.studyInstanceUid }, others, outsideUse)] };
      }
      return { cards: rendered.map((r) => r.card) };
    },
  };
}
