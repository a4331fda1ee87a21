/**
 * The analysis side of results back to the PACS, with a fake store: what a cine result and a
 * one-image segmentation hand over (masks per source image, measurements by kind), what comes back
 * onto the result, and when nothing is stored.
 */
import type { CineAnalysis, ImageMasks } from '../../../src/analysis/cine-analysis.js';
import type { CineStudyResult } from '../../../src/analysis/cine-study.js';
import { withPacsObjects, withPacsObjectsOfImage, type PacsResultStore, type SegmentationForPacs } from '../../../src/analysis/pacs-results.js';
import type { ModelStudyResult, StudyToAnalyse } from '../../../src/analysis/types.js';

const OBJECTS = { segSeriesInstanceUid: '2.25.1', segSopInstanceUid: '2.25.2', srSeriesInstanceUid: '2.25.3', srSopInstanceUid: '2.25.4' };
const study: StudyToAnalyse = { domain: 'd', studyInstanceUid: '1.2', series: [] };
const masks = (sop: string): ImageMasks => ({ sopInstanceUid: sop, width: 2, height: 2, planes: [new Uint8Array(4), new Uint8Array(4), Uint8Array.from([1, 0, 0, 0])] });

const base = (over: Partial<ModelStudyResult> = {}): ModelStudyResult => ({
  studyInstanceUid: '1.2',
  model: { id: 'cardiac-mri-sax-seg', version: '1.0.0', name: 'Cardiac', manufacturer: 'x', task: 'segmentation', intendedUse: 'u', templates: { card: 'c', report: 'r' }, performance: 'p' },
  series: { seriesInstanceUid: '1.2.3', description: undefined, modality: 'MR', bodyPart: undefined, viewPosition: undefined, imageCount: 4, selectionReason: 's' },
  findings: [],
  measurements: [],
  inferenceMs: 1,
  analysedAt: '2026-11-23T12:00:00.000Z',
  ...over,
});

function cineResult(ed: string[], es: string[]): CineStudyResult {
  const cardiac = { lvEdvMl: 100, lvEsvMl: 40, lvSvMl: 60, lvEfPercent: 60, lvMassG: 90, rvEdvMl: 110, rvEsvMl: 50, rvEfPercent: undefined, lvEfBand: 'preserved' as const, edPhase: 1, esPhase: 9, phaseCount: 20, sliceCount: 2, sliceSpacingMm: 8, pixelSpacingMm: [1, 1] as const };
  return { result: base({ cardiac }), cine: { edMasks: ed.map(masks), esMasks: es.map(masks) } as unknown as CineAnalysis, root: 'http://pacs', seriesUid: '1.2.3' };
}

function store(answer = OBJECTS): PacsResultStore & { inputs: SegmentationForPacs[] } {
  const inputs: SegmentationForPacs[] = [];
  return { inputs, store: (input) => { inputs.push(input); return Promise.resolve(answer); } };
}

describe('results back to the PACS, analysis side', () => {
  it('hands over the ED and ES masks with their phases and every stated measure, and keeps the stored UIDs', async () => {
    const s = store();
    const result = await withPacsObjects({ pacs: s }, study, cineResult(['a', 'b'], ['c', 'd']));
    expect(result.pacsObjects).toEqual(OBJECTS);
    const input = s.inputs[0] as SegmentationForPacs;
    expect(input.images.map((i) => [i.sopInstanceUid, i.temporalPosition])).toEqual([['a', 1], ['b', 1], ['c', 9], ['d', 9]]);
    expect(input.classKeys).toEqual(['rv_cavity', 'lv_myocardium', 'lv_cavity']);
    // RV EF could not be stated: it is not sent either.
    expect(input.measurements.map((m) => m.kind)).toEqual(['lv-edv', 'lv-esv', 'lv-sv', 'lv-ef', 'lv-mass', 'rv-edv', 'rv-esv']);
    expect(input.createdAt.toISOString()).toBe('2026-11-23T12:00:00.000Z');
  });

  it('stores nothing without a store, keeps the result when the store fails, and passes frame numbers of an enhanced instance', async () => {
    expect((await withPacsObjects({}, study, cineResult(['a'], ['b']))).pacsObjects).toBeUndefined();
    const s = store();
    const enhanced = cineResult(['e', 'e'], ['e', 'e']);
    const framed = { ...enhanced, cine: { ...enhanced.cine, edMasks: enhanced.cine.edMasks.map((m, i) => ({ ...m, frameNumber: 2 * i + 1 })), esMasks: enhanced.cine.esMasks.map((m, i) => ({ ...m, frameNumber: 2 * i + 2 })) } };
    expect((await withPacsObjects({ pacs: s }, study, framed)).pacsObjects).toEqual(OBJECTS);
    expect(s.inputs[0]?.images.map((i) => i.frameNumber)).toEqual([1, 3, 2, 4]);
    const failing: PacsResultStore = { store: () => Promise.resolve(undefined) };
    expect((await withPacsObjects({ pacs: failing }, study, cineResult(['a'], ['b']))).cardiac?.lvEfPercent).toBe(60);
  });

  it('thresholds a one-image segmentation\'s class maps and sends share and area', async () => {
    const s = store();
    const measurement = { key: 'vessel', display: 'Vessels', codes: [], threshold: 0.5, fractionOfFieldOfView: 0.25, fieldOfViewFraction: 1, areaMm2: 3 };
    const result = base({ model: { ...base().model, id: 'retina-vessels-drive' }, measurements: [measurement] });
    const map = { kind: 'mask' as const, method: 'm', width: 2, height: 2, threshold: 0.5, values: Float32Array.from([0.9, 0.1, 0.6, 0.4]) };
    const out = await withPacsObjectsOfImage({ pacs: s }, result, { root: 'http://pacs', sopInstanceUid: '1.2.3.4' }, [map]);
    expect(out.pacsObjects).toEqual(OBJECTS);
    expect([...(s.inputs[0]?.images[0]?.planes[0] ?? [])]).toEqual([1, 0, 1, 0]);
    expect(s.inputs[0]?.measurements).toEqual([{ kind: 'fov-share', classKey: 'vessel', value: 25 }, { kind: 'area', classKey: 'vessel', value: 3 }]);
    // A classifier's result is never sent.
    const classifier = base({ model: { ...base().model, task: 'classification' } });
    expect(await withPacsObjectsOfImage({ pacs: s }, classifier, { root: 'r', sopInstanceUid: 'x' }, [map])).toBe(classifier);
  });
});
