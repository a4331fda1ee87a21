/**
 * Renders one analysis result into a CDS card and the FHIR resources it offers to save:
 * a preliminary DiagnosticReport, one Observation per finding or measurement, the algorithm's
 * Device and a Provenance. Everything textual comes from templates/; this module builds the
 * view data the templates share and hands each resource to its builder.
 */
import { cardiacConclusion, cardiacObservations, cardiacRows, efBandText } from './cardiac.js';
import { buildDevice } from './device.js';
import { buildDiagnosticReport } from './diagnostic-report.js';
import type { TemplateSet } from './engine.js';
import { findingObservations } from './finding-observations.js';
import { findingResultText, findingsConclusion, flaggedUnfamiliar, unfamiliarSentence } from './finding-text.js';
import { fractionText, measurementConclusion, measurementObservations, measurementViews } from './measurements.js';
import { buildProvenance } from './provenance.js';
import { buildResultCard } from './result-card.js';
import { resultContext } from './result-context.js';
import type { RenderInput, RenderedResult } from './types.js';

/** What the card and report templates show: study, series, model, findings or measurements. */
function sharedView(input: RenderInput, conclusion: string): object {
  const { subject, series } = input;
  const measurementList = measurementViews(input.measurements);
  return {
    study: { description: subject.studyDescription ?? 'imaging study', date: subject.studyDate ?? null },
    series: {
      description: series.description ?? series.seriesInstanceUid,
      modality: series.modality ?? 'unknown modality',
      bodyPart: series.bodyPart ?? null,
      viewPosition: series.viewPosition ?? null,
      imageCount: series.imageCount,
      selectionReason: series.selectionReason,
    },
    model: input.model,
    findings: input.findings.map((f) => ({ ...f, resultText: findingResultText(f), reviewBandLow: f.reviewBand[0], reviewBandHigh: f.reviewBand[1] })),
    measurements: measurementList,
    // One field of view per image: every class of a model is measured against the same one.
    fieldOfViewText: measurementList[0] === undefined ? null : fractionText(measurementList[0].fieldOfViewFraction),
    overlay: input.overlay ?? null,
    overlayPending: input.overlayStatus?.pending === true,
    overlayUnavailable: input.overlayStatus !== undefined && !input.overlayStatus.pending ? input.overlayStatus.unavailable : null,
    unfamiliar: unfamiliarView(input),
    cardiac: input.cardiac === undefined ? null : { ...input.cardiac, rows: cardiacRows(input.cardiac), bandText: efBandText(input.cardiac), pixelSpacingText: input.cardiac.pixelSpacingMm.map((v) => v.toFixed(2)).join(' × ') },
    pacsObjects: input.pacsObjects ?? null,
    conclusion,
  };
}

/** The flagged unfamiliar-image verdict in words, for the card and report templates; null when not flagged. */
function unfamiliarView(input: RenderInput): { text: string } | null {
  const verdict = input.model.task === 'classification' ? flaggedUnfamiliar(input.findings) : undefined;
  return verdict === undefined ? null : { text: unfamiliarSentence(verdict) };
}

/**
 * Renders the card and resources for one study + model.
 *
 * @param templates - compiled templates
 * @param input - the analysis result and where it belongs
 * @throws AppError REPORT_INVALID - when a template produced something that is not JSON
 */
export function renderResult(templates: TemplateSet, input: RenderInput): RenderedResult {
  const ctx = resultContext(input);
  const segmentation = input.model.task === 'segmentation';
  const { cardiac } = input;
  const observations =
    cardiac !== undefined
      ? cardiacObservations(templates, cardiac, ctx.observation)
      : segmentation
        ? measurementObservations(templates, input.measurements, ctx.observation)
        : findingObservations(templates, input.findings, ctx.observation);
  // Listed after rendering: the Observations must not see their own reference list.
  ctx.refs.observations.push(...observations.map((o) => ({ reference: `Observation/${o.id ?? ''}` })));
  const conclusion = cardiac !== undefined ? cardiacConclusion(cardiac) : segmentation ? measurementConclusion(input.measurements) : findingsConclusion(input.findings);
  const view = sharedView(input, conclusion);
  const diagnosticReport = buildDiagnosticReport(templates, input, ctx, view, conclusion);
  const device = buildDevice(templates, input, ctx);
  const provenance = buildProvenance(templates, input, ctx);
  const card = buildResultCard(templates, input, ctx, view, { device, observations, diagnosticReport, provenance });
  return { card, diagnosticReport, observations, device, provenance };
}
