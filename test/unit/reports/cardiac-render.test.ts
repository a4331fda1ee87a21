/**
 * The cardiac result's card, DiagnosticReport and Observations: LOINC / SNOMED CT codes with UCUM
 * units, the LVEF guideline band as decision support, the preliminary statement, the PACS objects
 * named by UID, and every resource valid R4.
 */
import path from 'node:path';
import { validateCdsResponse } from '../../../src/cds-hooks/response-schema.js';
import { cardiacSummary, efBandText } from '../../../src/reports/cardiac.js';
import { loadTemplates } from '../../../src/reports/engine.js';
import { renderResult } from '../../../src/reports/render.js';
import type { CardiacForReport, RenderInput } from '../../../src/reports/types.js';
import { validateR4 } from '../../support/fhir-validator.js';

const templates = loadTemplates(path.resolve('templates'));

const cardiac = (over: Partial<CardiacForReport> = {}): CardiacForReport => ({
  lvEdvMl: 151.26,
  lvEsvMl: 98.4,
  lvSvMl: 52.86,
  lvEfPercent: 34.95,
  lvMassG: 120.4,
  rvEdvMl: 160.2,
  rvEsvMl: 80.1,
  rvEfPercent: 50,
  lvEfBand: 'reduced',
  edPhase: 1,
  esPhase: 12,
  phaseCount: 25,
  sliceCount: 9,
  sliceSpacingMm: 10,
  pixelSpacingMm: [1.5, 1.5],
  ...over,
});

function input(over: Partial<RenderInput> = {}): RenderInput {
  return {
    subject: { patientReference: 'Patient/p1', imagingStudyReference: 'ImagingStudy/s1', serviceRequestReference: undefined, studyInstanceUid: '1.2.826.0.1.3680043.8.498.9', studyDescription: 'Cardiac MRI', studyDate: '2026-11-20T10:00:00Z' },
    series: { seriesInstanceUid: '1.2.3.9', description: 'SAX cine', modality: 'MR', bodyPart: 'HEART', viewPosition: undefined, imageCount: 225, selectionReason: 'cine' },
    model: {
      id: 'cardiac-mri-sax-seg',
      version: '1.0.0',
      name: 'Cardiac segmentation',
      manufacturer: 'imaging-cds project',
      task: 'segmentation',
      intendedUse: 'Research decision support. Not for clinical use.',
      templates: { card: 'cardiac-card', report: 'cardiac-report' },
      performance: 'LV EF mean absolute error 9.4 points.',
    },
    findings: [],
    measurements: [],
    cardiac: cardiac(),
    issued: '2026-11-23T12:00:00.000Z',
    viewerUrl: undefined,
    ...over,
  };
}

describe('cardiac result rendering', () => {
  it('states the EF and its guideline band as preliminary decision support, and warns for a reduced EF', () => {
    const { card } = renderResult(templates, input());
    expect(card.summary).toBe('Preliminary AI cardiac MRI: LV EF 35 % (reduced range), LV EDV 151 mL; needs confirmation');
    expect(card.summary.length).toBeLessThan(140);
    expect(card.indicator).toBe('warning');
    expect(card.detail).toContain('not a diagnosis');
    expect(card.detail).toContain('| LV ejection fraction | 35 % |');
    expect(card.detail).toContain('reduced band (≤ 40 %) of the 2021 ESC heart-failure guideline');
    expect(card.detail).toContain('LV EF mean absolute error 9.4 points');
    expect(validateCdsResponse({ cards: [card] })).toEqual([]);
    expect(renderResult(templates, input({ cardiac: cardiac({ lvEfPercent: 61, lvEfBand: 'preserved' }) })).card.indicator).toBe('info');
  });

  it('makes one Observation per measure with its LOINC or SNOMED CT code and UCUM unit, all valid R4', () => {
    const result = renderResult(templates, input());
    const byCode = new Map(result.observations.map((o) => [o.code.coding?.[0]?.code, o]));
    expect([...byCode.keys()]).toEqual(['8811-2', '18026-5', '18148-7', '90096001', '18087-7', '8818-7', '8822-9', '8824-5']);
    expect(byCode.get('8811-2')?.valueQuantity).toEqual({ value: 35, unit: '%', system: 'http://unitsofmeasure.org', code: '%' });
    expect(byCode.get('18026-5')?.valueQuantity).toEqual({ value: 151.3, unit: 'mL', system: 'http://unitsofmeasure.org', code: 'mL' });
    expect(byCode.get('18087-7')?.valueQuantity?.code).toBe('g');
    expect(byCode.get('8822-9')?.bodySite?.coding?.[0]?.code).toBe('53085002');
    for (const o of result.observations) expect(o.status).toBe('preliminary');
    expect(result.diagnosticReport.result).toHaveLength(8);
    for (const r of [result.diagnosticReport, result.device, result.provenance, ...result.observations]) {
      expect({ resourceType: r.resourceType, problems: validateR4(r) }).toEqual({ resourceType: r.resourceType, problems: [] });
    }
  });

  it('leaves out what could not be measured instead of stating 0 %', () => {
    const result = renderResult(templates, input({ cardiac: cardiac({ lvEfPercent: undefined, lvEfBand: undefined, rvEfPercent: undefined }) }));
    expect(result.observations.map((o) => o.code.coding?.[0]?.code)).not.toContain('8811-2');
    expect(result.card.summary).toContain('LV EF not measurable');
    expect(efBandText(cardiac({ lvEfPercent: undefined }))).toBeNull();
  });

  it('names the SEG and SR stored in the PACS: the report carries the SR UID as an identifier', () => {
    const pacsObjects = { segSeriesInstanceUid: '2.25.1', segSopInstanceUid: '2.25.2', srSeriesInstanceUid: '2.25.3', srSopInstanceUid: '2.25.4' };
    const result = renderResult(templates, input({ pacsObjects }));
    expect(result.diagnosticReport.identifier).toContainEqual({ system: 'urn:dicom:uid', value: 'urn:oid:2.25.4' });
    expect(result.card.detail).toContain('series 2.25.1');
    expect(Buffer.from(result.diagnosticReport.presentedForm?.[0]?.data ?? '', 'base64').toString('utf8')).toContain('DICOM measurement report 2.25.4');
    expect(validateR4(result.diagnosticReport)).toEqual([]);
  });

  it('keeps the summary under 140 characters for every band', () => {
    for (const band of ['reduced', 'mildly reduced', 'preserved'] as const) expect(cardiacSummary(cardiac({ lvEfBand: band, lvEdvMl: 12345 })).length).toBeLessThan(140);
  });
});
