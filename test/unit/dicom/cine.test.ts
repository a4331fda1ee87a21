/**
 * Cine short-axis series as slices × phases: order along the slice normal and in the cardiac
 * cycle, whatever the arrival order; refusals for what cannot be measured.
 */
import { analyseCineSeries } from '../../../src/dicom/cine.js';
import type { DicomImageInfo } from '../../../src/dicom/types.js';
import { prng } from '../../support/prng.js';

/** An oblique short-axis orientation (row and column directions, unit and orthogonal). */
const SAX = [0.6, 0.8, 0, -0.48, 0.36, -0.8] as const;
const NORMAL = [0.8 * -0.8 - 0 * 0.36, 0 * -0.48 - 0.6 * -0.8, 0.6 * 0.36 - 0.8 * -0.48] as const;

function image(slice: number, phase: number, over: Partial<DicomImageInfo> = {}): { info: DicomImageInfo } {
  const d = slice * 8;
  return {
    info: {
      studyInstanceUid: '1.2',
      seriesInstanceUid: '1.2.3',
      sopInstanceUid: `1.2.3.${slice}.${phase}`,
      sopClassUid: '1.2.840.10008.5.1.4.1.1.4',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      modality: 'MR',
      bodyPartExamined: 'HEART',
      viewPosition: undefined,
      imageType: ['ORIGINAL', 'PRIMARY'],
      rows: 4,
      columns: 4,
      numberOfFrames: 1,
      photometricInterpretation: 'MONOCHROME2',
      samplesPerPixel: 1,
      bitsAllocated: 16,
      bitsStored: 12,
      pixelRepresentation: 0,
      instanceNumber: slice * 100 + phase,
      imagePositionPatient: [10 + d * NORMAL[0], 20 + d * NORMAL[1], 30 + d * NORMAL[2]],
      imageOrientationPatient: SAX,
      pixelSpacing: [1.4, 1.4],
      triggerTime: phase * 35,
      temporalPositionIdentifier: phase + 1,
      numberOfTemporalPositions: 5,
      ...over,
    },
  };
}

function series(slices: number, phases: number, over: (s: number, p: number) => Partial<DicomImageInfo> = () => ({})): { info: DicomImageInfo }[] {
  const out = [];
  for (let s = 0; s < slices; s++) for (let p = 0; p < phases; p++) out.push(image(s, p, over(s, p)));
  return out;
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const rand = prng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('analyseCineSeries', () => {
  it('arranges a shuffled series as phases × slices ordered along the normal and in the cycle, with spacing and trigger times', () => {
    const g = analyseCineSeries(shuffled(series(6, 5), 7));
    expect(g.problems).toEqual([]);
    expect(g.phases).toHaveLength(5);
    expect(g.phases.map((p) => p.length)).toEqual([6, 6, 6, 6, 6]);
    expect(g.phases[2]?.map((i) => i.info.sopInstanceUid)).toEqual([0, 1, 2, 3, 4, 5].map((s) => `1.2.3.${s}.2`));
    expect(g.sliceSpacing).toBeCloseTo(8, 6);
    expect(g.pixelSpacing).toEqual([1.4, 1.4]);
    expect(g.triggerTimes).toEqual([0, 35, 70, 105, 140]);
  });

  it('orders phases by TriggerTime when there is no TemporalPositionIdentifier', () => {
    const g = analyseCineSeries(shuffled(series(3, 4, () => ({ temporalPositionIdentifier: undefined, numberOfTemporalPositions: undefined, instanceNumber: 1 })), 3));
    expect(g.problems).toEqual([]);
    expect(g.phases.map((p) => p[0]?.info.triggerTime)).toEqual([0, 35, 70, 105]);
  });

  it('refuses a slice with a missing phase, a missing slice (gap), mixed orientations, and a single phase, saying why', () => {
    const missingPhase = series(4, 5).filter((i) => i.info.sopInstanceUid !== '1.2.3.2.3');
    expect(analyseCineSeries(missingPhase).problems).toEqual(expect.arrayContaining([expect.stringMatching(/fewer cardiac phases than the others \(4 instead of 5\)/)]));
    const gap = series(6, 5).filter((i) => !i.info.sopInstanceUid.startsWith('1.2.3.3.'));
    expect(analyseCineSeries(gap).problems).toEqual(expect.arrayContaining([expect.stringMatching(/^gap of 16 mm between slices 3 and 4/)]));
    const mixed = [...series(3, 5), image(9, 0, { imageOrientationPatient: [1, 0, 0, 0, 1, 0] })];
    expect(analyseCineSeries(mixed).problems).toEqual([expect.stringMatching(/different orientations/)]);
    expect(analyseCineSeries(series(4, 1, () => ({ numberOfTemporalPositions: 1 }))).problems).toEqual(['the series has one cardiac phase: it is not a cine series']);
    expect(analyseCineSeries(series(3, 5, () => ({ pixelSpacing: undefined }))).problems).toEqual(expect.arrayContaining([expect.stringMatching(/no PixelSpacing/)]));
  });
});
