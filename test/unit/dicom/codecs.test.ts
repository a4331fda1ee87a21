import { readFileSync } from 'node:fs';

import { decodeEncapsulatedFrame, encapsulatedFrames, SUPPORTED_ENCAPSULATED_SYNTAXES } from '../../../src/dicom/codecs/index.js';
import { parseDicom } from '../../../src/dicom/parse.js';
import { decodeFrames, decodeStoredFrame } from '../../../src/dicom/pixels.js';
import { pydicomFile } from './support/fixtures.js';
import { buildEncapsulatedImage, rleFrame } from './support/part10-builder.js';
import { thrown } from './support/thrown.js';

const RLE = '1.2.840.10008.1.2.5';

/** The 8-bit planes of 16-bit values, most significant first (RLE segment order). */
function planes16(values: readonly number[]): Uint8Array[] {
  return [Uint8Array.from(values, (v) => (v >> 8) & 0xff), Uint8Array.from(values, (v) => v & 0xff)];
}

/** Encapsulated items of a real file, as the parser returns them. */
function itemsOf(name: string): Uint8Array[] {
  return [...(parseDicom(readFileSync(pydicomFile(name))).pixels.encapsulatedItems ?? [])];
}

describe('the supported-syntax table', () => {
  it('lists RLE, JPEG Baseline/Extended/Lossless, JPEG-LS and JPEG 2000', () => {
    expect([...SUPPORTED_ENCAPSULATED_SYNTAXES].sort()).toEqual(
      [RLE, '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91'].sort(),
    );
  });

  it.each([
    ['1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile / Main Level'],
    ['1.2.840.10008.1.2.4.201', 'High-Throughput JPEG 2000 (Lossless Only)'],
    ['1.2.840.10008.1.2.4.110', 'JPEG XL Lossless'],
    ['1.2.840.10008.1.2.4.92', 'JPEG 2000 Part 2 Multi-component (Lossless Only)'],
    ['1.2.840.10008.1.2.1.98', 'Encapsulated Uncompressed Explicit VR Little Endian'],
    ['1.2.3.4.5', 'unknown transfer syntax'],
  ])('refuses %s with DICOM_UNSUPPORTED naming it (%s)', (uid, name) => {
    const file = buildEncapsulatedImage({ rows: 2, columns: 2, bitsAllocated: 8 }, uid, [new Uint8Array(8)]);
    expect(thrown(() => decodeFrames(parseDicom(file)))).toMatchObject({
      name: 'AppError',
      code: 'DICOM_UNSUPPORTED',
      message: `Transfer syntax ${uid} (${name}) is not supported.`,
    });
  });
});

describe('RLE Lossless (PS3.5 Annex G), written here', () => {
  it('decodes signed 16-bit samples from MSB and LSB segments, with sign extension', () => {
    const values = [0, 1, -1, 32767, -32768, 1234];
    const file = buildEncapsulatedImage({ rows: 2, columns: 3, bitsAllocated: 16, pixelRepresentation: 1 }, RLE, [rleFrame(planes16(values.map((v) => v & 0xffff)))]);
    expect(Array.from(decodeStoredFrame(parseDicom(file), 0))).toEqual(values);
  });

  it('honours BitsStored and HighBit for RLE cells, as for native data', () => {
    // 12 bits stored in bits 4–15: the cell 0xFFF0 is −1 once shifted and sign-extended.
    const file = buildEncapsulatedImage({ rows: 1, columns: 2, bitsAllocated: 16, bitsStored: 12, highBit: 15, pixelRepresentation: 1 }, RLE, [rleFrame(planes16([0xfff0, 0x0010]))]);
    expect(Array.from(decodeStoredFrame(parseDicom(file), 0))).toEqual([-1, 1]);
  });

  it('expands replicate runs and ignores the no-op byte (−128)', () => {
    const segment = Uint8Array.of(0x80, 0xfd, 7, 0x00, 9); // no-op, 4 × 7, literal 9
    const header = new Uint8Array(64);
    new DataView(header.buffer).setUint32(0, 1, true);
    new DataView(header.buffer).setUint32(4, 64, true);
    const frame = new Uint8Array(64 + segment.byteLength + 1);
    frame.set(header);
    frame.set(segment, 64);
    const file = buildEncapsulatedImage({ rows: 1, columns: 5, bitsAllocated: 8 }, RLE, [frame]);
    expect(Array.from(decodeStoredFrame(parseDicom(file), 0))).toEqual([7, 7, 7, 7, 9]);
  });

  it('refuses a header whose segment count does not match SamplesPerPixel × bytes', () => {
    const file = buildEncapsulatedImage({ rows: 1, columns: 2, bitsAllocated: 16 }, RLE, [rleFrame([Uint8Array.of(1, 2)])]);
    expect(thrown(() => decodeFrames(parseDicom(file)))).toMatchObject({
      code: 'DICOM_INVALID',
      message: 'The RLE frame is malformed: the header declares 1 segments, but SamplesPerPixel 1 × BitsAllocated 16 needs 2.',
    });
  });

  it('refuses a segment that decodes to too few bytes', () => {
    const file = buildEncapsulatedImage({ rows: 2, columns: 2, bitsAllocated: 8 }, RLE, [rleFrame([Uint8Array.of(1, 2)])]);
    expect(thrown(() => decodeFrames(parseDicom(file)))).toMatchObject({
      code: 'DICOM_INVALID',
      message: 'The RLE frame is malformed: segment 1 decodes to 2 bytes, fewer than the 4 its image needs.',
    });
  });
});

describe('fragments → frames', () => {
  const frameA = rleFrame([Uint8Array.of(1, 2, 3, 4)]);
  const frameB = rleFrame([Uint8Array.of(5, 6, 7, 8)]);
  const spec = { rows: 2, columns: 2, bitsAllocated: 8, frames: 2 } as const;

  it('uses the Basic Offset Table when present', () => {
    const file = buildEncapsulatedImage(spec, RLE, [frameA, frameB], [0, frameA.byteLength + 8]);
    expect(decodeFrames(parseDicom(file)).map((f) => Array.from(f.values))).toEqual([[1, 2, 3, 4], [5, 6, 7, 8]]);
  });

  it('without an offset table, starts a frame at each fragment that opens a codestream', () => {
    // Each frame split into two fragments: header + start, then the rest.
    const split = (f: Uint8Array): Uint8Array[] => [f.subarray(0, 66), f.subarray(66)];
    const file = buildEncapsulatedImage(spec, RLE, [...split(frameA), ...split(frameB)]);
    expect(decodeFrames(parseDicom(file)).map((f) => Array.from(f.values))).toEqual([[1, 2, 3, 4], [5, 6, 7, 8]]);
  });

  it('joins every fragment of a single-frame image', () => {
    const jpeg = itemsOf('SC_rgb_jpeg_dcmtk.dcm')[0] as Uint8Array;
    const frames = encapsulatedFrames([jpeg.subarray(0, 100), jpeg.subarray(100)], 1, 'jpeg');
    expect(frames).toHaveLength(1);
    expect(Buffer.from(frames[0] as Uint8Array).equals(Buffer.from(jpeg))).toBe(true);
  });

  it('refuses fewer fragments than frames, and fragments that hold the wrong number of codestreams', () => {
    expect(thrown(() => decodeFrames(parseDicom(buildEncapsulatedImage({ ...spec, frames: 3 }, RLE, [frameA, frameB]))))).toMatchObject({
      code: 'DICOM_INVALID',
      message: 'The encapsulated Pixel Data holds 2 fragment(s) for 3 frames.',
    });
    const threeStarts = buildEncapsulatedImage(spec, RLE, [frameA, frameB, frameA]);
    expect(thrown(() => decodeFrames(parseDicom(threeStarts)))).toMatchObject({
      code: 'DICOM_INVALID',
      message: 'The 3 fragments of the encapsulated Pixel Data hold 3 codestream(s), not the 2 frames declared.',
    });
  });

  it('refuses encapsulated Pixel Data without fragments', () => {
    expect(thrown(() => encapsulatedFrames([], 1, 'rle'))).toMatchObject({ code: 'DICOM_INVALID', message: 'The encapsulated Pixel Data holds no fragments.' });
  });
});

describe('codestream headers are checked against the DICOM header before decoding', () => {
  const jpeg = itemsOf('SC_rgb_jpeg_dcmtk.dcm'); // 100 × 100 RGB baseline

  it('refuses a JPEG frame of another size than Rows × Columns', () => {
    const file = buildEncapsulatedImage({ rows: 4000, columns: 4000, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'YBR_FULL' }, '1.2.840.10008.1.2.4.50', jpeg);
    expect(thrown(() => decodeFrames(parseDicom(file)))).toMatchObject({
      code: 'DICOM_INVALID',
      message: 'The JPEG frame is 100 × 100 with 3 component(s), but the DICOM header declares 4000 × 4000 with 3.',
    });
  });

  it('refuses a JPEG 2000 codestream whose SIZ declares a huge image', () => {
    const j2k = Uint8Array.from(itemsOf('MR_small_jp2klossless.dcm')[0] as Uint8Array);
    new DataView(j2k.buffer).setUint32(8, 0x7fffffff); // Xsiz
    expect(thrown(() => decodeEncapsulatedFrame(j2k, { transferSyntaxUid: '1.2.840.10008.1.2.4.90', rows: 64, columns: 64, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 16, highBit: 15, pixelRepresentation: 1, photometricInterpretation: 'MONOCHROME2' }))).toMatchObject({
      code: 'DICOM_INVALID',
      message: 'The JPEG 2000 frame is 2147483647 × 64 with 1 component(s), but the DICOM header declares 64 × 64 with 1.',
    });
  });

  it('turns a codec failure into DICOM_INVALID naming the codec, and the codec works again afterwards', () => {
    const good = itemsOf('MR_small_jpeg_ls_lossless.dcm')[0] as Uint8Array;
    const frame = { transferSyntaxUid: '1.2.840.10008.1.2.4.80', rows: 64, columns: 64, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 16, highBit: 15, pixelRepresentation: 1 as const, photometricInterpretation: 'MONOCHROME2' };
    const broken = Uint8Array.from(good);
    broken.fill(0xff, 40, 400);
    expect(thrown(() => decodeEncapsulatedFrame(broken, frame))).toMatchObject({ name: 'AppError', code: 'DICOM_INVALID', message: expect.stringMatching(/^The JPEG-LS codestream cannot be decoded \(/) as string });
    const reference = decodeEncapsulatedFrame(good, frame).values;
    expect(reference).toHaveLength(4096);
    expect(Array.from(reference.slice(0, 3))).toEqual(Array.from(decodeStoredFrame(parseDicom(readFileSync(pydicomFile('MR_small.dcm'))), 0).slice(0, 3)));
  });
});

describe('colour after decoding', () => {
  it('JPEG YBR_FULL_422 comes out as RGB: the decoder upsamples and converts, the frame is not converted twice', () => {
    const [compressed] = decodeFrames(parseDicom(readFileSync(pydicomFile('SC_rgb_dcmtk_+eb+cy+np.dcm'))));
    // The file is a red/green/blue/… test card: the first pixel is red.
    expect(Array.from(compressed?.values.slice(0, 3) ?? [])).toEqual([254, 0, 0]);
  });

  it('JPEG 2000 YBR_RCT comes out as RGB', () => {
    const [frame] = decodeFrames(parseDicom(readFileSync(pydicomFile('GDCMJ2K_TextGBR.dcm'))));
    expect(frame?.samplesPerPixel).toBe(3);
    expect(frame?.values).toHaveLength(400 * 400 * 3);
  });
});
