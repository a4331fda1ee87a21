/**
 * The cine use case with fakes of its two ports: volumes from per-slice areas, and a series that
 * cannot be measured refused with its reasons (the real DICOMweb source and model run in
 * test/integration/cardiac-cine.test.ts).
 */
import { analyseCine } from '../../../src/analysis/cine-analysis.js';
import type { ImageSource, ModelProfile, ModelRunner } from '../../../src/analysis/types.js';
import type { DicomImageInfo } from '../../../src/dicom/types.js';

const profile: ModelProfile = {
  model: { id: 'cardiac', version: '1', name: 'Cardiac', manufacturer: 'x', task: 'segmentation', intendedUse: 'u', templates: { card: 'c', report: 'r' }, performance: 'p' },
  accepts: { modalities: ['MR'], bodyParts: [], viewPositions: [], missingViewPosition: 'accept', photometricInterpretations: [], minRows: 1, minColumns: 1 },
  windowing: { kind: 'minmax' },
};

function header(slice: number, phase: number): DicomImageInfo {
  return {
    studyInstanceUid: '1.2', seriesInstanceUid: '1.2.3', sopInstanceUid: `1.2.3.${phase}.${slice}`, sopClassUid: '1.2.840.10008.5.1.4.1.1.4',
    transferSyntaxUid: '1.2.840.10008.1.2.1', modality: 'MR', bodyPartExamined: 'HEART', viewPosition: undefined, imageType: ['ORIGINAL', 'PRIMARY'],
    rows: 2, columns: 2, numberOfFrames: 1, photometricInterpretation: 'MONOCHROME2', samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 12, pixelRepresentation: 0,
    imagePositionPatient: [0, 0, slice * 8], imageOrientationPatient: [1, 0, 0, 0, 1, 0], pixelSpacing: [1.25, 1.25], triggerTime: phase * 300, temporalPositionIdentifier: phase + 1,
  };
}

/** A series of `slices` × 2 phases (one slice left out when `gapAt` is given). */
function source(slices: number, gapAt?: number): ImageSource {
  const uids: string[] = [];
  for (let p = 0; p < 2; p++) for (let s = 0; s < slices; s++) if (s !== gapAt) uids.push(`1.2.3.${p}.${s}`);
  return {
    listInstances: () => Promise.resolve(uids),
    loadInstance: (_root, _study, _series, sop) => {
      const [, , , p, s] = sop.split('.').map(Number);
      const info = header(s as number, p as number);
      return Promise.resolve({ info, frames: [{ info, frameIndex: 0, rows: 2, columns: 2, samplesPerPixel: 1, values: Float32Array.from([p as number, s as number, 0, 0]), window: undefined, invert: false }] });
    },
    // The display image carries the phase and slice so the fake model can answer per image.
    toDisplay: (frame) => ({ width: 2, height: 2, channels: 1, data: frame.values }),
  };
}

/**
 * 2×2 masks on a 2×2 image with 1.25 mm pixels (1.5625 mm² each): RV top-left, myocardium
 * top-right, LV cavity the bottom row at ED and bottom-left at ES, absent on slice 0.
 */
const models: ModelRunner = {
  profiles: () => [profile],
  explain: () => Promise.resolve(undefined),
  run: (_id, image) => {
    const es = (image.data[0] as number) === 1;
    const slice = image.data[1] as number;
    const m = (key: string) => ({ key, display: key, codes: [], threshold: 0.5, fractionOfFieldOfView: 0, fieldOfViewFraction: 1, areaMm2: 0 });
    const map = (hot: readonly number[]) => ({ kind: 'mask' as const, method: 'm', width: 2, height: 2, threshold: 0.5, values: Float32Array.from([0, 1, 2, 3], (i) => (hot.includes(i) ? 0.9 : 0.1)) });
    const classMaps = [map([0]), map([1]), map(slice === 0 ? [] : es ? [2] : [2, 3])];
    return Promise.resolve({ model: profile.model, inferenceMs: 1, findings: [], measurements: [m('rv_cavity'), m('lv_myocardium'), m('lv_cavity')], classMaps });
  },
};

const at = { root: 'http://pacs', studyUid: '1.2', seriesUid: '1.2.3' };

describe('analyseCine', () => {
  it('sums areas over the slices into volumes per phase and measures function', async () => {
    const r = await analyseCine({ images: source(5), models }, profile, at);
    expect([r.phaseCount, r.sliceCount, r.sliceSpacingMm]).toEqual([2, 5, 8]);
    // 4 slices × 2 px × 1.5625 mm² × 8 mm = 0.1 mL at ED; 0.05 mL at ES.
    expect(r.measures.lvEdvMl).toBeCloseTo(0.1, 9);
    expect(r.measures.lvEsvMl).toBeCloseTo(0.05, 9);
    expect(r.measures.lvEfPercent).toBeCloseTo(50, 9);
    expect(r.measures.rvEfPercent).toBeCloseTo(0, 9);
    // 5 slices × 1.5625 mm² × 8 mm = 0.0625 mL of myocardium × 1.05 g/mL.
    expect(r.measures.lvMassG).toBeCloseTo(0.0625 * 1.05, 9);
    expect(r.edInstances).toEqual(['1.2.3.0.0', '1.2.3.0.1', '1.2.3.0.2', '1.2.3.0.3', '1.2.3.0.4']);
    expect(r.esInstances).toEqual(['1.2.3.1.0', '1.2.3.1.1', '1.2.3.1.2', '1.2.3.1.3', '1.2.3.1.4']);
    expect(r.inferenceMs).toBe(10);
  });

  it('keeps the ED and ES masks, thresholded, and picks the middle of the slices showing the LV cavity', async () => {
    const r = await analyseCine({ images: source(5), models }, profile, at);
    expect(r.edMasks.map((m) => m.sopInstanceUid)).toEqual(r.edInstances);
    expect(r.esMasks[2]?.planes.map((p) => [...p])).toEqual([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]);
    expect(r.edMasks[2]?.planes[2]).toEqual(Uint8Array.from([0, 0, 1, 1]));
    // Slices 1–4 show the LV cavity at ED: the middle of them is slice 3 (index 3 of [1, 2, 3, 4] >> 1 = 2 → slice 3).
    expect(r.midSlice).toBe(3);
    expect(r.midEd.masks.sopInstanceUid).toBe('1.2.3.0.3');
    expect(r.midEs.masks.sopInstanceUid).toBe('1.2.3.1.3');
    expect([...r.midEs.display.data]).toEqual([1, 3, 0, 0]);
    expect(r.firstInfo.modality).toBe('MR');
  });

  it('refuses a series with a missing slice, saying why, and runs no model on it', async () => {
    let runs = 0;
    const counting: ModelRunner = { ...models, run: (id, image) => { runs++; return models.run(id, image); } };
    await expect(analyseCine({ images: source(6, 3), models: counting }, profile, at)).rejects.toMatchObject({ code: 'IMAGE_UNSUITABLE', message: expect.stringMatching(/gap of 16 mm between slices 3 and 4/) as string });
    expect(runs).toBe(0);
  });

  it('refuses multi-frame instances whose frames carry no position or timing of their own', async () => {
    const multi: ImageSource = {
      ...source(2),
      listInstances: () => Promise.resolve(['1.2.3.0.0']),
      loadInstance: async (...args) => {
        const one = await source(2).loadInstance(...args);
        const frame = one.frames[0] as (typeof one.frames)[number];
        return { info: one.info, frames: [frame, { ...frame, frameIndex: 1 }].map((f) => ({ ...f, info: one.info })) };
      },
    };
    await expect(analyseCine({ images: multi, models }, profile, at)).rejects.toMatchObject({ code: 'IMAGE_UNSUITABLE', message: expect.stringMatching(/without per-frame position and timing/) as string });
  });
});
