/**
 * A classifier result on an image the unfamiliar-image check flagged: the card says first, and
 * prominently, "Unlike the images this model was validated on: review required" and is at least
 * a warning; the finding's Observation adds Indeterminate (v3 ObservationInterpretation IND)
 * with the reason and says it in its note; the DiagnosticReport's conclusion says it and carries
 * no coded finding. A verdict that did not flag changes nothing.
 */
import path from 'node:path';
import { loadTemplates } from '../../../src/reports/engine.js';
import { composeSummary, indicatorOf } from '../../../src/reports/finding-text.js';
import { renderResult } from '../../../src/reports/render.js';
import type { Finding, RenderInput } from '../../../src/reports/types.js';
import { validateCdsResponse } from '../../../src/cds-hooks/response-schema.js';
import { validateR4 } from '../../support/fhir-validator.js';

const templates = loadTemplates(path.resolve('templates'));
const UNLIKE = 'Unlike the images this model was validated on: review required';
const V3 = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
const FLAGGED = { distance: 14.23, threshold: 10.0863, flagged: true } as const;
const NOT_FLAGGED = { distance: 6.1, threshold: 10.0863, flagged: false } as const;

const finding = (over: Partial<Finding> = {}): Finding => ({
  key: 'pneumonia',
  display: 'Pneumonia',
  codes: [{ system: 'http://snomed.info/sct', code: '233604007', display: 'Pneumonia' }],
  probability: 0.873,
  threshold: 0.5,
  reviewBand: [0.35, 0.65],
  interpretation: 'positive',
  needsReview: false,
  urgency: 'warning',
  ...over,
});

function input(findings: Finding[]): RenderInput {
  return {
    subject: { patientReference: 'Patient/p1', imagingStudyReference: 'ImagingStudy/s1', serviceRequestReference: undefined, studyInstanceUid: '1.2.826.0.1.3680043.8.498.9', studyDescription: 'XR CHEST AP', studyDate: '2026-11-20T10:00:00Z' },
    series: { seriesInstanceUid: '1.2.3.4', description: 'Chest AP', modality: 'DX', bodyPart: 'CHEST', viewPosition: 'AP', imageCount: 1, selectionReason: 'DX chest AP' },
    model: { id: 'pneumonia-cxr-28', version: '1.0.0', name: 'Paediatric pneumonia classifier', manufacturer: 'imaging-cds project', task: 'classification', intendedUse: 'Research', templates: { card: 'classification-card', report: 'classification-report' }, performance: 'Test AUC 0.96.' },
    findings,
    measurements: [],
    issued: '2026-11-23T12:00:00.000Z',
    viewerUrl: undefined,
  };
}

function expectAllValid(result: ReturnType<typeof renderResult>): void {
  expect(validateCdsResponse({ cards: [result.card] })).toEqual([]);
  for (const r of [result.diagnosticReport, ...result.observations, result.device, result.provenance]) {
    expect({ resourceType: r.resourceType, problems: validateR4(r) }).toEqual({ resourceType: r.resourceType, problems: [] });
  }
}

describe('a result on an unfamiliar image', () => {
  it('says so first on the card, as a warning even when nothing is suspected', () => {
    const result = renderResult(templates, input([finding({ probability: 0.05, interpretation: 'negative', unfamiliar: FLAGGED })]));
    expectAllValid(result);
    expect(result.card.indicator).toBe('warning');
    expect(result.card.summary).toBe(`${UNLIKE}. Preliminary AI: no pneumonia suspected; needs confirmation`);
    expect(result.card.summary.length).toBeLessThan(140);
    // The first line of the detail, in bold, with the numbers.
    expect(result.card.detail?.split('\n')[0]).toBe(`**${UNLIKE}. The image's features are farther from the model's training images than the model's validated limit (Mahalanobis distance 14.2, limit 10.1), so the AI probability may not mean for this image what it meant in validation.**`);
  });

  it('keeps a critical finding critical and a positive one from reading as a confident finding', () => {
    expect(indicatorOf([finding({ urgency: 'critical', unfamiliar: FLAGGED })])).toBe('critical');
    const summary = composeSummary([finding({ unfamiliar: FLAGGED })]);
    expect(summary.startsWith(`${UNLIKE}. Preliminary AI: possible pneumonia (87.3%)`)).toBe(true);
  });

  it('adds Indeterminate with the reason to the Observation and says it in the note', () => {
    const result = renderResult(templates, input([finding({ unfamiliar: FLAGGED })]));
    expectAllValid(result);
    const obs = result.observations[0];
    expect(obs?.interpretation).toEqual([
      { coding: [{ system: V3, code: 'POS', display: 'Positive' }] },
      { coding: [{ system: V3, code: 'IND', display: 'Indeterminate' }], text: UNLIKE },
    ]);
    expect(obs?.note?.[0]?.text).toMatch(new RegExp(`^${UNLIKE}\\. `));
    expect(obs?.note?.[0]?.text).toContain('Pneumonia: suspected (above threshold)');
  });

  it('gives a review-band finding one Indeterminate entry, with the reason', () => {
    const result = renderResult(templates, input([finding({ probability: 0.48, interpretation: 'negative', needsReview: true, unfamiliar: FLAGGED })]));
    expectAllValid(result);
    expect(result.observations[0]?.interpretation).toEqual([{ coding: [{ system: V3, code: 'IND', display: 'Indeterminate' }], text: UNLIKE }]);
  });

  it('says so in the DiagnosticReport conclusion and narrative, with no coded finding', () => {
    const result = renderResult(templates, input([finding({ unfamiliar: FLAGGED })]));
    expect(result.diagnosticReport.conclusion).toMatch(new RegExp(`^${UNLIKE}\\. .*Preliminary AI result, not a diagnosis; .*Pneumonia: suspected`));
    expect(result.diagnosticReport.conclusionCode).toBeUndefined();
    expect(result.diagnosticReport.text?.div).toContain(`<p><b>${UNLIKE}.`);
  });

  it('renders exactly as without a verdict when the image was not flagged', () => {
    for (const f of [finding(), finding({ probability: 0.05, interpretation: 'negative' }), finding({ probability: 0.48, interpretation: 'negative', needsReview: true })]) {
      const plain = renderResult(templates, input([f]));
      const checked = renderResult(templates, input([{ ...f, unfamiliar: NOT_FLAGGED }]));
      expect(checked).toEqual(plain);
    }
  });
});
