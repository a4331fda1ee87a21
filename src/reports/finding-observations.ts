/**
 * One Observation per classifier finding (profile ai-finding-observation). The segmentation
 * counterpart is in measurements.ts.
 */
import type { Observation } from 'fhir/r4.js';
import { PROFILES, PROJECT_CODES, SNOMED, V3_OBSERVATION_INTERPRETATION } from '../terminology.js';
import type { TemplateSet } from './engine.js';
import { UNFAMILIAR_TEXT, findingNote, stateOf, toPercent } from './finding-text.js';
import type { ObservationContext } from './measurements.js';
import { renderJson } from './render-json.js';
import type { Finding } from './types.js';

/** SNOMED CT qualifier values for Observation.valueCodeableConcept. */
const VALUE = {
  positive: { system: SNOMED, code: '52101004', display: 'Present' },
  negative: { system: SNOMED, code: '2667000', display: 'Absent' },
  review: { system: SNOMED, code: '82334004', display: 'Indeterminate' },
} as const;

const INTERPRETATION = {
  positive: { system: V3_OBSERVATION_INTERPRETATION, code: 'POS', display: 'Positive' },
  negative: { system: V3_OBSERVATION_INTERPRETATION, code: 'NEG', display: 'Negative' },
  review: { system: V3_OBSERVATION_INTERPRETATION, code: 'IND', display: 'Indeterminate' },
} as const;

/**
 * Observation.interpretation: the finding's state; for an image the unfamiliar-image check flagged,
 * also Indeterminate (v3 ObservationInterpretation IND: "could neither be declared positive /
 * negative … e.g. if the specimen … was missing the required anatomic structures") with the
 * reason as text. A finding already in the review band is IND: its one entry gets the text.
 */
function interpretations(f: Finding): { coding: object[]; text?: string }[] {
  const state = stateOf(f);
  if (f.unfamiliar?.flagged !== true) return [{ coding: [INTERPRETATION[state]] }];
  const unfamiliar = { coding: [INTERPRETATION.review], text: UNFAMILIAR_TEXT };
  return state === 'review' ? [unfamiliar] : [{ coding: [INTERPRETATION[state]] }, unfamiliar];
}

/**
 * @param templates - compiled templates
 * @param findings - the classifier's reportable findings
 * @param ctx - ids, references and method shared by the result's Observations
 */
export function findingObservations(templates: TemplateSet, findings: readonly Finding[], ctx: ObservationContext): Observation[] {
  return findings.map((f) => {
    const state = stateOf(f);
    return renderJson<Observation>(templates, 'observation.json', {
      id: ctx.idFor(f.key),
      identifier: ctx.identifierFor(f.key),
      systems: ctx.systems,
      profiles: PROFILES,
      refs: ctx.refs,
      codes: f.codes,
      display: f.display,
      effective: ctx.effective,
      issued: ctx.issued,
      value: { coding: [VALUE[state]] },
      interpretation: interpretations(f),
      note: findingNote(f),
      bodySite: ctx.bodySite,
      methodCoding: PROJECT_CODES.aiAlgorithm,
      methodText: ctx.methodText,
      probabilityCoding: PROJECT_CODES.aiProbability,
      probabilityPercent: toPercent(f.probability),
      thresholdCoding: PROJECT_CODES.aiThreshold,
      thresholdPercent: toPercent(f.threshold),
    });
  });
}
