import { sortBySlicePosition } from '../../../src/dicom/series.js';
import type { DicomImageInfo } from '../../../src/dicom/types.js';

function info(overrides: Partial<DicomImageInfo>): { info: DicomImageInfo; label: string } {
  const base: DicomImageInfo = {
    studyInstanceUid: '1.2',
    seriesInstanceUid: '1.2.3',
    sopInstanceUid: '1.2.3.4',
    sopClassUid: undefined,
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    modality: 'CT',
    bodyPartExamined: undefined,
    viewPosition: undefined,
    imageType: [],
    rows: 1,
    columns: 1,
    numberOfFrames: 1,
    photometricInterpretation: 'MONOCHROME2',
    samplesPerPixel: 1,
    bitsAllocated: 16,
    bitsStored: 16,
    pixelRepresentation: 0,
  };
  return { info: { ...base, ...overrides }, label: String(overrides.sopInstanceUid) };
}

const AXIAL = [1, 0, 0, 0, 1, 0] as const;

describe('sortBySlicePosition', () => {
  it('orders axial slices by z along the normal, not by InstanceNumber or input order', () => {
    const items = [
      info({ sopInstanceUid: 'b', instanceNumber: 1, imagePositionPatient: [0, 0, 10], imageOrientationPatient: AXIAL }),
      info({ sopInstanceUid: 'c', instanceNumber: 2, imagePositionPatient: [0, 0, 20], imageOrientationPatient: AXIAL }),
      info({ sopInstanceUid: 'a', instanceNumber: 3, imagePositionPatient: [0, 0, -5], imageOrientationPatient: AXIAL }),
    ];
    expect(sortBySlicePosition(items).map((i) => i.label)).toEqual(['a', 'b', 'c']);
  });

  it('projects on the normal of oblique slices (x shifts within the plane do not matter)', () => {
    // Sagittal: rows along y, columns along −z, normal along −x.
    const sagittal = [0, 1, 0, 0, 0, -1] as const;
    const items = [
      info({ sopInstanceUid: 'x=5', imagePositionPatient: [5, 100, 0], imageOrientationPatient: sagittal }),
      info({ sopInstanceUid: 'x=-5', imagePositionPatient: [-5, -100, 50], imageOrientationPatient: sagittal }),
      info({ sopInstanceUid: 'x=0', imagePositionPatient: [0, 0, 0], imageOrientationPatient: sagittal }),
    ];
    expect(sortBySlicePosition(items).map((i) => i.label)).toEqual(['x=5', 'x=0', 'x=-5']);
  });

  it('falls back to InstanceNumber when positions are missing or orientations differ', () => {
    const missing = [
      info({ sopInstanceUid: 'two', instanceNumber: 2, imagePositionPatient: [0, 0, 1], imageOrientationPatient: AXIAL }),
      info({ sopInstanceUid: 'one', instanceNumber: 1 }),
    ];
    expect(sortBySlicePosition(missing).map((i) => i.label)).toEqual(['one', 'two']);
    const mixed = [
      info({ sopInstanceUid: 'two', instanceNumber: 2, imagePositionPatient: [0, 0, 1], imageOrientationPatient: AXIAL }),
      info({ sopInstanceUid: 'one', instanceNumber: 1, imagePositionPatient: [0, 0, 9], imageOrientationPatient: [0, 1, 0, 0, 0, -1] }),
    ];
    expect(sortBySlicePosition(mixed).map((i) => i.label)).toEqual(['one', 'two']);
  });

  it('keeps input order for items without any key, after those with one', () => {
    const items = [info({ sopInstanceUid: 'p' }), info({ sopInstanceUid: 'n2', instanceNumber: 2 }), info({ sopInstanceUid: 'q' })];
    expect(sortBySlicePosition(items).map((i) => i.label)).toEqual(['n2', 'p', 'q']);
  });

  it('does not reorder the input array', () => {
    const items = [info({ sopInstanceUid: 'b', instanceNumber: 2 }), info({ sopInstanceUid: 'a', instanceNumber: 1 })];
    sortBySlicePosition(items);
    expect(items.map((i) => i.label)).toEqual(['b', 'a']);
  });
});
