/**
 * The card of one result: its summary and indicator, the suggestion that saves the preliminary
 * resources, the optional follow-up order, links to a viewer and the override reasons.
 */
import { cardiacIndicator, cardiacSummary } from './cardiac.js';
import type { Device, DiagnosticReport, Observation, Provenance } from 'fhir/r4.js';
import type { CdsAction, CdsCard, CdsLink } from '../cds-hooks/index.js';
import { PROJECT_CODES } from '../terminology.js';
import type { TemplateSet } from './engine.js';
import { composeSummary, indicatorOf } from './finding-text.js';
import { followUpSuggestion } from './follow-up.js';
import { uuidV5 } from './ids.js';
import { measurementSummary } from './measurements.js';
import { FINDING_OVERRIDE_REASONS, MEASUREMENT_OVERRIDE_REASONS } from './override-reasons.js';
import { renderJson } from './render-json.js';
import type { ResultContext } from './result-context.js';
import type { RenderInput } from './types.js';

/** The resources the card's suggestion creates. */
export interface CardResources {
  readonly device: Device;
  readonly observations: readonly Observation[];
  readonly diagnosticReport: DiagnosticReport;
  readonly provenance: Provenance;
}

/**
 * The card's links: the plain viewer link (absolute) and the SMART app (type `smart`, with the
 * study in `appContext`, a string by the 2.0 spec: we send JSON so the app can parse it).
 */
function cardLinks(input: RenderInput): CdsLink[] | null {
  const links: CdsLink[] = [];
  if (input.viewerUrl !== undefined) links.push({ label: 'Open the study in the image viewer', url: input.viewerUrl, type: 'absolute' });
  if (input.smartViewer !== undefined) {
    const appContext = JSON.stringify({ imagingStudy: input.subject.imagingStudyReference, studyInstanceUid: input.subject.studyInstanceUid });
    links.push({ label: input.smartViewer.label, url: input.smartViewer.url, type: 'smart', appContext });
  }
  return links.length === 0 ? null : links;
}

function saveActions(input: RenderInput, resources: CardResources): CdsAction[] {
  const { model } = input;
  return [
    { type: 'create', description: `Record the AI algorithm (${model.name} ${model.version}) as a Device`, resource: resources.device },
    ...resources.observations.map((o) => ({ type: 'create' as const, description: `Create preliminary AI Observation: ${o.code.text ?? 'finding'}`, resource: o })),
    { type: 'create', description: 'Create the preliminary AI DiagnosticReport', resource: resources.diagnosticReport },
    { type: 'create', description: 'Record the Provenance of the AI result', resource: resources.provenance },
  ];
}

/**
 * Renders the card with the model's card template. The card is checked once, with the whole
 * response, at the HTTP boundary.
 *
 * @param templates - compiled templates
 * @param input - the result
 * @param ctx - its shared ids and references
 * @param view - the view data shared with the report template
 * @param resources - what the suggestion creates
 */
export function buildResultCard(templates: TemplateSet, input: RenderInput, ctx: ResultContext, view: object, resources: CardResources): CdsCard {
  const { model, subject } = input;
  const segmentation = model.task === 'segmentation';
  const followUp = followUpSuggestion(templates, input.findings, {
    resultKey: ctx.resultKey,
    patientReference: subject.patientReference,
    imagingStudyReference: subject.imagingStudyReference,
    observationReferences: ctx.refs.observations.map((o) => o.reference),
  });
  return renderJson<CdsCard>(templates, `${model.templates.card}.json`, {
    ...view,
    card: {
      uuid: uuidV5(`card|${ctx.resultKey}`),
      suggestionUuid: uuidV5(`suggestion|${ctx.resultKey}`),
      summary: input.cardiac !== undefined ? cardiacSummary(input.cardiac) : segmentation ? measurementSummary(input.measurements) : composeSummary(input.findings),
      // A measurement without a reference range raises no alarm; an LV EF in the reduced band does.
      indicator: input.cardiac !== undefined ? cardiacIndicator(input.cardiac) : segmentation ? 'info' : indicatorOf(input.findings),
    },
    source: { label: `Imaging AI: ${model.name} ${model.version}`.slice(0, 200), topic: PROJECT_CODES.aiAlgorithm },
    actions: saveActions(input, resources),
    followUp: followUp ?? null,
    // Saving the report and proposing an order are independent choices.
    selectionBehavior: followUp === undefined ? 'at-most-one' : 'any',
    overrideReasons: segmentation ? MEASUREMENT_OVERRIDE_REASONS : FINDING_OVERRIDE_REASONS,
    links: cardLinks(input),
  });
}
