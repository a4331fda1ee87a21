/**
 * The algorithm as a FHIR Device, with its decision thresholds (and review band) as properties,
 * so a receiver can tell which operating point produced a result.
 */
import type { Device } from 'fhir/r4.js';
import { PROJECT_CODES } from '../terminology.js';
import type { TemplateSet } from './engine.js';
import { toPercent } from './finding-text.js';
import { renderJson } from './render-json.js';
import type { ResultContext } from './result-context.js';
import type { Coding, RenderInput } from './types.js';

function percentProperty(coding: Coding, text: string, fraction: number): object {
  return { type: { coding: [coding], text }, valueQuantity: [{ value: toPercent(fraction), unit: '%', system: 'http://unitsofmeasure.org', code: '%' }] };
}

function properties(input: RenderInput): object[] {
  if (input.model.task === 'segmentation') {
    return input.measurements.map((m) => percentProperty(PROJECT_CODES.aiThreshold, `Pixel threshold: ${m.display}`, m.threshold));
  }
  return input.findings.flatMap((f) => [
    percentProperty(PROJECT_CODES.aiThreshold, `Decision threshold: ${f.display}`, f.threshold),
    percentProperty(PROJECT_CODES.aiReviewBandLow, `Review band lower bound: ${f.display}`, f.reviewBand[0]),
    percentProperty(PROJECT_CODES.aiReviewBandHigh, `Review band upper bound: ${f.display}`, f.reviewBand[1]),
  ]);
}

/**
 * @param templates - compiled templates
 * @param input - the result (its model and operating points)
 * @param ctx - its shared ids
 */
export function buildDevice(templates: TemplateSet, input: RenderInput, ctx: ResultContext): Device {
  return renderJson<Device>(templates, 'device.json', {
    id: ctx.deviceId,
    identifier: ctx.deviceKey,
    systems: ctx.systems,
    model: input.model,
    algorithmCoding: PROJECT_CODES.aiAlgorithm,
    // A cine model states no per-image operating point: no property then (FHIR forbids []).
    properties: properties(input).length === 0 ? null : properties(input),
  });
}
