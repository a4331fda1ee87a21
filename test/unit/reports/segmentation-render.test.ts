import { createHash } from 'node:crypto';
import path from 'node:path';
import { decode } from 'fast-png';
import { loadTemplates } from '../../../src/reports/engine.js';
import { areaText, fractionText, measurementSummary } from '../../../src/reports/measurements.js';
import { heatColour, overlayPng } from '../../../src/reports/overlay.js';
import { renderResult } from '../../../src/reports/render.js';
import type { Measurement, RenderInput, ReportOverlay } from '../../../src/reports/types.js';
import { PROFILES } from '../../../src/terminology.js';
import { validateCdsResponse } from '../../../src/cds-hooks/response-schema.js';
import { validateR4 } from '../../support/fhir-validator.js';

const templates = loadTemplates(path.resolve('templates'));

const vessels = (over: Partial<Measurement> = {}): Measurement => ({
  key: 'vessel',
  display: 'Retinal blood vessels',
  codes: [{ system: 'http://imaging-cds.org/fhir/CodeSystem/imaging-cds', code: 'retinal-vessels', display: 'Retinal blood vessels' }],
  threshold: 0.45,
  fractionOfFieldOfView: 0.1234,
  fieldOfViewFraction: 0.7021,
  areaMm2: 12.345,
  ...over,
});

/** A 4×2 grey image with the left half masked. */
function maskOverlay(): ReportOverlay {
  const base = { width: 4, height: 2, channels: 1 as const, data: Float32Array.from([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]) };
  const png = overlayPng(base, { kind: 'mask', values: Float32Array.from([0.9, 0.9, 0.1, 0.1, 0.9, 0.9, 0.1, 0.1]), threshold: 0.5 });
  return { kind: 'mask', title: 'AI segmentation overlay: Retinal blood vessels', method: 'Pixels the model labels retinal blood vessels.', png: Buffer.from(png).toString('base64'), width: 4, height: 2 };
}

function input(over: Partial<RenderInput> = {}): RenderInput {
  return {
    subject: {
      patientReference: 'Patient/p1',
      imagingStudyReference: 'ImagingStudy/s1',
      serviceRequestReference: undefined,
      studyInstanceUid: '1.2.826.0.1.3680043.8.498.2',
      studyDescription: 'Fundus photography',
      studyDate: '2026-11-20T10:00:00Z',
    },
    series: { seriesInstanceUid: '1.2.3.5', description: 'Right eye', modality: 'OP', bodyPart: 'EYE', viewPosition: undefined, imageCount: 1, selectionReason: 'fundus photograph' },
    model: {
      id: 'retina-vessels-drive',
      version: '1.0.0',
      name: 'Retinal vessel segmentation',
      manufacturer: 'imaging-cds project',
      task: 'segmentation',
      intendedUse: 'Research decision support. Not for clinical use.',
      templates: { card: 'segmentation-card', report: 'segmentation-report' },
      performance: 'Test Dice 0.80.',
    },
    findings: [],
    measurements: [vessels()],
    overlay: maskOverlay(),
    issued: '2026-11-23T12:00:00.000Z',
    viewerUrl: undefined,
    ...over,
  };
}

describe('segmentation report rendering', () => {
  it('renders measurements into a valid info card and valid R4 resources', () => {
    const result = renderResult(templates, input());
    expect(validateCdsResponse({ cards: [result.card] })).toEqual([]);
    for (const r of [result.diagnosticReport, ...result.observations, result.device, result.provenance]) {
      expect({ resourceType: r.resourceType, problems: validateR4(r) }).toEqual({ resourceType: r.resourceType, problems: [] });
    }
    expect(result.card.indicator).toBe('info');
    expect(result.card.summary).toBe('Preliminary AI measurement: retinal blood vessels 12.3% of field of view; needs confirmation');
    expect(result.card.detail).toContain('| Retinal blood vessels | 12.3% | 12.3 mm² |');
    expect(result.card.detail).toContain('the field of view covers 70.2% of the image');
    expect(result.card.detail).toContain('Attached to the report: AI segmentation overlay');
    expect(result.diagnosticReport.conclusion).toMatch(/^Preliminary AI measurement from an automatic segmentation, not a diagnosis/);
    expect(result.diagnosticReport.conclusionCode).toBeUndefined();
  });

  it('offers measurement override reasons, not finding ones, on a measurement card', () => {
    const codes = (renderResult(templates, input()).card.overrideReasons ?? []).map((r) => r.code);
    expect(codes).toContain('disagree-with-measurement');
    expect(codes).not.toContain('disagree-with-finding');
  });

  it('states the measurement as a UCUM quantity with threshold, field of view and area components', () => {
    const [obs] = renderResult(templates, input()).observations;
    expect(obs?.meta?.profile).toEqual([PROFILES.measurement]);
    expect(obs?.valueQuantity).toEqual({ value: 12.34, unit: '% of field of view', system: 'http://unitsofmeasure.org', code: '%' });
    expect(obs?.component?.map((c) => [c.code.coding?.[0]?.code, c.valueQuantity?.value, c.valueQuantity?.code])).toEqual([
      ['ai-decision-threshold', 45, '%'],
      ['ai-field-of-view-fraction', 70.21, '%'],
      ['ai-segmented-area', 12.35, 'mm2'],
    ]);
    expect(obs?.interpretation).toBeUndefined();
  });

  it('states the manifest measurement error in the card, the report and the Observation, and nothing when there is none', () => {
    const error = { meanAbsolute: 0.0187, bias: -0.0176, basis: 'DRIVE test images' };
    const result = renderResult(templates, input({ measurements: [vessels({ error })] }));
    expect(validateCdsResponse({ cards: [result.card] })).toEqual([]);
    const text = '±1.9 percentage points (mean absolute error against a manual annotation; on average 1.8 points lower; DRIVE test images)';
    expect(result.card.detail).toContain(`\n- Measurement error (Retinal blood vessels): ${text}.\n`);
    expect(result.diagnosticReport.text?.div).toContain(`Measurement error (Retinal blood vessels): ${text}.`);
    const [obs] = result.observations;
    expect(obs?.note?.[1]).toEqual({ text: `Measurement error of this share: ${text}.` });
    expect(validateR4(obs as NonNullable<typeof obs>)).toEqual([]);
    const none = renderResult(templates, input());
    expect(none.card.detail).not.toContain('Measurement error');
    expect(none.observations[0]?.note).toHaveLength(1);
  });

  it('leaves the area component out when the image stated no pixel spacing, but keeps an area of 0', () => {
    const noSpacing = renderResult(templates, input({ measurements: [vessels({ areaMm2: undefined })] }));
    expect(noSpacing.observations[0]?.component?.map((c) => c.code.coding?.[0]?.code)).toEqual(['ai-decision-threshold', 'ai-field-of-view-fraction']);
    expect(noSpacing.card.detail).toContain('not stated (no pixel spacing in the image)');
    const zero = renderResult(templates, input({ measurements: [vessels({ areaMm2: 0, fractionOfFieldOfView: 0 })] }));
    expect(zero.observations[0]?.component?.[2]?.valueQuantity?.value).toBe(0);
  });

  it('attaches the overlay PNG as a second presented form with exact size and hash', () => {
    const forms = renderResult(templates, input()).diagnosticReport.presentedForm ?? [];
    expect(forms.map((f) => f.contentType)).toEqual(['text/html; charset=utf-8', 'image/png']);
    const png = Buffer.from(forms[1]?.data ?? '', 'base64');
    expect(forms[1]?.size).toBe(png.length);
    expect(forms[1]?.hash).toBe(createHash('sha1').update(png).digest('base64'));
    expect(forms[1]?.title).toContain('not a diagnosis');
    // Without a map there is only the HTML report.
    expect(renderResult(templates, input({ overlay: undefined })).diagnosticReport.presentedForm).toHaveLength(1);
  });

  it('formats fractions and areas for reading, and keeps the summary under 140 characters', () => {
    expect(fractionText(0.1234)).toBe('12.3%');
    expect(fractionText(0)).toBe('0.0%');
    expect([areaText(0.842), areaText(12.64), areaText(1234.4)]).toEqual(['0.84 mm²', '12.6 mm²', '1,234 mm²']);
    const many = Array.from({ length: 6 }, (_, i) => vessels({ key: `k${i}`, display: `A rather long structure name ${i}` }));
    expect(measurementSummary(many).length).toBeLessThan(140);
  });
});

describe('overlayPng', () => {
  it('paints masked pixels green over the grey image and leaves the rest grey', () => {
    const img = decode(Buffer.from(maskOverlay().png, 'base64'));
    expect([img.width, img.height, img.channels, img.depth]).toEqual([4, 2, 3, 8]);
    const px = (i: number): number[] => Array.from(img.data.slice(3 * i, 3 * i + 3));
    // 0.4 · grey 127.5 + 0.6 · (0, 230, 64), rounded
    expect(px(0)).toEqual([51, 189, 89]);
    expect(px(2)).toEqual([128, 128, 128]);
  });

  it('blends the heat colour in proportion to saliency and leaves weak saliency clear', () => {
    const base = { width: 3, height: 1, channels: 3 as const, data: Float32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1]) };
    const img = decode(overlayPng(base, { kind: 'saliency', values: Float32Array.from([1, 0.1, 0]) }));
    const [r, g, b] = heatColour(1).map((c) => Math.round(0.6 * c));
    expect(Array.from(img.data.slice(0, 3))).toEqual([r, g, b]);
    expect(Array.from(img.data.slice(3, 6))).toEqual([0, 0, 0]);
    expect(Array.from(img.data.slice(6, 9))).toEqual([255, 255, 255]);
  });

  it('refuses a map whose size differs from the image', () => {
    expect(() => overlayPng({ width: 2, height: 2, channels: 1, data: new Float32Array(4) }, { kind: 'mask', values: new Float32Array(3) })).toThrow(RangeError);
  });
});
