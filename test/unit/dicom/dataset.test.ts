/**
 * The in-place data set reader: what it skips, what it reads, what it refuses, and that Pixel
 * Data stays a view of the input.
 */
import { parseDicom } from '../../../src/dicom/parse.js';
import { decodeFrames } from '../../../src/dicom/pixels.js';
import { buildEncapsulatedImage, buildImage, buildPart10Raw, concat, encodeDataSet, imageElements, rleFrame, u16le } from './support/part10-builder.js';
import type { Element, ImageSpec } from './support/part10-builder.js';
import { thrown } from './support/thrown.js';

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const RLE = '1.2.840.10008.1.2.5';
const SPEC: ImageSpec = { rows: 1, columns: 3, bitsAllocated: 16, pixels: u16le([10, 20, 30]) };

/** Explicit VR Little Endian header of a long-form element (SQ, UN, OB…). */
function longHeader(tag: number, vr: string, length: number): Uint8Array {
  const out = new Uint8Array(12);
  const view = new DataView(out.buffer);
  view.setUint16(0, tag >>> 16, true);
  view.setUint16(2, tag & 0xffff, true);
  out[4] = vr.charCodeAt(0);
  out[5] = vr.charCodeAt(1);
  view.setUint32(8, length, true);
  return out;
}

/** An item, item delimiter or sequence delimiter header (no VR, in any VR encoding). */
function itemTag(element: 0xe000 | 0xe00d | 0xe0dd, length: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xfffe, true);
  view.setUint16(2, element, true);
  view.setUint32(4, length, true);
  return out;
}

const UNDEFINED = 0xffffffff;

/** An explicit VR LE image file with `prefix` (raw elements) placed before the image's own elements. */
function withPrefix(prefix: Uint8Array, extra: readonly Element[] = []): Uint8Array {
  const elements = imageElements({ ...SPEC, extra });
  return buildPart10Raw(elements, EXPLICIT_LE, concat([prefix, encodeDataSet(elements, 'explicit-le')]));
}

/** A private sequence of undefined length: one item of undefined length holding a nested sequence, one of defined length. */
function nestedPrivateSequence(): Uint8Array {
  const inner = encodeDataSet([{ tag: 0x00091001, vr: 'LO', value: 'INNER' }], 'explicit-le');
  const nested = concat([longHeader(0x00091002, 'SQ', UNDEFINED), itemTag(0xe000, UNDEFINED), inner, itemTag(0xe00d, 0), itemTag(0xe0dd, 0)]);
  return concat([
    encodeDataSet([{ tag: 0x00090010, vr: 'LO', value: 'VENDOR' }], 'explicit-le'),
    longHeader(0x00091010, 'SQ', UNDEFINED),
    itemTag(0xe000, UNDEFINED),
    nested,
    // A Rows inside an item must not be taken for the image's Rows.
    encodeDataSet([{ tag: 0x00280010, vr: 'US', value: [999] }], 'explicit-le'),
    itemTag(0xe00d, 0),
    itemTag(0xe000, inner.byteLength),
    inner,
    itemTag(0xe0dd, 0),
  ]);
}

describe('the data set reader', () => {
  it('skips a private sequence of undefined length with nested items and reads the attributes after it', () => {
    const parsed = parseDicom(withPrefix(nestedPrivateSequence()));
    expect(parsed.info).toMatchObject({ rows: 1, columns: 3, sopInstanceUid: '1.2.826.0.1.3680043.8.498.3' });
    expect(decodeFrames(parsed).map((f) => Array.from(f.values))).toEqual([[10, 20, 30]]);
  });

  it('skips a UN element of undefined length, whose items are Implicit VR Little Endian (PS3.5 6.2.2)', () => {
    const implicitItem = encodeDataSet([{ tag: 0x00091001, vr: 'LO', value: 'X' }, { tag: 0x00091003, vr: 'US', value: [7] }], 'implicit-le');
    const un = concat([longHeader(0x00091010, 'UN', UNDEFINED), itemTag(0xe000, UNDEFINED), implicitItem, itemTag(0xe00d, 0), itemTag(0xe0dd, 0)]);
    expect(decodeFrames(parseDicom(withPrefix(un))).map((f) => Array.from(f.values))).toEqual([[10, 20, 30]]);
  });

  it('reads the Modality LUT Sequence from an item of undefined length', () => {
    const item = encodeDataSet([{ tag: 0x00283002, vr: 'US', value: [3, 10, 16] }, { tag: 0x00283006, vr: 'US', value: [100, 200, 300] }], 'explicit-le');
    const lut = concat([longHeader(0x00283000, 'SQ', UNDEFINED), itemTag(0xe000, UNDEFINED), item, itemTag(0xe00d, 0), itemTag(0xe0dd, 0)]);
    expect(decodeFrames(parseDicom(withPrefix(lut))).map((f) => Array.from(f.values))).toEqual([[100, 300, 300]]);
  });

  it('skips a stray sequence delimiter between top-level elements', () => {
    expect(decodeFrames(parseDicom(withPrefix(itemTag(0xe0dd, 0)))).map((f) => Array.from(f.values))).toEqual([[10, 20, 30]]);
  });

  it('refuses sequences nested deeper than 48 levels rather than recursing without bound', () => {
    const depth = 60;
    const open = Array.from({ length: depth }, () => concat([longHeader(0x00091010, 'SQ', UNDEFINED), itemTag(0xe000, UNDEFINED)]));
    const close = Array.from({ length: depth }, () => concat([itemTag(0xe00d, 0), itemTag(0xe0dd, 0)]));
    expect(thrown(() => parseDicom(withPrefix(concat([...open, ...close]))))).toMatchObject({
      code: 'DICOM_INVALID',
      message: 'The DICOM data set cannot be read: sequences nest deeper than 48.',
    });
  });

  it('refuses an element whose value runs past the end of the file', () => {
    const file = withPrefix(concat([longHeader(0x00091010, 'OB', 1_000_000), new Uint8Array(4)]));
    expect(thrown(() => parseDicom(file))).toMatchObject({ code: 'DICOM_INVALID', message: 'The DICOM data set cannot be read: element (0009,1010) runs past the end of the data.' });
  });

  it('reads IS and DS values as dcmjs did: an unreadable number is no value (NumberOfFrames "1A" → 1 frame)', () => {
    const extra = [{ tag: 0x00280008, vr: 'IS', value: '1A' }, { tag: 0x00281053, vr: 'DS', value: ' 2.5 ' }, { tag: 0x00200013, vr: 'IS', value: '+7' }];
    const parsed = parseDicom(buildImage({ ...SPEC, extra }));
    expect(parsed.pixels).toMatchObject({ numberOfFrames: 1, rescaleSlope: 2.5 });
    expect(parsed.info.instanceNumber).toBe(7);
  });
});

describe('text in the Specific Character Set', () => {
  const described = (charset: string, bytes: readonly number[]): string | undefined => {
    const extra = [{ tag: 0x00080005, vr: 'CS', value: charset }, { tag: 0x00081030, vr: 'LO', value: Uint8Array.from(bytes) }];
    return parseDicom(buildImage({ ...SPEC, extra })).info.studyDescription;
  };

  it('decodes ISO_IR 100 (Latin-1) and ISO_IR 192 (UTF-8)', () => {
    expect(described('ISO_IR 100', [0x43, 0x61, 0x66, 0xe9])).toBe('Café');
    expect(described('ISO_IR 192', [0x43, 0x61, 0x66, 0xc3, 0xa9])).toBe('Café');
  });

  it('decodes ISO 2022 code extensions with the multi-byte set they name (JIS X 0208 here)', () => {
    // ESC $ B 日本 ESC ( B
    expect(described('ISO 2022 IR 6\\ISO 2022 IR 87', [0x1b, 0x24, 0x42, 0x46, 0x7c, 0x4b, 0x5c, 0x1b, 0x28, 0x42])).toBe('日本');
  });
});

describe('Pixel Data is read in place', () => {
  it('native Pixel Data is a view of the input, not a copy', () => {
    const file = buildImage(SPEC);
    const { pixelData } = parseDicom(file).pixels;
    expect(pixelData?.buffer).toBe(file.buffer);
    expect(Array.from(pixelData ?? [])).toEqual(Array.from(u16le([10, 20, 30])));
  });

  it('encapsulated fragments are views; a frame split over fragments is joined by the Basic Offset Table', () => {
    const spec = { rows: 2, columns: 2, bitsAllocated: 8, frames: 2 } as const;
    const a = rleFrame([Uint8Array.of(1, 2, 3, 4)]);
    const b = rleFrame([Uint8Array.of(5, 6, 7, 8)]);
    // Frame A in two fragments (the second does not open a codestream), frame B in one.
    const fragments = [a.subarray(0, 40), a.subarray(40), b];
    const file = buildEncapsulatedImage(spec, RLE, fragments, [0, 40 + 8 + (a.byteLength - 40) + 8]);
    const parsed = parseDicom(file);
    expect(parsed.pixels.encapsulatedItems?.map((i) => i.byteLength)).toEqual([a.byteLength, b.byteLength]);
    expect(parsed.pixels.encapsulatedItems?.[1]?.buffer).toBe(file.buffer);
    expect(decodeFrames(parsed).map((f) => Array.from(f.values))).toEqual([[1, 2, 3, 4], [5, 6, 7, 8]]);
  });

  it('ignores a Basic Offset Table whose offsets fall inside a fragment and finds the frames by their codestreams', () => {
    const spec = { rows: 2, columns: 2, bitsAllocated: 8, frames: 2 } as const;
    const a = rleFrame([Uint8Array.of(1, 2, 3, 4)]);
    const b = rleFrame([Uint8Array.of(5, 6, 7, 8)]);
    const file = buildEncapsulatedImage(spec, RLE, [a, b], [0, 10]);
    expect(decodeFrames(parseDicom(file)).map((f) => Array.from(f.values))).toEqual([[1, 2, 3, 4], [5, 6, 7, 8]]);
  });
});
