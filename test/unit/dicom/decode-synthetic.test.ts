import { parseDicom } from '../../../src/dicom/parse.js';
import { decodeFrame, decodeFrames, decodeStoredFrame } from '../../../src/dicom/pixels.js';
import { buildImage, buildPart10, imageElements, sequenceValue, u16be, u16le } from './support/part10-builder.js';
import type { Element, ImageSpec, Syntax } from './support/part10-builder.js';
import { thrown } from './support/thrown.js';

function stored(spec: ImageSpec, syntax: Syntax = 'explicit-le', frame = 0): number[] {
  return Array.from(decodeStoredFrame(parseDicom(buildImage(spec, syntax)), frame));
}

function modality(spec: ImageSpec, syntax: Syntax = 'explicit-le'): number[] {
  return decodeFrames(parseDicom(buildImage(spec, syntax))).flatMap((f) => Array.from(f.values));
}

function modalityOf(file: Uint8Array): number[] {
  return decodeFrames(parseDicom(file)).flatMap((f) => Array.from(f.values));
}

const window = (center: string, width: string, fn?: string): Element[] => [
  { tag: 0x00281050, vr: 'DS', value: center },
  { tag: 0x00281051, vr: 'DS', value: width },
  ...(fn === undefined ? [] : [{ tag: 0x00281056, vr: 'CS', value: fn }]),
];

describe('BitsStored and HighBit select the stored bits', () => {
  it('masks off bits above a 12-bit unsigned value (e.g. overlay bits in the high nibble)', () => {
    const spec = { rows: 1, columns: 3, bitsAllocated: 16, bitsStored: 12, pixels: u16le([0xf123, 0x0fff, 0xa000]) };
    expect(stored(spec)).toEqual([0x123, 0xfff, 0]);
  });

  it('sign-extends a 12-bit signed value from bit 11', () => {
    const spec = { rows: 1, columns: 4, bitsAllocated: 16, bitsStored: 12, pixelRepresentation: 1 as const, pixels: u16le([0x0800, 0xffff, 0x07ff, 0xf001]) };
    expect(stored(spec)).toEqual([-2048, -1, 2047, 1]);
  });

  it('shifts down when HighBit is not BitsStored − 1', () => {
    const spec = { rows: 1, columns: 2, bitsAllocated: 16, bitsStored: 12, highBit: 15, pixels: u16le([0x123f, 0xfff0]) };
    expect(stored(spec)).toEqual([0x123, 0xfff]);
  });

  it('reads full-width signed 8-, 16- and 32-bit values as two’s complement', () => {
    expect(stored({ rows: 1, columns: 3, bitsAllocated: 8, pixelRepresentation: 1, pixels: Uint8Array.of(0xff, 0x80, 0x7f, 0) })).toEqual([-1, -128, 127]);
    expect(stored({ rows: 1, columns: 2, bitsAllocated: 16, pixelRepresentation: 1, pixels: u16le([0x8000, 0x7fff]) })).toEqual([-32768, 32767]);
    const words = new Uint8Array(8);
    new DataView(words.buffer).setUint32(0, 0xffffffff, true);
    new DataView(words.buffer).setUint32(4, 0x80000000, true);
    expect(stored({ rows: 1, columns: 2, bitsAllocated: 32, pixelRepresentation: 1, pixels: words })).toEqual([-1, -2147483648]);
    expect(stored({ rows: 1, columns: 2, bitsAllocated: 32, pixels: words })).toEqual([4294967295, 2147483648]);
  });

  it('reads 16-bit words most significant byte first in Explicit VR Big Endian', () => {
    expect(stored({ rows: 1, columns: 2, bitsAllocated: 16, pixels: u16be([0x0102, 0xfffe]) }, 'explicit-be')).toEqual([0x0102, 0xfffe]);
  });

  it('un-swaps 8-bit samples that big endian OW stores as byte-swapped 16-bit words', () => {
    const words = u16be([0x0201, 0x0403]); // pixels 1, 2, 3, 4 packed two per little-endian word
    expect(stored({ rows: 2, columns: 2, bitsAllocated: 8, pixels: words, pixelVr: 'OW' }, 'explicit-be')).toEqual([1, 2, 3, 4]);
    expect(stored({ rows: 2, columns: 2, bitsAllocated: 8, pixels: Uint8Array.of(1, 2, 3, 4), pixelVr: 'OB' }, 'explicit-be')).toEqual([1, 2, 3, 4]);
  });

  it('unpacks 1-bit data least significant bit first, across frame boundaries', () => {
    // 3 × 3 pixels × 2 frames = 18 bits; frame 1 starts at bit 9, inside the second byte.
    const spec = { rows: 3, columns: 3, bitsAllocated: 1, frames: 2, pixels: Uint8Array.of(0b10100101, 0b11111110, 0b00000001, 0) };
    expect(stored(spec, 'explicit-le', 0)).toEqual([1, 0, 1, 0, 0, 1, 0, 1, 0]);
    expect(stored(spec, 'explicit-le', 1)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0]);
  });
});

describe('colour layouts become interleaved RGB', () => {
  const interleaved = Uint8Array.of(10, 20, 30, 11, 21, 31, 12, 22, 32, 13, 23, 33);
  const planar = Uint8Array.of(10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33);

  it('gives the same pixels for PlanarConfiguration 0 and 1', () => {
    const base = { rows: 2, columns: 2, bitsAllocated: 8, samplesPerPixel: 3 };
    const a = modality({ ...base, planarConfiguration: 0, pixels: interleaved });
    const b = modality({ ...base, planarConfiguration: 1, pixels: planar });
    expect(a).toEqual(Array.from(interleaved));
    expect(b).toEqual(a);
  });

  it('converts YBR_FULL to RGB with the full-range equations, rounded and clipped', () => {
    const pixels = Uint8Array.of(128, 128, 128, 76, 85, 255, 255, 128, 128, 0, 128, 128);
    const values = modality({ rows: 1, columns: 4, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'YBR_FULL', pixels });
    expect(values).toEqual([128, 128, 128, 254, 0, 0, 255, 255, 255, 0, 0, 0]);
  });

  it('expands YBR_FULL_422 pairs (Y1 Y2 Cb Cr) to one Y Cb Cr per pixel', () => {
    const spec = { rows: 1, columns: 4, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'YBR_FULL_422', pixels: Uint8Array.of(10, 20, 100, 200, 30, 40, 110, 210) };
    expect(stored(spec)).toEqual([10, 100, 200, 20, 100, 200, 30, 110, 210, 40, 110, 210]);
  });

  it('carries no window and no inversion for colour frames', () => {
    const [frame] = decodeFrames(parseDicom(buildImage({ rows: 2, columns: 2, bitsAllocated: 8, samplesPerPixel: 3, pixels: interleaved, extra: window('40', '400') })));
    expect(frame).toMatchObject({ samplesPerPixel: 3, window: undefined, invert: false });
  });
});

describe('multi-frame objects decode frame by frame', () => {
  const spec = { rows: 2, columns: 2, bitsAllocated: 16, frames: 3, pixels: u16le([0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]) };

  it('returns every frame in order', () => {
    const frames = decodeFrames(parseDicom(buildImage(spec)));
    expect(frames.map((f) => Array.from(f.values))).toEqual([[0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, 23]]);
  });

  it('decodes a single requested frame', () => {
    expect(Array.from(decodeFrame(parseDicom(buildImage(spec)), 2).values)).toEqual([20, 21, 22, 23]);
  });

  it('refuses a frame index outside the object', () => {
    expect(thrown(() => decodeFrame(parseDicom(buildImage(spec)), 3))).toMatchObject({
      code: 'DICOM_INVALID',
      message: 'Frame 3 does not exist: the instance has 3 frame(s).',
    });
  });
});

describe('the Modality LUT and VOI attributes', () => {
  const base = { rows: 1, columns: 3, bitsAllocated: 16, pixelRepresentation: 1 as const, pixels: u16le([0, 1000, -1000]) };

  it('applies RescaleSlope and RescaleIntercept', () => {
    const extra = [{ tag: 0x00281052, vr: 'DS', value: '-100' }, { tag: 0x00281053, vr: 'DS', value: '2.5' }];
    expect(modality({ ...base, extra })).toEqual([-100, 2400, -2600]);
  });

  it('takes the first of several windows and reads VOILUTFunction', () => {
    const [frame] = decodeFrames(parseDicom(buildImage({ ...base, extra: window('40\\-600', '400\\1500', 'SIGMOID') })));
    expect(frame?.window).toEqual({ center: 40, width: 400, fn: 'SIGMOID' });
  });

  it('accepts a LINEAR_EXACT width below 1 but not a LINEAR one', () => {
    const exact = decodeFrames(parseDicom(buildImage({ ...base, extra: window('0', '0.5', 'LINEAR_EXACT') })));
    const linear = decodeFrames(parseDicom(buildImage({ ...base, extra: window('0', '0.5') })));
    expect(exact[0]?.window).toEqual({ center: 0, width: 0.5, fn: 'LINEAR_EXACT' });
    expect(linear[0]?.window).toBeUndefined();
  });

  it('flags MONOCHROME1 for inversion', () => {
    const [frame] = decodeFrames(parseDicom(buildImage({ ...base, photometric: 'MONOCHROME1' })));
    expect(frame?.invert).toBe(true);
  });

  it('applies a Modality LUT Sequence instead of the rescale, re-reading a US first value as signed', () => {
    // Implicit VR leaves LUT Descriptor as US: 0xFFFF is −1 because PixelRepresentation is 1.
    const lut = sequenceValue([[{ tag: 0x00283002, vr: 'US', value: [3, 0xffff, 16] }, { tag: 0x00283006, vr: 'US', value: [7, 8, 9] }]], 'implicit-le');
    const rescale = [{ tag: 0x00281052, vr: 'DS', value: '-100' }];
    const file = buildImage({ ...base, pixels: u16le([-5, 0, 1000]), extra: [...rescale, { tag: 0x00283000, vr: 'SQ', value: lut }] }, 'implicit-le');
    expect(modalityOf(file)).toEqual([7, 8, 9]);
  });

  it('refuses a Modality LUT Sequence whose data is shorter than its descriptor', () => {
    const lut = sequenceValue([[{ tag: 0x00283002, vr: 'US', value: [4, 0, 16] }, { tag: 0x00283006, vr: 'US', value: [0, 1] }]]);
    const file = buildImage({ ...base, extra: [{ tag: 0x00283000, vr: 'SQ', value: lut }] });
    expect(thrown(() => decodeFrames(parseDicom(file)))).toMatchObject({
      code: 'DICOM_INVALID',
      message: 'The LUT Data of ModalityLUTSequence (0028,3000) has 2 entries, fewer than the 4 its descriptor declares.',
    });
  });

  it('keeps a VOI LUT Sequence for display, and ignores an unusable one rather than fail decoding', () => {
    const good = sequenceValue([[{ tag: 0x00283002, vr: 'US', value: [2, 0, 8] }, { tag: 0x00283006, vr: 'US', value: [0, 255] }]]);
    const bad = sequenceValue([[{ tag: 0x00283002, vr: 'US', value: [2, 0] }]]);
    const [withLut] = decodeFrames(parseDicom(buildImage({ ...base, extra: [{ tag: 0x00283010, vr: 'SQ', value: good }] })));
    const [withBad] = decodeFrames(parseDicom(buildImage({ ...base, extra: [{ tag: 0x00283010, vr: 'SQ', value: bad }] })));
    expect(withLut?.voiLut).toEqual({ firstMapped: 0, bits: 8, data: Uint16Array.of(0, 255) });
    expect(withBad?.voiLut).toBeUndefined();
  });

  it('refuses a RescaleSlope of 0', () => {
    expect(thrown(() => parseDicom(buildImage({ ...base, extra: [{ tag: 0x00281053, vr: 'DS', value: '0' }] })))).toMatchObject({
      code: 'DICOM_INVALID',
      message: 'RescaleSlope/RescaleIntercept (0028,1053/1052) are not usable numbers.',
    });
  });
});

/** Red/Green/Blue descriptors and segmented data (a single discrete segment each), as in pydicom's spring.dcm. */
function segmentedPalette(): Element[] {
  return [0, 1, 2].flatMap((c) => [
    { tag: 0x00281101 + c, vr: 'US', value: [256, 0, 8] },
    { tag: 0x00281221 + c, vr: 'OW', value: u16le([0, 1, 0xff]) },
  ]);
}

/** A 4-entry 8-bit palette starting at index 1; entries packed two per OW word as PS3.3 C.7.6.3.1.6 stores them. */
function packedPalette(words: (entries: number[]) => Uint8Array): Element[] {
  const tables = [[10, 20, 30, 40], [50, 60, 70, 80], [90, 100, 110, 120]];
  return tables.flatMap((entries, c) => [
    { tag: 0x00281101 + c, vr: 'US', value: [4, 1, 8] },
    { tag: 0x00281201 + c, vr: 'OW', value: words(entries) },
  ]);
}

describe('PALETTE COLOR', () => {
  const spec = { rows: 1, columns: 3, bitsAllocated: 8, photometric: 'PALETTE COLOR', pixels: Uint8Array.of(0, 2, 9, 0) };

  it('maps 8-bit packed entries in little and big endian to RGB, clamping indices outside the table', () => {
    const le = packedPalette((e) => Uint8Array.from(e));
    // Big endian OW swaps the two bytes of each word.
    const be = packedPalette((e) => Uint8Array.of(e[1] as number, e[0] as number, e[3] as number, e[2] as number));
    const expected = [10, 50, 90, 20, 60, 100, 40, 80, 120];
    expect(modalityOf(buildImage({ ...spec, extra: le }))).toEqual(expected);
    expect(modalityOf(buildImage({ ...spec, extra: be }, 'explicit-be'))).toEqual(expected);
  });

  it('gives an RGB frame whose sample range is the palette depth, never inverted', () => {
    const [frame] = decodeFrames(parseDicom(buildImage({ ...spec, extra: packedPalette((e) => Uint8Array.from(e)) })));
    expect(frame).toMatchObject({ samplesPerPixel: 3, sampleMax: 255, invert: false, window: undefined });
  });
});

describe('pixel formats outside what we decode are refused precisely', () => {
  const cases: readonly (readonly [string, ImageSpec, string, string])[] = [
    ['YBR_PARTIAL_420', { rows: 1, columns: 2, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'YBR_PARTIAL_420', pixels: new Uint8Array(6) }, 'DICOM_UNSUPPORTED', 'PhotometricInterpretation YBR_PARTIAL_420 is not supported (MONOCHROME1, MONOCHROME2, PALETTE COLOR, RGB, YBR_FULL, YBR_FULL_422 are).'],
    ['PALETTE COLOR without tables', { rows: 1, columns: 1, bitsAllocated: 8, photometric: 'PALETTE COLOR', pixels: Uint8Array.of(1, 0) }, 'DICOM_INVALID', 'The Red Palette Color Lookup Table Descriptor must have 3 numbers.'],
    ['segmented PALETTE COLOR', { rows: 1, columns: 1, bitsAllocated: 8, photometric: 'PALETTE COLOR', pixels: Uint8Array.of(1, 0), extra: segmentedPalette() }, 'DICOM_UNSUPPORTED', 'Segmented Palette Color Lookup Tables (0028,1221-1223) are not supported; only the plain tables (0028,1201-1203) are.'],
    ['BitsAllocated 12', { rows: 1, columns: 2, bitsAllocated: 12, pixels: Uint8Array.of(1, 2, 3, 4) }, 'DICOM_UNSUPPORTED', 'BitsAllocated 12 is not supported (1, 8, 16 and 32 are).'],
    ['BitsStored above BitsAllocated', { rows: 1, columns: 2, bitsAllocated: 8, bitsStored: 9, highBit: 8, pixels: Uint8Array.of(1, 2) }, 'DICOM_INVALID', 'BitsStored 9 / HighBit 8 are inconsistent with BitsAllocated 8.'],
    ['RGB with one sample', { rows: 1, columns: 2, bitsAllocated: 8, photometric: 'RGB', pixels: Uint8Array.of(1, 2) }, 'DICOM_INVALID', 'RGB requires SamplesPerPixel 3, not 1.'],
    ['1-bit colour', { rows: 1, columns: 8, bitsAllocated: 1, samplesPerPixel: 3, pixels: Uint8Array.of(1, 2, 3, 4) }, 'DICOM_INVALID', 'BitsAllocated 1 is only valid for monochrome images, not RGB.'],
    ['YBR_FULL_422 with odd Columns', { rows: 1, columns: 3, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'YBR_FULL_422', pixels: new Uint8Array(6) }, 'DICOM_UNSUPPORTED', 'Native YBR_FULL_422 is supported only with 8 bits, PlanarConfiguration 0 and an even number of Columns.'],
    ['no Pixel Data', { rows: 1, columns: 2, bitsAllocated: 8 }, 'DICOM_INVALID', 'The instance has no Pixel Data (7FE0,0010).'],
    ['zero Rows', { rows: 0, columns: 2, bitsAllocated: 8, pixels: Uint8Array.of(1, 2) }, 'DICOM_INVALID', 'Rows, Columns and NumberOfFrames must be positive (got 0 × 2 × 1).'],
    ['zero frames', { rows: 1, columns: 2, bitsAllocated: 8, frames: 0, pixels: Uint8Array.of(1, 2) }, 'DICOM_INVALID', 'Rows, Columns and NumberOfFrames must be positive (got 1 × 2 × 0).'],
  ];

  it.each(cases)('%s', (_name, spec, code, message) => {
    expect(thrown(() => decodeFrames(parseDicom(buildImage(spec))))).toMatchObject({ name: 'AppError', code, message });
  });

  it('refuses Float Pixel Data', () => {
    const spec = { rows: 1, columns: 1, bitsAllocated: 32, extra: [{ tag: 0x7fe00008, vr: 'OF', value: new Uint8Array(4) }] };
    expect(thrown(() => decodeFrames(parseDicom(buildImage(spec))))).toMatchObject({
      code: 'DICOM_UNSUPPORTED',
      message: 'Float Pixel Data (7FE0,0008/0009) is not supported; only integer Pixel Data is.',
    });
  });

  it('refuses a data set that is not an image', () => {
    const elements = imageElements({ rows: 1, columns: 1, bitsAllocated: 8, pixels: Uint8Array.of(1, 0) }).filter((e) => e.tag !== 0x00280010);
    expect(thrown(() => parseDicom(buildPart10(elements, 'explicit-le')))).toMatchObject({
      code: 'DICOM_INVALID',
      message: 'Not an image: Rows (0028,0010) is missing.',
    });
  });
});
