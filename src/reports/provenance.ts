/**
 * The Provenance of one result: the algorithm (Device) produced the report and its Observations.
 */
import type { Provenance } from 'fhir/r4.js';
import { RESOURCE_KEY_SYSTEM } from '../terminology.js';
import type { TemplateSet } from './engine.js';
import { uuidV5 } from './ids.js';
import { renderJson } from './render-json.js';
import type { ResultContext } from './result-context.js';
import type { RenderInput } from './types.js';

/**
 * @param templates - compiled templates
 * @param input - the result
 * @param ctx - its shared ids and references (Observations already listed)
 */
export function buildProvenance(templates: TemplateSet, input: RenderInput, ctx: ResultContext): Provenance {
  return renderJson<Provenance>(templates, 'provenance.json', {
    id: uuidV5(`provenance|${ctx.resultKey}`),
    keySystem: RESOURCE_KEY_SYSTEM,
    targets: [{ reference: `DiagnosticReport/${ctx.reportId}` }, ...ctx.refs.observations],
    issued: input.issued,
    refs: ctx.refs,
    deviceDisplay: `${input.model.name} ${input.model.version}`,
  });
}
