/**
 * Renders one analysis result into a CDS card and the FHIR resources it offers to save:
 * a preliminary DiagnosticReport, one Observation per finding, the algorithm's Device and a
 * Provenance. Everything textual comes from templates/; this module builds the plain view
 * data, parses what the templates produced and checks it before anyone sees it.
 */
import { createHash } from 'node:crypto';
import type { Attachment, Device, DiagnosticReport, Observation, Provenance } from 'fhir/r4.js';
import { AppError } from '../errors.js';
import { cardSchema } from '../cds/response-schema.js';
import type { CdsAction, CdsCard } from '../cds/types.js';
import {
  BODY_PART_SNOMED,
  DEVICE_IDENTIFIER_SYSTEM,
  PROFILES,
  RESOURCE_KEY_SYSTEM,
  OVERRIDE_REASON_SYSTEM,
  PROJECT_CODES,
  RESULT_IDENTIFIER_SYSTEM,
  SNOMED,
  V3_OBSERVATION_INTERPRETATION,
} from '../terminology.js';
import type { TemplateSet } from './engine.js';
import { percent } from './engine.js';
import { uuidV5 } from './ids.js';
import { followUpSuggestion } from './follow-up.js';
import { fractionText, measurementConclusion, measurementObservations, measurementSummary, measurementViews } from './measurements.js';
import type { ObservationContext } from './measurements.js';
import type { Finding, RenderInput, RenderedResult, ReportOverlay } from './types.js';

/** SNOMED CT qualifier values for Observation.valueCodeableConcept. */
const PRESENT = { system: SNOMED, code: '52101004', display: 'Present' };
const ABSENT = { system: SNOMED, code: '2667000', display: 'Absent' };
const INDETERMINATE = { system: SNOMED, code: '82334004', display: 'Indeterminate' };

const INTERPRETATION = {
  positive: { system: V3_OBSERVATION_INTERPRETATION, code: 'POS', display: 'Positive' },
  negative: { system: V3_OBSERVATION_INTERPRETATION, code: 'NEG', display: 'Negative' },
  review: { system: V3_OBSERVATION_INTERPRETATION, code: 'IND', display: 'Indeterminate' },
} as const;

export const OVERRIDE_REASONS = [
  { system: OVERRIDE_REASON_SYSTEM, code: 'disagree-with-finding', display: 'Disagree with the AI finding' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'inadequate-image-quality', display: 'Inadequate image quality for AI analysis' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'not-clinically-relevant', display: 'Not clinically relevant for this patient' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'already-addressed', display: 'Already reviewed or addressed' },
] as const;

type FindingState = 'positive' | 'negative' | 'review';

function stateOf(f: Finding): FindingState {
  return f.needsReview ? 'review' : f.interpretation;
}

/** Plain-language result of a finding, for tables in cards and reports. */
export function findingResultText(f: Finding): string {
  switch (stateOf(f)) {
    case 'positive':
      return 'Suspected (above threshold)';
    case 'negative':
      return 'Not suspected (below threshold)';
    case 'review':
      return 'Indeterminate: radiologist review required';
  }
}

/** Rounds to 2 decimals in percent, so 0.87654 → 87.65. */
function toPercent(p: number): number {
  return Math.round(p * 10000) / 100;
}

const MAX_SUMMARY = 139;

/**
 * One sentence under 140 characters, most urgent finding first.
 *
 * @param findings - the reportable findings
 */
export function composeSummary(findings: readonly Finding[]): string {
  const prefix = 'Preliminary AI: ';
  const positives = findings.filter((f) => stateOf(f) === 'positive');
  const reviews = findings.filter((f) => stateOf(f) === 'review');
  const parts: string[] = [];
  for (const f of positives) parts.push(`possible ${f.display.toLowerCase()} (${percent(f.probability)})`);
  for (const f of reviews) parts.push(`indeterminate for ${f.display.toLowerCase()} (${percent(f.probability)}), review required`);
  let sentence: string;
  if (parts.length === 0) {
    sentence = `${prefix}no ${findings.map((f) => f.display.toLowerCase()).join(' or ')} suspected; needs confirmation`;
  } else {
    sentence = `${prefix}${parts.join('; ')}`;
    if (positives.length > 0) sentence += '; needs confirmation';
  }
  return sentence.length <= MAX_SUMMARY ? sentence : `${sentence.slice(0, MAX_SUMMARY - 1)}…`;
}

function indicatorOf(findings: readonly Finding[]): CdsCard['indicator'] {
  const rank = { info: 0, warning: 1, critical: 2 } as const;
  let best: CdsCard['indicator'] = 'info';
  for (const f of findings) {
    const state = stateOf(f);
    const level = state === 'positive' ? f.urgency : state === 'review' ? 'warning' : 'info';
    if (rank[level] > rank[best]) best = level;
  }
  return best;
}

function parseJson<T>(name: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new AppError('REPORT_INVALID', `template ${name} produced invalid JSON`, { cause: err });
  }
}

function conclusionOf(input: RenderInput): string {
  const lines = input.findings.map((f) => `${f.display}: ${findingResultText(f).toLowerCase()}, AI probability ${percent(f.probability)} (threshold ${percent(f.threshold)})`);
  return `Preliminary AI result, not a diagnosis; requires confirmation by a qualified clinician. ${lines.join('. ')}.`;
}

/**
 * The card's links: the plain viewer link (absolute) and the SMART app (type `smart`, with the
 * study in `appContext`, a string by the 2.0 spec: we send JSON so the app can parse it).
 */
function cardLinks(input: RenderInput): { label: string; url: string; type: 'absolute' | 'smart'; appContext?: string }[] | null {
  const links: { label: string; url: string; type: 'absolute' | 'smart'; appContext?: string }[] = [];
  if (input.viewerUrl !== undefined) links.push({ label: 'Open the study in the image viewer', url: input.viewerUrl, type: 'absolute' });
  if (input.smartViewer !== undefined) {
    const appContext = JSON.stringify({ imagingStudy: input.subject.imagingStudyReference, studyInstanceUid: input.subject.studyInstanceUid });
    links.push({ label: input.smartViewer.label, url: input.smartViewer.url, type: 'smart', appContext });
  }
  return links.length === 0 ? null : links;
}

/**
 * The report's attachments: the rendered HTML, and the overlay PNG when the model made a map.
 * Each states its size and SHA-1 so a receiver can check what it stores.
 */
function presentedForms(html: Buffer, overlay: ReportOverlay | undefined): Attachment[] {
  const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('base64');
  const forms: Attachment[] = [
    { contentType: 'text/html; charset=utf-8', language: 'en', data: html.toString('base64'), size: html.length, hash: sha1(html), title: 'Preliminary AI image analysis report' },
  ];
  if (overlay !== undefined) {
    const png = Buffer.from(overlay.png, 'base64');
    forms.push({ contentType: 'image/png', data: overlay.png, size: png.length, hash: sha1(png), title: `${overlay.title} (preliminary AI output, not a diagnosis)` });
  }
  return forms;
}

/** One Observation per classifier finding (profile ai-finding-observation). */
function findingObservations(
  templates: TemplateSet,
  findings: readonly Finding[],
  ctx: ObservationContext,
  parse: (name: string, text: string) => Observation,
): Observation[] {
  return findings.map((f) => {
    const state = stateOf(f);
    return parse(
      'observation.json',
      templates.render('observation.json', {
        id: ctx.idFor(f.key),
        identifier: ctx.identifierFor(f.key),
        systems: ctx.systems,
        profiles: PROFILES,
        refs: ctx.refs,
        codes: f.codes,
        display: f.display,
        effective: ctx.effective,
        issued: ctx.issued,
        value: { coding: [state === 'positive' ? PRESENT : state === 'negative' ? ABSENT : INDETERMINATE] },
        interpretation: INTERPRETATION[state],
        bodySite: ctx.bodySite,
        methodCoding: PROJECT_CODES.aiAlgorithm,
        methodText: ctx.methodText,
        probabilityCoding: PROJECT_CODES.aiProbability,
        probabilityPercent: toPercent(f.probability),
        thresholdCoding: PROJECT_CODES.aiThreshold,
        thresholdPercent: toPercent(f.threshold),
      }),
    );
  });
}

/**
 * Renders the card and resources for one study + model.
 *
 * @param templates - compiled templates
 * @param input - the analysis result and where it belongs
 * @throws AppError REPORT_INVALID - when a template produced something invalid
 */
export function renderResult(templates: TemplateSet, input: RenderInput): RenderedResult {
  const { subject, model, series } = input;
  const resultKey = `${subject.studyInstanceUid}|${model.id}|${model.version}`;
  const deviceKey = `${model.id}|${model.version}`;
  const deviceId = uuidV5(`device|${deviceKey}`);
  const reportId = uuidV5(`report|${resultKey}`);
  const refs = {
    patient: subject.patientReference,
    imagingStudy: subject.imagingStudyReference,
    serviceRequest: subject.serviceRequestReference ?? null,
    device: `Device/${deviceId}`,
    observations: [] as { reference: string }[],
  };
  const systems = { result: RESULT_IDENTIFIER_SYSTEM, device: DEVICE_IDENTIFIER_SYSTEM, key: RESOURCE_KEY_SYSTEM };
  const bodySite = series.bodyPart === undefined ? undefined : BODY_PART_SNOMED[series.bodyPart.toUpperCase()];

  const context: ObservationContext = {
    idFor: (key) => uuidV5(`observation|${resultKey}|${key}`),
    identifierFor: (key) => `${resultKey}|${key}`,
    systems,
    refs,
    effective: subject.studyDate ?? null,
    issued: input.issued,
    bodySite: bodySite === undefined ? null : { coding: [{ system: SNOMED, code: bodySite.code, display: bodySite.display }] },
    methodText: `${model.name} ${model.version}`,
  };
  const parseObservation = (name: string, text: string): Observation => parseJson<Observation>(name, text);
  const segmentation = model.task === 'segmentation';
  const observations = segmentation
    ? measurementObservations(templates, input.measurements, context, parseObservation)
    : findingObservations(templates, input.findings, context, parseObservation);
  // Pushed after rendering: the templates above must not see their own reference list grow.
  refs.observations.push(...observations.map((o) => ({ reference: `Observation/${o.id ?? ''}` })));

  const findingViews = input.findings.map((f) => ({ ...f, resultText: findingResultText(f), reviewBandLow: f.reviewBand[0], reviewBandHigh: f.reviewBand[1] }));
  const conclusion = segmentation ? measurementConclusion(input.measurements) : conclusionOf(input);
  const measurementList = measurementViews(input.measurements);
  const view = {
    study: { description: subject.studyDescription ?? 'imaging study', date: subject.studyDate ?? null },
    series: {
      description: series.description ?? series.seriesInstanceUid,
      modality: series.modality ?? 'unknown modality',
      bodyPart: series.bodyPart ?? null,
      viewPosition: series.viewPosition ?? null,
      imageCount: series.imageCount,
      selectionReason: series.selectionReason,
    },
    model,
    findings: findingViews,
    measurements: measurementList,
    // One field of view per image: every class of a model is measured against the same one.
    fieldOfViewText: measurementList[0] === undefined ? null : fractionText(measurementList[0].fieldOfViewFraction),
    overlay: input.overlay ?? null,
    conclusion,
  };

  const narrative = templates.render(`${model.templates.report}.html`, view).trim();
  const html = Buffer.from(`<!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"><head><meta charset="utf-8"/><title>Preliminary AI image analysis</title></head><body>${narrative}</body></html>`, 'utf8');
  const positives = input.findings.filter((f) => stateOf(f) === 'positive');
  const diagnosticReport = parseJson<DiagnosticReport>(
    'diagnostic-report.json',
    templates.render('diagnostic-report.json', {
      ids: { report: reportId },
      identifiers: { report: resultKey },
      systems,
      profiles: PROFILES,
      refs,
      issued: input.issued,
      conclusion,
      conclusionCodes: positives.length === 0 ? null : positives.map((f) => ({ coding: f.codes, text: f.display })),
      presentedForms: presentedForms(html, input.overlay),
      narrative,
    }),
  );

  const [bandLow, bandHigh] = [PROJECT_CODES.aiReviewBandLow, PROJECT_CODES.aiReviewBandHigh];
  const device = parseJson<Device>(
    'device.json',
    templates.render('device.json', {
      id: deviceId,
      identifier: deviceKey,
      systems,
      model,
      algorithmCoding: PROJECT_CODES.aiAlgorithm,
      properties: segmentation
        ? input.measurements.map((m) => ({ type: { coding: [PROJECT_CODES.aiThreshold], text: `Pixel threshold: ${m.display}` }, valueQuantity: [{ value: toPercent(m.threshold), unit: '%', system: 'http://unitsofmeasure.org', code: '%' }] }))
        : input.findings.flatMap((f) => [
        { type: { coding: [PROJECT_CODES.aiThreshold], text: `Decision threshold: ${f.display}` }, valueQuantity: [{ value: toPercent(f.threshold), unit: '%', system: 'http://unitsofmeasure.org', code: '%' }] },
        { type: { coding: [bandLow], text: `Review band lower bound: ${f.display}` }, valueQuantity: [{ value: toPercent(f.reviewBand[0]), unit: '%', system: 'http://unitsofmeasure.org', code: '%' }] },
        { type: { coding: [bandHigh], text: `Review band upper bound: ${f.display}` }, valueQuantity: [{ value: toPercent(f.reviewBand[1]), unit: '%', system: 'http://unitsofmeasure.org', code: '%' }] },
      ]),
    }),
  );

  const provenance = parseJson<Provenance>(
    'provenance.json',
    templates.render('provenance.json', {
      id: uuidV5(`provenance|${resultKey}`),
      keySystem: RESOURCE_KEY_SYSTEM,
      targets: [{ reference: `DiagnosticReport/${reportId}` }, ...refs.observations],
      issued: input.issued,
      refs,
      deviceDisplay: `${model.name} ${model.version}`,
    }),
  );

  const actions: CdsAction[] = [
    { type: 'create', description: `Record the AI algorithm (${model.name} ${model.version}) as a Device`, resource: device },
    ...observations.map((o) => ({ type: 'create' as const, description: `Create preliminary AI Observation: ${o.code.text ?? 'finding'}`, resource: o })),
    { type: 'create', description: 'Create the preliminary AI DiagnosticReport', resource: diagnosticReport },
    { type: 'create', description: 'Record the Provenance of the AI result', resource: provenance },
  ];

  const followUp = followUpSuggestion(templates, input.findings, {
    resultKey,
    patientReference: subject.patientReference,
    imagingStudyReference: subject.imagingStudyReference,
    observationReferences: refs.observations.map((o) => o.reference),
  });
  const card = parseJson<CdsCard>(
    `${model.templates.card}.json`,
    templates.render(`${model.templates.card}.json`, {
      ...view,
      card: {
        uuid: uuidV5(`card|${resultKey}`),
        suggestionUuid: uuidV5(`suggestion|${resultKey}`),
        summary: segmentation ? measurementSummary(input.measurements) : composeSummary(input.findings),
        // A measurement without a reference range raises no alarm.
        indicator: segmentation ? 'info' : indicatorOf(input.findings),
      },
      source: { label: `Imaging AI: ${model.name} ${model.version}`.slice(0, 200), topic: PROJECT_CODES.aiAlgorithm },
      actions,
      followUp: followUp ?? null,
      // Saving the report and proposing an order are independent choices.
      selectionBehavior: followUp === undefined ? 'at-most-one' : 'any',
      overrideReasons: OVERRIDE_REASONS,
      links: cardLinks(input),
    }),
  );
  const checked = cardSchema.safeParse(card);
  if (!checked.success) {
    throw new AppError('REPORT_INVALID', `card template ${model.templates.card} produced an invalid card: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return { card, diagnosticReport, observations, device, provenance };
}
