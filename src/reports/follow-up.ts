/**
 * The optional second card suggestion: a draft follow-up order (ServiceRequest, intent
 * `proposal`) when a model's manifest recommends one for a finding in its current state.
 */
import type { ServiceRequest } from 'fhir/r4.js';
import type { CdsSuggestion } from '../cds-hooks/index.js';
import { AppError } from '../errors.js';
import type { TemplateSet } from './engine.js';
import { uuidV5 } from './ids.js';
import type { Finding } from './types.js';

export interface FollowUpContext {
  readonly resultKey: string;
  readonly patientReference: string;
  readonly imagingStudyReference: string;
  /** The Observations of the findings, in the same order as `findings`. */
  readonly observationReferences: readonly string[];
}

/**
 * Builds the follow-up suggestion, or undefined when no finding recommends one.
 *
 * @param templates - compiled templates
 * @param findings - the result's findings (a finding carries `followUp` only when its state calls for it)
 * @param ctx - ids and references of the result
 */
export function followUpSuggestion(templates: TemplateSet, findings: readonly Finding[], ctx: FollowUpContext): CdsSuggestion | undefined {
  const i = findings.findIndex((f) => f.followUp !== undefined);
  const finding = findings[i];
  const follow = finding?.followUp;
  if (finding === undefined || follow === undefined) return undefined;
  const text = templates.render('follow-up-order.json', {
    id: uuidV5(`follow-up|${ctx.resultKey}|${finding.key}`),
    code: follow.code,
    text: follow.text,
    refs: { patient: ctx.patientReference, imagingStudy: ctx.imagingStudyReference },
    reasons: [{ reference: ctx.observationReferences[i] }],
  });
  let resource: ServiceRequest;
  try {
    resource = JSON.parse(text) as ServiceRequest;
  } catch (err) {
    throw new AppError('REPORT_INVALID', 'template follow-up-order.json produced invalid JSON', { cause: err });
  }
  return {
    label: follow.text,
    uuid: uuidV5(`follow-up-suggestion|${ctx.resultKey}|${finding.key}`),
    actions: [{ type: 'create', description: `Propose a draft order: ${follow.text} (requires clinician review)`, resource }],
  };
}
