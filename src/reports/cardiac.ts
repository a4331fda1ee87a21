/**
 * The text and Observations of a cine short-axis result: LV and RV volumes, stroke volume,
 * ejection fractions and LV mass. Codes are LOINC and SNOMED CT concepts as DICOM PS3.16 lists
 * them (checked against Debian pydicom's PS3.16 concept tables; README § Cardiac MRI names each
 * with its context group), displays are PS3.16's code meanings.
 */
import type { Observation } from 'fhir/r4.js';
import { LOINC, PROFILES, PROJECT_CODES, SNOMED, UCUM } from '../terminology.js';
import type { TemplateSet } from './engine.js';
import type { ObservationContext } from './measurements.js';
import { renderJson } from './render-json.js';
import type { CardiacForReport } from './types.js';

interface Concept {
  readonly key: string;
  readonly coding: { readonly system: string; readonly code: string; readonly display: string };
  readonly text: string;
  readonly unit: 'mL' | 'g' | '%';
  readonly site: 'lv' | 'rv';
  readonly value: (c: CardiacForReport) => number | undefined;
}

const loinc = (code: string, display: string): Concept['coding'] => ({ system: LOINC, code, display });

/** What is measured, in report order. */
export const CARDIAC_CONCEPTS: readonly Concept[] = [
  { key: 'lv-ef', coding: loinc('8811-2', 'Left ventricular ejection fraction by MR'), text: 'LV ejection fraction', unit: '%', site: 'lv', value: (c) => c.lvEfPercent },
  { key: 'lv-edv', coding: loinc('18026-5', 'Left Ventricular End Diastolic Volume'), text: 'LV end-diastolic volume', unit: 'mL', site: 'lv', value: (c) => c.lvEdvMl },
  { key: 'lv-esv', coding: loinc('18148-7', 'Left Ventricular End Systolic Volume'), text: 'LV end-systolic volume', unit: 'mL', site: 'lv', value: (c) => c.lvEsvMl },
  { key: 'lv-sv', coding: { system: SNOMED, code: '90096001', display: 'Stroke Volume' }, text: 'LV stroke volume', unit: 'mL', site: 'lv', value: (c) => c.lvSvMl },
  { key: 'lv-mass', coding: loinc('18087-7', 'Left Ventricle Mass'), text: 'LV myocardial mass', unit: 'g', site: 'lv', value: (c) => c.lvMassG },
  { key: 'rv-ef', coding: loinc('8818-7', 'Right ventricular ejection fraction by MR'), text: 'RV ejection fraction', unit: '%', site: 'rv', value: (c) => c.rvEfPercent },
  { key: 'rv-edv', coding: loinc('8822-9', 'Right Ventricular ED Volume'), text: 'RV end-diastolic volume', unit: 'mL', site: 'rv', value: (c) => c.rvEdvMl },
  { key: 'rv-esv', coding: loinc('8824-5', 'Right Ventricular ES Volume'), text: 'RV end-systolic volume', unit: 'mL', site: 'rv', value: (c) => c.rvEsvMl },
];

const SITES = {
  lv: { coding: [{ system: SNOMED, code: '87878005', display: 'Left Ventricle' }] },
  rv: { coding: [{ system: SNOMED, code: '53085002', display: 'Right ventricle' }] },
} as const;

/** Whole numbers: a segmentation at this resolution does not measure tenths of a mL or a percent. */
function valueText(v: number, unit: Concept['unit']): string {
  return `${Math.round(v)}${unit === '%' ? ' %' : ` ${unit}`}`;
}

/** The rows the card and report show: each measure that could be stated, with its text. */
export function cardiacRows(c: CardiacForReport): { key: string; text: string; valueText: string }[] {
  return CARDIAC_CONCEPTS.flatMap((k) => {
    const v = k.value(c);
    return v === undefined ? [] : [{ key: k.key, text: k.text, valueText: valueText(v, k.unit) }];
  });
}

/** The LVEF band sentence, as decision support. */
export function efBandText(c: CardiacForReport): string | null {
  if (c.lvEfPercent === undefined || c.lvEfBand === undefined) return null;
  const range = c.lvEfBand === 'reduced' ? '≤ 40 %' : c.lvEfBand === 'mildly reduced' ? '41–49 %' : '≥ 50 %';
  return `LV EF ${valueText(c.lvEfPercent, '%')} falls in the ${c.lvEfBand} band (${range}) of the 2021 ESC heart-failure guideline; the band alone is not a diagnosis of heart failure.`;
}

const MAX_SUMMARY = 139;

/** One sentence under 140 characters, flagged as preliminary. */
export function cardiacSummary(c: CardiacForReport): string {
  const ef = c.lvEfPercent === undefined ? 'LV EF not measurable' : `LV EF ${valueText(c.lvEfPercent, '%')}${c.lvEfBand === undefined ? '' : ` (${c.lvEfBand} range)`}`;
  const sentence = `Preliminary AI cardiac MRI: ${ef}, LV EDV ${valueText(c.lvEdvMl, 'mL')}; needs confirmation`;
  return sentence.length <= MAX_SUMMARY ? sentence : `${sentence.slice(0, MAX_SUMMARY - 1)}…`;
}

/** The DiagnosticReport conclusion. */
export function cardiacConclusion(c: CardiacForReport): string {
  const rows = cardiacRows(c).map((r) => `${r.text} ${r.valueText}`);
  const band = efBandText(c);
  return `Preliminary AI measurement from an automatic segmentation of a cine short-axis MR series, not a diagnosis; requires confirmation by a qualified clinician. ${rows.join('; ')}.${band === null ? '' : ` ${band}`}`;
}

/** A card is a warning when the LV EF falls in the reduced band, else information. */
export function cardiacIndicator(c: CardiacForReport): 'info' | 'warning' {
  return c.lvEfBand === 'reduced' ? 'warning' : 'info';
}

/** One Observation per stated measure (LOINC or SNOMED CT code, UCUM unit). */
export function cardiacObservations(templates: TemplateSet, c: CardiacForReport, ctx: ObservationContext): Observation[] {
  return CARDIAC_CONCEPTS.flatMap((k) => {
    const v = k.value(c);
    if (v === undefined) return [];
    return [
      renderJson<Observation>(templates, 'cardiac-observation.json', {
        id: ctx.idFor(k.key),
        identifier: ctx.identifierFor(k.key),
        systems: ctx.systems,
        profiles: PROFILES,
        refs: ctx.refs,
        coding: k.coding,
        codeText: k.text,
        effective: ctx.effective,
        issued: ctx.issued,
        value: Math.round(v * 10) / 10,
        unit: { unit: k.unit, system: UCUM, code: k.unit },
        bodySite: SITES[k.site],
        methodCoding: PROJECT_CODES.aiAlgorithm,
        methodText: ctx.methodText,
        note: `Measured by slice summation over ${c.sliceCount} slice positions (spacing ${c.sliceSpacingMm.toFixed(1)} mm) at end-diastole (phase ${c.edPhase} of ${c.phaseCount}) and end-systole (phase ${c.esPhase}).${k.key === 'lv-ef' ? ` ${efBandText(c) ?? ''}` : ''}${k.key === 'lv-mass' ? ' Myocardial volume at end-diastole × 1.05 g/mL.' : ''}`,
      }),
    ];
  });
}
