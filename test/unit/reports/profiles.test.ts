/**
 * Emitted DiagnosticReports and Observations conform to the published profiles
 * (fhir-resources/StructureDefinition-*.json), checked by medplum's validator with the profile
 * (snapshot built by test/support/profile-snapshot.ts), and the checker is shown to catch the
 * violations the profiles exist for.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Observation, Resource, StructureDefinition } from 'fhir/r4.js';
import { loadTemplates } from '../../../src/reports/engine.js';
import { renderResult } from '../../../src/reports/render.js';
import { PROFILES } from '../../../src/terminology.js';
import { validateR4 } from '../../support/fhir-validator.js';
import { withSnapshot } from '../../support/profile-snapshot.js';

const { validateResource, OperationOutcomeError } = await import('@medplum/core');

const read = (file: string): StructureDefinition => JSON.parse(readFileSync(`fhir-resources/${file}`, 'utf8')) as StructureDefinition;
const reportProfile = read('StructureDefinition-ai-preliminary-diagnostic-report.json');
const observationProfile = read('StructureDefinition-ai-finding-observation.json');
const measurementProfile = read('StructureDefinition-ai-measurement-observation.json');

function problems(resource: Resource, profile: StructureDefinition): string[] {
  validateR4(resource); // indexes the R4 definitions medplum needs
  try {
    return validateResource(resource as never, { profile: withSnapshot(profile) as never }).filter((i) => i.severity === 'error').map((i) => `${i.expression?.join(',') ?? ''}: ${i.details?.text ?? ''}`);
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err.outcome.issue.map((i) => `${i.expression?.join(',') ?? ''}: ${i.details?.text ?? ''}`);
    throw err;
  }
}

const templates = loadTemplates(path.resolve('templates'));
const rendered = renderResult(templates, {
  subject: { patientReference: 'Patient/p1', imagingStudyReference: 'ImagingStudy/s1', serviceRequestReference: undefined, studyInstanceUid: '1.2.3', studyDescription: 'XR chest', studyDate: '2026-11-20T10:00:00Z' },
  series: { seriesInstanceUid: '1.2.3.4', description: 'AP', modality: 'DX', bodyPart: 'CHEST', viewPosition: 'AP', imageCount: 1, selectionReason: 'chest radiograph' },
  model: { id: 'pneumonia-cxr-28', version: '1.0.0', name: 'Pneumonia CXR', manufacturer: 'imaging-cds', task: 'classification', intendedUse: 'research', templates: { card: 'classification-card', report: 'classification-report' }, performance: 'AUC 0.98' },
  findings: [{ key: 'pneumonia', display: 'Pneumonia', codes: [{ system: 'http://snomed.info/sct', code: '233604007', display: 'Pneumonia' }], probability: 0.9, threshold: 0.5, reviewBand: [0.4, 0.6], interpretation: 'positive', needsReview: false, urgency: 'warning' }],
  measurements: [],
  issued: '2026-11-23T12:00:00.000Z',
  viewerUrl: undefined,
});
const observation = rendered.observations[0] as Observation;

describe('published profiles', () => {
  it('are valid R4 StructureDefinitions whose URLs the emitted resources claim', () => {
    expect(validateR4(reportProfile)).toEqual([]);
    expect(validateR4(observationProfile)).toEqual([]);
    expect(reportProfile.url).toBe(PROFILES.diagnosticReport);
    expect(observationProfile.url).toBe(PROFILES.observation);
    expect(rendered.diagnosticReport.meta?.profile).toEqual([PROFILES.diagnosticReport]);
    expect(observation.meta?.profile).toEqual([PROFILES.observation]);
  });

  it('accept the emitted DiagnosticReport and Observation', () => {
    expect(problems(rendered.diagnosticReport, reportProfile)).toEqual([]);
    expect(problems(observation, observationProfile)).toEqual([]);
    // Not patterned in the profiles (see category.short): asserted here instead.
    expect(rendered.diagnosticReport.category?.[0]?.coding?.[0]).toMatchObject({ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'RAD' });
    expect(observation.category?.[0]?.coding?.[0]).toMatchObject({ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'imaging' });
  });

  it('refuse a final report, and a report without results', () => {
    expect(problems({ ...rendered.diagnosticReport, status: 'final' } as Resource, reportProfile).join('\n')).toMatch(/status/);
    const { result: _r, ...noResult } = rendered.diagnosticReport;
    expect(problems(noResult as Resource, reportProfile).join('\n')).toMatch(/result/);
  });

  it('refuse an Observation without the probability component, or without the Device', () => {
    const noProbability = { ...observation, component: observation.component?.slice(1) };
    expect(problems(noProbability as Resource, observationProfile).length).toBeGreaterThan(0);
    const { device: _d, ...noDevice } = observation;
    expect(problems(noDevice as Resource, observationProfile).join('\n')).toMatch(/device/);
  });

  it('accept the emitted measurement Observation of a segmentation model, and refuse one without its threshold', () => {
    expect(validateR4(measurementProfile)).toEqual([]);
    expect(measurementProfile.url).toBe(PROFILES.measurement);
    const segmented = renderResult(templates, {
      subject: { patientReference: 'Patient/p1', imagingStudyReference: 'ImagingStudy/s2', serviceRequestReference: undefined, studyInstanceUid: '1.2.4', studyDescription: 'Fundus', studyDate: undefined },
      series: { seriesInstanceUid: '1.2.4.1', description: 'OD', modality: 'OP', bodyPart: 'EYE', viewPosition: undefined, imageCount: 1, selectionReason: 'fundus photograph' },
      model: { id: 'retina-vessels-drive', version: '1.0.0', name: 'Vessels', manufacturer: 'imaging-cds', task: 'segmentation', intendedUse: 'research', templates: { card: 'segmentation-card', report: 'segmentation-report' }, performance: 'Dice 0.8' },
      findings: [],
      measurements: [{ key: 'vessel', display: 'Retinal blood vessels', codes: [{ system: 'http://imaging-cds.org/fhir/CodeSystem/imaging-cds', code: 'retinal-vessels', display: 'Retinal blood vessels' }], threshold: 0.5, fractionOfFieldOfView: 0.12, fieldOfViewFraction: 0.7, areaMm2: 3.2 }],
      issued: '2026-11-23T12:00:00.000Z',
      viewerUrl: undefined,
    });
    const measurement = segmented.observations[0] as Observation;
    expect(problems(measurement, measurementProfile)).toEqual([]);
    expect(problems(segmented.diagnosticReport, reportProfile)).toEqual([]);
    const noThreshold = { ...measurement, component: measurement.component?.slice(1) };
    expect(problems(noThreshold as Resource, measurementProfile).length).toBeGreaterThan(0);
  });

  it('accept the emitted cardiac Observations, and refuse one without its body site or with components', () => {
    const cardiacProfile = read('StructureDefinition-ai-cardiac-measurement-observation.json');
    expect(validateR4(cardiacProfile)).toEqual([]);
    expect(cardiacProfile.url).toBe(PROFILES.cardiacMeasurement);
    const cardiac = renderResult(templates, {
      subject: { patientReference: 'Patient/p1', imagingStudyReference: 'ImagingStudy/s3', serviceRequestReference: undefined, studyInstanceUid: '1.2.5', studyDescription: 'Cardiac MRI', studyDate: undefined },
      series: { seriesInstanceUid: '1.2.5.1', description: 'SAX cine', modality: 'MR', bodyPart: 'HEART', viewPosition: undefined, imageCount: 20, selectionReason: 'cine' },
      model: { id: 'cardiac-mri-sax-seg', version: '1.0.0', name: 'Cardiac', manufacturer: 'imaging-cds', task: 'segmentation', intendedUse: 'research', templates: { card: 'cardiac-card', report: 'cardiac-report' }, performance: 'EF MAE 2.7' },
      findings: [],
      measurements: [],
      cardiac: { lvEdvMl: 150, lvEsvMl: 60, lvSvMl: 90, lvEfPercent: 60, lvMassG: 110, rvEdvMl: 160, rvEsvMl: 70, rvEfPercent: 56.25, lvEfBand: 'preserved', edPhase: 1, esPhase: 2, phaseCount: 2, sliceCount: 10, sliceSpacingMm: 10, pixelSpacingMm: [1.5, 1.5] },
      issued: '2026-11-23T12:00:00.000Z',
      viewerUrl: undefined,
    });
    expect(cardiac.observations).toHaveLength(8);
    for (const o of cardiac.observations) {
      expect(o.meta?.profile).toEqual([PROFILES.cardiacMeasurement]);
      expect(problems(o, cardiacProfile)).toEqual([]);
    }
    const first = cardiac.observations[0] as Observation;
    const { bodySite: _b, ...noSite } = first;
    expect(problems(noSite as Resource, cardiacProfile).join('\n')).toMatch(/bodySite/);
    expect(problems({ ...first, component: [{ code: { text: 'x' }, valueString: 'y' }] } as Resource, cardiacProfile).length).toBeGreaterThan(0);
    expect(problems(cardiac.diagnosticReport, reportProfile)).toEqual([]);
  });
});
