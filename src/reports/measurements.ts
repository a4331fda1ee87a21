/**
 * The text and Observations of a segmentation model's result: its measurements (share of the
 * field of view, area when the image states its pixel spacing). The classifier's counterparts
 * are finding-text.ts and finding-observations.ts.
 */
import type { Observation } from 'fhir/r4.js';
import { PROFILES, PROJECT_CODES } from '../terminology.js';
import type { TemplateSet } from './engine.js';
import { renderJson } from './render-json.js';
import type { Measurement } from './types.js';

/** Percent with one decimal, e.g. 0.1234 → "12.3%": measurements are not probabilities. */
export function fractionText(f: number): string {
  return `${(Math.round(f * 1000) / 10).toFixed(1)}%`;
}

/** mm² with a precision that suits its size: "0.84 mm²", "12.6 mm²", "1,234 mm²". */
export function areaText(mm2: number): string {
  if (mm2 < 10) return `${mm2.toFixed(2)} mm²`;
  if (mm2 < 100) return `${mm2.toFixed(1)} mm²`;
  return `${Math.round(mm2).toLocaleString('en-GB')} mm²`;
}

/** Percentage points with one decimal: 0.0123 → "1.2". */
function points(f: number): string {
  return (Math.round(Math.abs(f) * 1000) / 10).toFixed(1);
}

/**
 * The share's stated error, one sentence, e.g. "±1.2 percentage points (mean absolute error
 * against a manual annotation; on average 0.8 points lower; DRIVE validation images …)".
 */
export function errorText(error: NonNullable<Measurement['error']>): string {
  const bias = Math.round(error.bias * 1000) === 0 ? 'no average bias' : `on average ${points(error.bias)} points ${error.bias < 0 ? 'lower' : 'higher'}`;
  return `±${points(error.meanAbsolute)} percentage points (mean absolute error against a manual annotation; ${bias}; ${error.basis})`;
}

/** What the templates show per measurement. */
export function measurementViews(measurements: readonly Measurement[]): (Measurement & { fractionText: string; areaText: string | null; errorText: string | null })[] {
  return measurements.map((m) => ({
    ...m,
    fractionText: fractionText(m.fractionOfFieldOfView),
    areaText: m.areaMm2 === undefined ? null : areaText(m.areaMm2),
    errorText: m.error === undefined ? null : errorText(m.error),
  }));
}

const MAX_SUMMARY = 139;

/** One sentence under 140 characters: what was measured, flagged as preliminary. */
export function measurementSummary(measurements: readonly Measurement[]): string {
  const parts = measurements.map((m) => `${m.display.toLowerCase()} ${fractionText(m.fractionOfFieldOfView)} of field of view`);
  const sentence = `Preliminary AI measurement: ${parts.join('; ')}; needs confirmation`;
  return sentence.length <= MAX_SUMMARY ? sentence : `${sentence.slice(0, MAX_SUMMARY - 1)}…`;
}

/** The DiagnosticReport conclusion. */
export function measurementConclusion(measurements: readonly Measurement[]): string {
  const lines = measurements.map(
    (m) => `${m.display}: ${fractionText(m.fractionOfFieldOfView)} of the field of view${m.areaMm2 === undefined ? '' : ` (${areaText(m.areaMm2)})`}`,
  );
  return `Preliminary AI measurement from an automatic segmentation, not a diagnosis; requires confirmation by a qualified clinician. ${lines.join('. ')}. No validated clinical reference range exists for these values.`;
}

/** Everything an Observation needs besides the measurement itself. */
export interface ObservationContext {
  readonly idFor: (key: string) => string;
  readonly identifierFor: (key: string) => string;
  readonly systems: { readonly result: string; readonly device: string; readonly key: string };
  readonly refs: object;
  readonly effective: string | null;
  readonly issued: string;
  readonly bodySite: object | null;
  readonly methodText: string;
}

/** Rounds to 2 decimals, so 0.87654 → 87.65 (%) and 12.3456 → 12.35 (mm²). */
function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** One Observation per measured class (profile ai-measurement-observation). */
export function measurementObservations(templates: TemplateSet, measurements: readonly Measurement[], ctx: ObservationContext): Observation[] {
  return measurements.map((m) =>
    renderJson<Observation>(templates, 'measurement-observation.json', {
      id: ctx.idFor(m.key),
      identifier: ctx.identifierFor(m.key),
      systems: ctx.systems,
      profiles: PROFILES,
      refs: ctx.refs,
      codes: m.codes,
      codeText: `${m.display}: share of the field of view`,
      effective: ctx.effective,
      issued: ctx.issued,
      fractionPercent: round2(m.fractionOfFieldOfView * 100),
      bodySite: ctx.bodySite,
      methodCoding: PROJECT_CODES.aiAlgorithm,
      methodText: ctx.methodText,
      thresholdCoding: PROJECT_CODES.aiThreshold,
      thresholdPercent: round2(m.threshold * 100),
      fieldOfViewCoding: PROJECT_CODES.aiFieldOfView,
      fieldOfViewPercent: round2(m.fieldOfViewFraction * 100),
      areaCoding: PROJECT_CODES.aiArea,
      // A flag, not the value: an area of 0 mm² is a measurement too.
      hasArea: m.areaMm2 !== undefined,
      areaMm2: m.areaMm2 === undefined ? null : round2(m.areaMm2),
      errorNote: m.error === undefined ? null : `Measurement error of this share: ${errorText(m.error)}.`,
    }),
  );
}
