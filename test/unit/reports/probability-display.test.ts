/**
 * Probabilities are shown to people with a cap: `> 99%` and `< 1%` instead of "100.0%" and
 * "0.0%", one decimal in between, and the same words in the card, the DiagnosticReport
 * conclusion, the presented form and the finding's Observation note.
 */
import path from 'node:path';
import { loadTemplates, percent } from '../../../src/reports/engine.js';
import { findingLine, findingNote, findingsConclusion } from '../../../src/reports/finding-text.js';
import { renderResult } from '../../../src/reports/render.js';
import type { Finding, RenderInput } from '../../../src/reports/types.js';
import { validateR4 } from '../../support/fhir-validator.js';

const templates = loadTemplates(path.resolve('templates'));

const finding = (over: Partial<Finding> = {}): Finding => ({
  key: 'pneumonia',
  display: 'Pneumonia',
  codes: [{ system: 'http://snomed.info/sct', code: '233604007', display: 'Pneumonia' }],
  probability: 0.873,
  threshold: 0.7656,
  reviewBand: [0.499, 0.9146],
  interpretation: 'positive',
  needsReview: false,
  urgency: 'warning',
  ...over,
});

function input(f: Finding): RenderInput {
  return {
    subject: {
      patientReference: 'Patient/p1',
      imagingStudyReference: 'ImagingStudy/s1',
      serviceRequestReference: undefined,
      studyInstanceUid: '1.2.826.0.1.3680043.8.498.1',
      studyDescription: 'Chest AP',
      studyDate: '2026-11-20T10:00:00Z',
    },
    series: { seriesInstanceUid: '1.2.3.4', description: 'Chest AP', modality: 'DX', bodyPart: 'CHEST', viewPosition: 'AP', imageCount: 1, selectionReason: 'first' },
    model: {
      id: 'pneumonia-cxr-224',
      version: '1.0.0',
      name: 'Paediatric pneumonia classifier',
      manufacturer: 'imaging-cds project',
      task: 'classification',
      intendedUse: 'Research decision support',
      templates: { card: 'classification-card', report: 'classification-report' },
      performance: 'Test AUC 0.973',
    },
    findings: [f],
    measurements: [],
    issued: '2026-11-23T12:00:00.000Z',
    viewerUrl: undefined,
  };
}

describe('probability display', () => {
  it.each([
    [1, '> 99%'],
    [0.99996, '> 99%'],
    [0.9901, '> 99%'],
    [0.99, '99.0%'],
    [0.873, '87.3%'],
    [0.7656, '76.6%'],
    [0.01, '1.0%'],
    [0.0099, '< 1%'],
    [0.00004, '< 1%'],
    [0, '< 1%'],
  ])('percent(%p) is %p', (p, text) => {
    expect(percent(p)).toBe(text);
  });

  it('refuses what is not a number', () => {
    expect(() => percent(Number.NaN)).toThrow('percent: not a number');
    expect(() => percent('0.5')).toThrow('percent: not a number');
  });

  it('a near-certain finding reads "> 99%" in the card, the conclusion, the presented form and the Observation note', () => {
    const f = finding({ probability: 0.99996 });
    const result = renderResult(templates, input(f));
    const line = 'Pneumonia: suspected (above threshold), AI probability > 99% (threshold 76.6%)';
    expect(findingLine(f)).toBe(line);
    expect(result.card.summary).toBe('Preliminary AI: possible pneumonia (> 99%); needs confirmation');
    expect(result.card.detail).toContain('| Pneumonia | > 99% | 76.6% |');
    expect(result.diagnosticReport.conclusion).toBe(findingsConclusion([f]));
    expect(result.diagnosticReport.conclusion).toContain(line);
    expect(result.observations[0]?.note).toEqual([{ text: findingNote(f) }]);
    expect(findingNote(f)).toBe(`Preliminary AI result; requires confirmation by a qualified clinician. ${line}.`);
    const html = Buffer.from(result.diagnosticReport.presentedForm?.[0]?.data ?? '', 'base64').toString('utf8');
    expect(html).toContain('<td>&gt; 99%</td>');
    const everything = JSON.stringify([result.card, result.diagnosticReport, result.observations]) + html;
    expect(everything).not.toContain('100.0%');
    // The Observation's probability component keeps the number itself.
    expect(result.observations[0]?.component?.[0]?.valueQuantity?.value).toBe(100);
    for (const o of result.observations) expect(validateR4(o)).toEqual([]);
  });

  it('a near-zero finding reads "< 1%" everywhere, never "0.0%"', () => {
    const f = finding({ probability: 0.0004, interpretation: 'negative' });
    const result = renderResult(templates, input(f));
    expect(result.card.detail).toContain('| Pneumonia | < 1% | 76.6% | Not suspected (below threshold) |');
    expect(result.diagnosticReport.conclusion).toContain('Pneumonia: not suspected (below threshold), AI probability < 1% (threshold 76.6%)');
    expect(result.observations[0]?.note?.[0]?.text).toContain('AI probability < 1% (threshold 76.6%)');
    const html = Buffer.from(result.diagnosticReport.presentedForm?.[0]?.data ?? '', 'base64').toString('utf8');
    expect(html).toContain('<td>&lt; 1%</td>');
    expect(JSON.stringify([result.card, result.diagnosticReport, result.observations]) + html).not.toContain('0.0%');
  });
});
