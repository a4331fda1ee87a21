/**
 * Writes small DICOM Part 10 files by hand, so tests control every attribute (bit layouts,
 * planar configuration, windows, corrupt lengths) without depending on the code under test.
 */
import { deflateRawSync } from 'node:zlib';

export type Syntax = 'implicit-le' | 'explicit-le' | 'explicit-be' | 'deflated';

/** One data element. Strings are padded to even length; numbers are written per VR. */
export interface Element {
  readonly tag: number;
  readonly vr: string;
  readonly value: string | readonly number[] | Uint8Array;
}

const TS: Record<Syntax, string> = {
  'implicit-le': '1.2.840.10008.1.2',
  'explicit-le': '1.2.840.10008.1.2.1',
  'explicit-be': '1.2.840.10008.1.2.2',
  deflated: '1.2.840.10008.1.2.1.99',
};
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const NUMBER_SIZES: Record<string, number> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8 };

function valueBytes(element: Element, littleEndian: boolean): Uint8Array {
  const { vr, value } = element;
  if (value instanceof Uint8Array) return value.byteLength % 2 === 0 ? value : concat([value, new Uint8Array(1)]);
  if (typeof value === 'string') {
    const padded = value.length % 2 === 0 ? value : value + (vr === 'UI' ? '\0' : ' ');
    return Uint8Array.from(padded, (c) => c.charCodeAt(0));
  }
  const size = NUMBER_SIZES[vr];
  if (size === undefined) throw new Error(`builder: no number encoding for VR ${vr}`);
  const out = new Uint8Array(size * value.length);
  const view = new DataView(out.buffer);
  value.forEach((n, i) => {
    const at = i * size;
    if (vr === 'US') view.setUint16(at, n, littleEndian);
    else if (vr === 'SS') view.setInt16(at, n, littleEndian);
    else if (vr === 'UL') view.setUint32(at, n, littleEndian);
    else if (vr === 'SL') view.setInt32(at, n, littleEndian);
    else if (vr === 'FL') view.setFloat32(at, n, littleEndian);
    else view.setFloat64(at, n, littleEndian);
  });
  return out;
}

function encodeElement(element: Element, explicit: boolean, littleEndian: boolean): Uint8Array {
  const value = valueBytes(element, littleEndian);
  const long = !explicit || LONG_VRS.has(element.vr);
  const header = new Uint8Array(explicit ? (long ? 12 : 8) : 8);
  const view = new DataView(header.buffer);
  view.setUint16(0, element.tag >>> 16, littleEndian);
  view.setUint16(2, element.tag & 0xffff, littleEndian);
  if (!explicit) {
    view.setUint32(4, value.byteLength, littleEndian);
  } else {
    header[4] = element.vr.charCodeAt(0);
    header[5] = element.vr.charCodeAt(1);
    if (long) view.setUint32(8, value.byteLength, littleEndian);
    else view.setUint16(6, value.byteLength, littleEndian);
  }
  return concat([header, value]);
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Encodes a data set (no meta header) in a syntax; elements are sorted by tag. */
export function encodeDataSet(elements: readonly Element[], syntax: Syntax): Uint8Array {
  const explicit = syntax !== 'implicit-le';
  const littleEndian = syntax !== 'explicit-be';
  const sorted = [...elements].sort((a, b) => a.tag - b.tag);
  return concat(sorted.map((e) => encodeElement(e, explicit, littleEndian)));
}

/** A complete Part 10 file: preamble, 'DICM', meta header (Explicit VR LE), data set. */
export function buildPart10(elements: readonly Element[], syntax: Syntax): Uint8Array {
  return buildPart10Raw(elements, TS[syntax], syntax === 'deflated'
    ? new Uint8Array(deflateRawSync(encodeDataSet(elements, 'explicit-le')))
    : encodeDataSet(elements, syntax));
}

/** Preamble, 'DICM', a meta header naming `transferSyntaxUid`, then `body` as given. */
export function buildPart10Raw(elements: readonly Element[], transferSyntaxUid: string, body: Uint8Array): Uint8Array {
  const sopInstance = elements.find((e) => e.tag === 0x00080018)?.value;
  const meta = encodeDataSet(
    [
      { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
      { tag: 0x00020002, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' },
      { tag: 0x00020003, vr: 'UI', value: typeof sopInstance === 'string' ? sopInstance : '1.2.3.4' },
      { tag: 0x00020010, vr: 'UI', value: transferSyntaxUid },
      { tag: 0x00020012, vr: 'UI', value: '1.2.3.4.5.6' },
    ],
    'explicit-le',
  );
  const groupLength = encodeDataSet([{ tag: 0x00020000, vr: 'UL', value: [meta.byteLength] }], 'explicit-le');
  const prefix = new Uint8Array(132);
  prefix.set([0x44, 0x49, 0x43, 0x4d], 128);
  return concat([prefix, groupLength, meta, body]);
}

/** Attributes of a minimal secondary-capture image; `pixels` is Pixel Data in file byte order. */
export interface ImageSpec {
  readonly rows: number;
  readonly columns: number;
  readonly bitsAllocated: number;
  readonly bitsStored?: number;
  readonly highBit?: number;
  readonly pixelRepresentation?: 0 | 1;
  readonly samplesPerPixel?: number;
  readonly planarConfiguration?: 0 | 1;
  readonly photometric?: string;
  readonly frames?: number;
  readonly pixels?: Uint8Array;
  readonly pixelVr?: 'OB' | 'OW';
  readonly extra?: readonly Element[];
}

/** The elements of a minimal image: identification, Image Pixel module, Pixel Data, `extra`. */
export function imageElements(spec: ImageSpec): Element[] {
  const bitsStored = spec.bitsStored ?? spec.bitsAllocated;
  const samples = spec.samplesPerPixel ?? 1;
  const elements: Element[] = [
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' },
    { tag: 0x00080018, vr: 'UI', value: '1.2.826.0.1.3680043.8.498.3' },
    { tag: 0x00080060, vr: 'CS', value: 'OT' },
    { tag: 0x0020000d, vr: 'UI', value: '1.2.826.0.1.3680043.8.498.1' },
    { tag: 0x0020000e, vr: 'UI', value: '1.2.826.0.1.3680043.8.498.2' },
    { tag: 0x00280002, vr: 'US', value: [samples] },
    { tag: 0x00280004, vr: 'CS', value: spec.photometric ?? (samples === 3 ? 'RGB' : 'MONOCHROME2') },
    { tag: 0x00280010, vr: 'US', value: [spec.rows] },
    { tag: 0x00280011, vr: 'US', value: [spec.columns] },
    { tag: 0x00280100, vr: 'US', value: [spec.bitsAllocated] },
    { tag: 0x00280101, vr: 'US', value: [bitsStored] },
    { tag: 0x00280102, vr: 'US', value: [spec.highBit ?? bitsStored - 1] },
    { tag: 0x00280103, vr: 'US', value: [spec.pixelRepresentation ?? 0] },
  ];
  if (samples === 3) elements.push({ tag: 0x00280006, vr: 'US', value: [spec.planarConfiguration ?? 0] });
  if (spec.frames !== undefined) elements.push({ tag: 0x00280008, vr: 'IS', value: String(spec.frames) });
  if (spec.pixels !== undefined) {
    elements.push({ tag: 0x7fe00010, vr: spec.pixelVr ?? (spec.bitsAllocated > 8 ? 'OW' : 'OB'), value: spec.pixels });
  }
  return [...elements, ...(spec.extra ?? [])];
}

/** A minimal image file. */
export function buildImage(spec: ImageSpec, syntax: Syntax = 'explicit-le'): Uint8Array {
  return buildPart10(imageElements(spec), syntax);
}

/** Little-endian 16-bit words. */
export function u16le(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    view.setUint16(i * 2, v & 0xffff, true);
  });
  return out;
}

/** Big-endian 16-bit words. */
export function u16be(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    view.setUint16(i * 2, v & 0xffff, false);
  });
  return out;
}

/** An SQ value of defined-length items, each encoded in `syntax` (never deflated here). */
export function sequenceValue(items: readonly (readonly Element[])[], syntax: Exclude<Syntax, 'deflated'> = 'explicit-le'): Uint8Array {
  const littleEndian = syntax !== 'explicit-be';
  return concat(
    items.map((item) => {
      const body = encodeDataSet(item, syntax);
      const header = new Uint8Array(8);
      const view = new DataView(header.buffer);
      view.setUint16(0, 0xfffe, littleEndian);
      view.setUint16(2, 0xe000, littleEndian);
      view.setUint32(4, body.byteLength, littleEndian);
      return concat([header, body]);
    }),
  );
}

/** Encapsulated Pixel Data (PS3.5 A.4): undefined-length OB, Basic Offset Table item, fragment items, delimiter. */
export function encapsulatedPixelData(fragments: readonly Uint8Array[], offsets: readonly number[] = []): Uint8Array {
  const item = (bytes: Uint8Array): Uint8Array => {
    const header = new Uint8Array(8);
    const view = new DataView(header.buffer);
    view.setUint16(0, 0xfffe, true);
    view.setUint16(2, 0xe000, true);
    view.setUint32(4, bytes.byteLength, true);
    return concat([header, bytes]);
  };
  const table = new Uint8Array(offsets.length * 4);
  offsets.forEach((o, i) => {
    new DataView(table.buffer).setUint32(i * 4, o, true);
  });
  const head = Uint8Array.of(0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff);
  const delimiter = Uint8Array.of(0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0);
  return concat([head, item(table), ...fragments.map((f) => item(f.byteLength % 2 === 0 ? f : concat([f, new Uint8Array(1)]))), delimiter]);
}

/** An image whose Pixel Data is encapsulated in `transferSyntaxUid` (Explicit VR Little Endian data set). */
export function buildEncapsulatedImage(spec: Omit<ImageSpec, 'pixels'>, transferSyntaxUid: string, fragments: readonly Uint8Array[], offsets?: readonly number[]): Uint8Array {
  const elements = imageElements(spec);
  return buildPart10Raw(elements, transferSyntaxUid, concat([encodeDataSet(elements, 'explicit-le'), encapsulatedPixelData(fragments, offsets)]));
}

/** One RLE frame (PS3.5 Annex G) from byte planes, each coded as literal runs of up to 128 bytes. */
export function rleFrame(planes: readonly Uint8Array[]): Uint8Array {
  const segments = planes.map((plane) => {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < plane.byteLength; i += 128) {
      const run = plane.subarray(i, Math.min(plane.byteLength, i + 128));
      parts.push(Uint8Array.of(run.byteLength - 1), run);
    }
    const body = concat(parts);
    return body.byteLength % 2 === 0 ? body : concat([body, Uint8Array.of(0x80)]);
  });
  const header = new Uint8Array(64);
  const view = new DataView(header.buffer);
  view.setUint32(0, segments.length, true);
  let offset = 64;
  segments.forEach((seg, i) => {
    view.setUint32(4 + 4 * i, offset, true);
    offset += seg.byteLength;
  });
  return concat([header, ...segments]);
}
