/**
 * A forgiving walk over the element headers of a Part 10 file, so that mutations can aim at
 * real structure (a length field, a VR, a tag, an encapsulated fragment) instead of random
 * bytes only. It reads headers, never values, descends into sequences and items, skips
 * fragment contents, and stops quietly where the bytes stop making sense.
 *
 * This is the fuzzer's own map of the bytes, independent of the product's parser.
 */

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  deflated: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
} as const;

/** Every transfer syntax a swap may choose: supported ones, refused ones, and nonsense. */
export const TRANSFER_SYNTAXES: readonly string[] = [
  TS.implicitLE, TS.explicitLE, TS.deflated, TS.explicitBE,
  '1.2.840.10008.1.2.5', '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.57',
  '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81', '1.2.840.10008.1.2.4.90',
  '1.2.840.10008.1.2.4.91', '1.2.840.10008.1.2.4.92', '1.2.840.10008.1.2.4.93', '1.2.840.10008.1.2.4.201',
  '1.2.840.10008.1.2.4.100', '1.2.840.10008.1.2.4.110', '1.2.840.10008.1.2.1.98', '1.2.840.10008.1.2.4.52',
  '1.2.840.10008.1.2.4.55', '1.2.840.10008.1.2.4.60', '', '1.2', 'garbage', '1.2.840.10008.1.2.1\0\0\0\0\0\0\0\0\0',
];

/** VRs whose explicit-VR header has 2 reserved bytes and a 4-byte length. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
export const ALL_VRS: readonly string[] = ['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FL', 'FD', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV', 'XX', '\0\0'];

export const TAG = {
  metaGroupLength: 0x00020000,
  transferSyntax: 0x00020010,
  samplesPerPixel: 0x00280002,
  photometric: 0x00280004,
  planar: 0x00280006,
  numberOfFrames: 0x00280008,
  rows: 0x00280010,
  columns: 0x00280011,
  bitsAllocated: 0x00280100,
  bitsStored: 0x00280101,
  highBit: 0x00280102,
  pixelRepresentation: 0x00280103,
  windowCenter: 0x00281050,
  windowWidth: 0x00281051,
  rescaleIntercept: 0x00281052,
  rescaleSlope: 0x00281053,
  pixelData: 0x7fe00010,
  item: 0xfffee000,
  itemDelimiter: 0xfffee00d,
  sequenceDelimiter: 0xfffee0dd,
} as const;

/** One element (or item, or delimiter) header found in the bytes. */
export interface WalkedElement {
  /** Offset of the tag. */
  readonly offset: number;
  /** (group << 16 | element), unsigned. */
  readonly tag: number;
  /** Explicit VR as written (two characters), undefined for implicit VR and items. */
  readonly vr: string | undefined;
  readonly lengthOffset: number;
  readonly lengthSize: 2 | 4;
  /** Declared length (0xFFFFFFFF = undefined). */
  readonly length: number;
  readonly valueOffset: number;
  /** Nesting depth: 0 for the top-level data set. */
  readonly depth: number;
  /** True for the items of encapsulated Pixel Data (the first one is the Basic Offset Table). */
  readonly fragment: boolean;
  readonly bigEndian: boolean;
  readonly explicit: boolean;
}

/** What the walk found. */
export interface Walk {
  /** Where the data set after the meta group starts (0 without a Part 10 preamble). */
  readonly datasetStart: number;
  readonly transferSyntax: string | undefined;
  readonly elements: readonly WalkedElement[];
}

const UNDEFINED = 0xffffffff;
const MAX_ELEMENTS = 20_000;

function readTag(view: DataView, at: number, big: boolean): number {
  return ((view.getUint16(at, !big) << 16) | view.getUint16(at + 2, !big)) >>> 0;
}

function isVr(bytes: Uint8Array, at: number): boolean {
  const a = bytes[at] ?? 0;
  const b = bytes[at + 1] ?? 0;
  return a >= 0x41 && a <= 0x5a && b >= 0x41 && b <= 0x5a;
}

function asciiAt(bytes: Uint8Array, at: number, length: number): string {
  let s = '';
  for (let i = at; i < at + length && i < bytes.byteLength; i++) s += String.fromCharCode(bytes[i] ?? 0);
  return s;
}

/** The value of the meta group's transfer syntax, without padding. */
function metaTransferSyntax(elements: readonly WalkedElement[], bytes: Uint8Array): string | undefined {
  const ts = elements.find((e) => e.tag === TAG.transferSyntax);
  if (ts === undefined || ts.length === UNDEFINED) return undefined;
  return asciiAt(bytes, ts.valueOffset, Math.min(ts.length, 64)).replace(/[\0 ]+$/, '');
}

interface WalkState {
  pos: number;
  /** End offsets of the containers we are in (Infinity: undefined length). */
  readonly ends: number[];
  encapsulated: boolean;
}

function readHeader(bytes: Uint8Array, view: DataView, s: WalkState, big: boolean, explicit: boolean): WalkedElement | undefined {
  const at = s.pos;
  if (at + 8 > bytes.byteLength) return undefined;
  const tag = readTag(view, at, big);
  const depth = s.ends.length;
  if (tag >>> 16 === 0xfffe) {
    return { offset: at, tag, vr: undefined, lengthOffset: at + 4, lengthSize: 4, length: view.getUint32(at + 4, !big), valueOffset: at + 8, depth, fragment: s.encapsulated, bigEndian: big, explicit };
  }
  if (explicit) {
    if (!isVr(bytes, at + 4)) return undefined;
    const vr = asciiAt(bytes, at + 4, 2);
    if (LONG_VRS.has(vr)) {
      if (at + 12 > bytes.byteLength) return undefined;
      return { offset: at, tag, vr, lengthOffset: at + 8, lengthSize: 4, length: view.getUint32(at + 8, !big), valueOffset: at + 12, depth, fragment: false, bigEndian: big, explicit };
    }
    return { offset: at, tag, vr, lengthOffset: at + 6, lengthSize: 2, length: view.getUint16(at + 6, !big), valueOffset: at + 8, depth, fragment: false, bigEndian: big, explicit };
  }
  return { offset: at, tag, vr: undefined, lengthOffset: at + 4, lengthSize: 4, length: view.getUint32(at + 4, !big), valueOffset: at + 8, depth, fragment: false, bigEndian: big, explicit };
}

/** Where to continue after `e`: inside it (sequences, items), or past its value. */
function advance(bytes: Uint8Array, view: DataView, s: WalkState, e: WalkedElement): void {
  if (e.tag === TAG.sequenceDelimiter || e.tag === TAG.itemDelimiter) {
    if (e.tag === TAG.sequenceDelimiter) s.encapsulated = false;
    s.ends.pop();
    s.pos = e.valueOffset;
    return;
  }
  if (e.tag === TAG.item && s.encapsulated) {
    s.pos = e.length === UNDEFINED ? bytes.byteLength : e.valueOffset + e.length;
    return;
  }
  if (e.length === UNDEFINED) {
    if (e.tag === TAG.pixelData && e.depth === 0) s.encapsulated = true;
    s.ends.push(Infinity);
    s.pos = e.valueOffset;
    return;
  }
  const startsWithItem = e.valueOffset + 4 <= bytes.byteLength && e.length >= 8 && readTag(view, e.valueOffset, e.bigEndian) === TAG.item;
  if (e.tag === TAG.item || e.vr === 'SQ' || (e.vr === undefined && startsWithItem)) {
    s.ends.push(e.valueOffset + e.length);
    s.pos = e.valueOffset;
    return;
  }
  s.pos = e.valueOffset + e.length;
}

/**
 * Walks the headers of a file. Never throws; an empty or partial list means the bytes stopped
 * looking like DICOM there.
 */
export function walkDicom(bytes: Uint8Array): Walk {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const part10 = bytes.byteLength >= 132 && asciiAt(bytes, 128, 4) === 'DICM';
  const elements: WalkedElement[] = [];
  const s: WalkState = { pos: part10 ? 132 : 0, ends: [], encapsulated: false };
  // The meta group: always explicit VR little endian.
  while (part10 && s.pos + 8 <= bytes.byteLength && view.getUint16(s.pos, true) === 0x0002) {
    const e = readHeader(bytes, view, s, false, true);
    if (e === undefined) break;
    elements.push(e);
    s.pos = e.length === UNDEFINED ? bytes.byteLength : e.valueOffset + e.length;
  }
  const datasetStart = s.pos;
  const transferSyntax = metaTransferSyntax(elements, bytes);
  if (transferSyntax === TS.deflated) return { datasetStart, transferSyntax, elements };
  const big = transferSyntax === TS.explicitBE;
  const explicit = transferSyntax === undefined ? isVr(bytes, s.pos + 4) : transferSyntax !== TS.implicitLE;
  while (elements.length < MAX_ELEMENTS) {
    while (s.ends.length > 0 && s.pos >= (s.ends[s.ends.length - 1] ?? Infinity)) s.ends.pop();
    const e = readHeader(bytes, view, s, big, explicit);
    if (e === undefined) break;
    elements.push(e);
    advance(bytes, view, s, e);
    if (s.pos <= e.offset) break;
  }
  return { datasetStart, transferSyntax, elements };
}

/** The bytes of an element's header and value, clamped to the file. */
export function elementEnd(bytes: Uint8Array, e: WalkedElement): number {
  return e.length === UNDEFINED ? bytes.byteLength : Math.min(bytes.byteLength, e.valueOffset + e.length);
}

/** Writes an unsigned value of `size` bytes in the element's byte order. */
export function writeUint(bytes: Uint8Array, at: number, size: 2 | 4, value: number, bigEndian: boolean): void {
  if (at < 0 || at + size > bytes.byteLength) return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (size === 2) view.setUint16(at, value & 0xffff, !bigEndian);
  else view.setUint32(at, value >>> 0, !bigEndian);
}

/** `a` with `b` spliced in place of `[from, to)`. */
export function splice(a: Uint8Array, from: number, to: number, b: Uint8Array = new Uint8Array(0)): Uint8Array {
  const start = Math.max(0, Math.min(from, a.byteLength));
  const end = Math.max(start, Math.min(to, a.byteLength));
  const out = new Uint8Array(a.byteLength - (end - start) + b.byteLength);
  out.set(a.subarray(0, start), 0);
  out.set(b, start);
  out.set(a.subarray(end), start + b.byteLength);
  return out;
}

/** An element header plus value, encoded like `like` (byte order, explicit or implicit VR). */
export function encodeElement(tag: number, vr: string, value: Uint8Array, like: Pick<WalkedElement, 'bigEndian' | 'explicit'>): Uint8Array {
  const long = !like.explicit || LONG_VRS.has(vr);
  const header = like.explicit ? (long ? 12 : 8) : 8;
  const out = new Uint8Array(header + value.byteLength);
  const view = new DataView(out.buffer);
  const le = !like.bigEndian;
  view.setUint16(0, tag >>> 16, le);
  view.setUint16(2, tag & 0xffff, le);
  if (like.explicit) {
    out[4] = vr.charCodeAt(0);
    out[5] = vr.charCodeAt(1);
    if (long) view.setUint32(8, value.byteLength, le);
    else view.setUint16(6, value.byteLength & 0xffff, le);
  } else {
    view.setUint32(4, value.byteLength, le);
  }
  out.set(value, header);
  return out;
}

/** ASCII bytes, padded to even length with `pad`. */
export function ascii(s: string, pad = ' '): Uint8Array {
  const text = s.length % 2 === 0 ? s : s + pad;
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}
