/**
 * A DICOM data set (PS3.5 7), read in place: one pass over the element headers that records
 * where the wanted elements lie and jumps over everything else (sequences included, nested to
 * any sane depth), stopping at the top-level Pixel Data. No value is decoded and nothing is
 * copied here; element-values.ts decodes the few values a caller asks for.
 */
import { AppError } from '../errors.js';
import { readPixelDataValue } from './fragments.js';
import type { PixelDataValue } from './fragments.js';

/** Where one element's value lies. `vr` is as written (explicit VR) or '' (implicit VR). */
export interface Located {
  readonly vr: string;
  readonly start: number;
  readonly length: number;
}

/** The bytes a data set lives in and how they are encoded. */
export interface Encoding {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly explicitVr: boolean;
  readonly littleEndian: boolean;
}

/** What a walk records: the wanted elements, the first item of the wanted sequences, Pixel Data. */
export interface DataSet {
  readonly encoding: Encoding;
  readonly elements: ReadonlyMap<number, Located>;
  readonly firstItems: ReadonlyMap<number, DataSet>;
  /** Top-level Pixel Data (7FE0,0010), when the walk reached it. */
  readonly pixelData: PixelDataValue | undefined;
}

/** Which tags a walk records. */
export interface Wanted {
  readonly elements: ReadonlySet<number>;
  /** Sequences whose first item is walked (with `item`); others are skipped whole. */
  readonly sequences: ReadonlySet<number>;
  readonly item: Wanted | undefined;
}

const UNDEFINED_LENGTH = 0xffffffff;
const TAG_ITEM = 0xfffee000;
const TAG_ITEM_END = 0xfffee00d;
const TAG_SEQUENCE_END = 0xfffee0dd;
const TAG_PIXEL_DATA = 0x7fe00010;
/** Sequences nest this deep at most; deeper is refused rather than risking the stack. */
const MAX_DEPTH = 48;
const vrCode = (vr: string): number => (vr.charCodeAt(0) << 8) | vr.charCodeAt(1);
/**
 * Explicit VRs with a 16-bit length (PS3.5 7.1.2). Every other VR, unknown ones included (read
 * as UN, as dcmjs does), has two reserved bytes and a 32-bit length.
 */
const SHORT_VRS: ReadonlySet<number> = new Set(
  ['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FL', 'FD', 'IS', 'LO', 'LT', 'PN', 'SH', 'SL', 'SS', 'ST', 'TM', 'UI', 'UL', 'US'].map(vrCode),
);
const VR_UN = vrCode('UN');

interface Header {
  readonly tag: number;
  /** Two VR characters as one number (explicit VR), 0 for implicit VR and items. */
  readonly vr: number;
  readonly valueStart: number;
  readonly length: number;
}

function invalid(detail: string): AppError {
  return new AppError('DICOM_INVALID', `The DICOM data set cannot be read: ${detail}.`);
}

/** Makes an encoding over `bytes`. */
export function encodingOf(bytes: Uint8Array, explicitVr: boolean, littleEndian: boolean): Encoding {
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), explicitVr, littleEndian };
}

/** Implicit VR Little Endian: how UN values of undefined length are encoded (PS3.5 6.2.2). */
function implicitLittle(enc: Encoding): Encoding {
  return enc.explicitVr || !enc.littleEndian ? { ...enc, explicitVr: false, littleEndian: true } : enc;
}

function readHeader(enc: Encoding, offset: number, end: number): Header {
  const { view, littleEndian } = enc;
  if (offset + 8 > end) throw invalid(`an element header at byte ${offset} runs past the end`);
  const tag = ((view.getUint16(offset, littleEndian) << 16) | view.getUint16(offset + 2, littleEndian)) >>> 0;
  if (!enc.explicitVr || tag >>> 16 === 0xfffe) return { tag, vr: 0, valueStart: offset + 8, length: view.getUint32(offset + 4, littleEndian) };
  const vr = view.getUint16(offset + 4, false);
  if (SHORT_VRS.has(vr)) return { tag, vr, valueStart: offset + 8, length: view.getUint16(offset + 6, littleEndian) };
  if (offset + 12 > end) throw invalid(`an element header at byte ${offset} runs past the end`);
  return { tag, vr, valueStart: offset + 12, length: view.getUint32(offset + 8, littleEndian) };
}

/**
 * Walks the top-level data set from `start` to the end of the bytes, stopping after Pixel Data.
 *
 * @throws AppError DICOM_INVALID for a structure that cannot be followed (an element running
 *   past the end, an item or delimiter where none may be, nesting deeper than 48)
 */
export function walkDataSet(enc: Encoding, start: number, wanted: Wanted): DataSet {
  return walk(enc, start, enc.bytes.byteLength, false, wanted, 0).dataSet;
}

/** Walks elements from `offset` to `end`, or (in an item of undefined length) to the item delimiter. */
function walk(enc: Encoding, offset: number, end: number, inItem: boolean, wanted: Wanted | undefined, depth: number): { dataSet: DataSet; next: number } {
  if (depth > MAX_DEPTH) throw invalid(`sequences nest deeper than ${MAX_DEPTH}`);
  const elements = new Map<number, Located>();
  const firstItems = new Map<number, DataSet>();
  let pixelData: PixelDataValue | undefined;
  let pos = offset;
  while (pos < end) {
    // Fewer bytes than a header at the top level: trailing padding, ignored.
    if (!inItem && pos + 8 > end) break;
    const h = readHeader(enc, pos, end);
    if (h.tag === TAG_ITEM_END && inItem) return { dataSet: { encoding: enc, elements, firstItems, pixelData }, next: h.valueStart };
    if (h.tag >>> 16 === 0xfffe) {
      // A stray delimiter at the top level (some writers leave one) is skipped; elsewhere it is an error.
      if (!inItem && h.tag === TAG_SEQUENCE_END) {
        pos = h.valueStart;
        continue;
      }
      throw invalid(`unexpected item tag (FFFE,${(h.tag & 0xffff).toString(16).toUpperCase()}) at byte ${pos}`);
    }
    if (h.tag === TAG_PIXEL_DATA && depth === 0) {
      pixelData = readPixelDataValue(enc, h.valueStart, h.length, vrName(h.vr));
      break;
    }
    if (wanted?.sequences.has(h.tag) === true) {
      pos = readSequence(enc, h, end, wanted.item, firstItems, depth);
      continue;
    }
    if (h.length === UNDEFINED_LENGTH) {
      pos = skipUndefined(h.vr === VR_UN ? implicitLittle(enc) : enc, h.valueStart, end, depth + 1);
      continue;
    }
    const next = h.valueStart + h.length;
    if (next > end) throw invalid(`element (${hex(h.tag >>> 16)},${hex(h.tag & 0xffff)}) runs past the end of the data`);
    if (wanted?.elements.has(h.tag) === true) elements.set(h.tag, { vr: vrName(h.vr), start: h.valueStart, length: h.length });
    pos = next;
  }
  if (inItem) throw invalid('an item has no delimiter');
  return { dataSet: { encoding: enc, elements, firstItems, pixelData }, next: pos };
}

/** Walks the first item of a wanted sequence into `firstItems`; returns where the sequence ends. */
function readSequence(enc: Encoding, h: Header, end: number, itemWanted: Wanted | undefined, firstItems: Map<number, DataSet>, depth: number): number {
  const content = h.vr === VR_UN ? implicitLittle(enc) : enc;
  const seqEnd = h.length === UNDEFINED_LENGTH ? end : h.valueStart + h.length;
  if (seqEnd > end) throw invalid('a sequence runs past the end of the data');
  if (h.valueStart + 8 <= seqEnd) {
    const item = readHeader(content, h.valueStart, seqEnd);
    if (item.tag === TAG_ITEM) {
      const itemEnd = item.length === UNDEFINED_LENGTH ? seqEnd : item.valueStart + item.length;
      if (itemEnd > seqEnd) throw invalid('a sequence item runs past the end of its sequence');
      const first = walk(content, item.valueStart, itemEnd, item.length === UNDEFINED_LENGTH, itemWanted, depth + 1);
      firstItems.set(h.tag, first.dataSet);
    }
  }
  return h.length === UNDEFINED_LENGTH ? skipUndefined(content, h.valueStart, end, depth + 1) : seqEnd;
}

/**
 * Skips the value of an element of undefined length: items (of defined or undefined length)
 * up to the sequence delimiter. Encapsulated fragments are items too.
 */
function skipUndefined(enc: Encoding, offset: number, end: number, depth: number): number {
  if (depth > MAX_DEPTH) throw invalid(`sequences nest deeper than ${MAX_DEPTH}`);
  let pos = offset;
  for (;;) {
    const h = readHeader(enc, pos, end);
    if (h.tag === TAG_SEQUENCE_END) return h.valueStart;
    if (h.tag !== TAG_ITEM) throw invalid(`expected an item at byte ${pos}`);
    if (h.length === UNDEFINED_LENGTH) {
      pos = walk(enc, h.valueStart, end, true, undefined, depth + 1).next;
    } else {
      pos = h.valueStart + h.length;
      if (pos > end) throw invalid('a sequence item runs past the end of the data');
    }
  }
}

function vrName(code: number): string {
  return code === 0 ? '' : String.fromCharCode(code >>> 8, code & 0xff);
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}
