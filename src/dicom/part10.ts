/**
 * The Part 10 envelope (PS3.10 7.1): preamble, `DICM`, File Meta Information. Read here, before
 * dcmjs, so that a non-DICOM body gets a precise error and a deflated data set is inflated
 * under a size limit (dcmjs inflates with no bound, which a deflate bomb would exploit).
 */
import { inflateRawSync } from 'node:zlib';

import { AppError } from '../errors.js';
import { DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from './transfer-syntax.js';
import type { DicomLimits } from './types.js';

const PREFIX_END = 132; // 128-byte preamble + 'DICM'
const META_GROUP = 0x0002;
const TAG_GROUP_LENGTH = 0x00020000;
const TAG_TRANSFER_SYNTAX = 0x00020010;
/** Explicit VRs whose length is 32-bit after two reserved bytes (PS3.5 7.1.2). */
const LONG_VRS: ReadonlySet<string> = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/** A Part 10 file ready for dcmjs: an ArrayBuffer holding exactly the file, never inflated by dcmjs. */
export interface Part10File {
  /** Exactly the file's bytes (or the rewritten, inflated equivalent); never a pooled Buffer's backing store. */
  readonly buffer: ArrayBuffer;
  /** The transfer syntax the file was sent in (deflated files keep their original UID here). */
  readonly transferSyntaxUid: string;
}

interface MetaElement {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
  readonly valueStart: number;
}

/**
 * Checks the Part 10 envelope and returns a buffer dcmjs can read. A deflated data set is
 * inflated here, bounded by `limits.maxInflatedBytes`, and the file is rewritten with an
 * Explicit VR Little Endian meta header so dcmjs does not inflate it again.
 *
 * @param input - the file; a view into a larger buffer is fine
 * @param limits - `maxInflatedBytes` bounds inflation
 * @throws AppError DICOM_INVALID when the envelope is malformed, DICOM_TOO_LARGE when inflation exceeds the limit
 */
export function preparePart10(input: ArrayBuffer | Uint8Array, limits: DicomLimits): Part10File {
  // isView / toString tags rather than instanceof: buffers may come from another realm (jest's vm, workers).
  const bytes = ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
  if (bytes.byteLength < PREFIX_END + 8 || ascii(bytes, 128, 132) !== 'DICM') {
    throw new AppError('DICOM_INVALID', "Not a DICOM Part 10 file: the 'DICM' prefix is missing at byte 128.");
  }
  const { elements, end } = readMetaElements(bytes);
  const tsElement = elements.find((e) => e.tag === TAG_TRANSFER_SYNTAX);
  if (tsElement === undefined) {
    throw new AppError('DICOM_INVALID', 'The File Meta Information has no Transfer Syntax UID (0002,0010).');
  }
  const transferSyntaxUid = uidValue(bytes, tsElement);
  if (transferSyntaxUid !== DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN) {
    return { buffer: withReadableCharacterSet(ownedArrayBuffer(bytes), bytes, end, transferSyntaxUid), transferSyntaxUid };
  }
  const inflated = inflateBounded(bytes.subarray(end), limits.maxInflatedBytes);
  const rewritten = rewriteAsExplicitLittle(bytes, elements, inflated);
  const datasetStart = rewritten.byteLength - inflated.byteLength;
  return { buffer: withReadableCharacterSet(rewritten, new Uint8Array(rewritten), datasetStart, EXPLICIT_VR_LITTLE_ENDIAN), transferSyntaxUid };
}

/** Character sets dcmjs 0.52 decodes, by its normalised name (see its `encodingMapping`). */
const DCMJS_CHARSETS: ReadonlySet<string> = new Set([
  '', 'iso-ir-6', 'iso-ir-13', 'iso-ir-100', 'iso-ir-101', 'iso-ir-109', 'iso-ir-110', 'iso-ir-126', 'iso-ir-127', 'iso-ir-138',
  'iso-ir-144', 'iso-ir-148', 'iso-ir-166', 'iso-ir-192', 'gb18030', 'gbk', 'iso-2022-ir-6', 'iso-2022-ir-13', 'iso-2022-ir-87',
  'iso-2022-ir-100', 'iso-2022-ir-101', 'iso-2022-ir-109', 'iso-2022-ir-110', 'iso-2022-ir-126', 'iso-2022-ir-127', 'iso-2022-ir-138',
  'iso-2022-ir-144', 'iso-2022-ir-148', 'iso-2022-ir-149', 'iso-2022-ir-159', 'iso-2022-ir-166', 'iso-2022-ir-58', 'iso-2022-gbk', 'iso-2022-58',
]);
const TAG_SPECIFIC_CHARACTER_SET = 0x00080005;

/**
 * dcmjs refuses a multi-valued Specific Character Set (0008,0005) — the ISO 2022 code extension
 * that Japanese and Korean sites use, e.g. `ISO 2022 IR 13\ISO 2022 IR 87` — and any term it
 * does not know, and refuses the whole file with it. Only text (names, descriptions) depends on
 * the character set; UIDs, codes, numbers and pixels do not. So the top-level value is
 * replaced, in a copy and at the same length, by its first term dcmjs knows (else the default
 * repertoire); the file's own bytes are never modified.
 */
function withReadableCharacterSet(buffer: ArrayBuffer, bytes: Uint8Array, start: number, transferSyntaxUid: string): ArrayBuffer {
  const found = findCharacterSet(bytes, start, transferSyntaxUid);
  if (found === undefined) return buffer;
  const terms = ascii(bytes, found.valueStart, found.valueStart + found.length).split('\\').map((t) => t.trim());
  const known = (t: string): boolean => DCMJS_CHARSETS.has(t.replace(/[_ ]/g, '-').toLowerCase());
  if (terms.length === 1 && known(terms[0] ?? '')) return buffer;
  const replacement = (terms.find((t) => t !== '' && known(t)) ?? '').padEnd(found.length, ' ').slice(0, found.length);
  const copy = new Uint8Array(buffer.byteLength);
  copy.set(new Uint8Array(buffer));
  for (let i = 0; i < found.length; i++) copy[found.valueStart + i] = replacement.charCodeAt(i);
  return copy.buffer;
}

/** The top-level (0008,0005) value, looking only at the first few elements of the data set. */
function findCharacterSet(bytes: Uint8Array, start: number, transferSyntaxUid: string): { valueStart: number; length: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = transferSyntaxUid !== EXPLICIT_VR_BIG_ENDIAN;
  const explicit = transferSyntaxUid !== IMPLICIT_VR_LITTLE_ENDIAN;
  let offset = start;
  for (let n = 0; n < 8 && offset + 8 <= bytes.byteLength; n++) {
    const tag = ((view.getUint16(offset, little) << 16) | view.getUint16(offset + 2, little)) >>> 0;
    if (tag > TAG_SPECIFIC_CHARACTER_SET) return undefined;
    let valueStart = offset + 8;
    let length: number;
    if (!explicit) {
      length = view.getUint32(offset + 4, little);
    } else if (LONG_VRS.has(ascii(bytes, offset + 4, offset + 6))) {
      if (offset + 12 > bytes.byteLength) return undefined;
      length = view.getUint32(offset + 8, little);
      valueStart = offset + 12;
    } else {
      length = view.getUint16(offset + 6, little);
    }
    if (length === 0xffffffff || valueStart + length > bytes.byteLength) return undefined;
    if (tag === TAG_SPECIFIC_CHARACTER_SET) return { valueStart, length };
    offset = valueStart + length;
  }
  return undefined;
}

/** Copies the view out unless it already covers its whole ArrayBuffer (Node pools small Buffers). */
function ownedArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const { buffer, byteOffset, byteLength } = bytes;
  if (isArrayBuffer(buffer) && byteOffset === 0 && byteLength === buffer.byteLength) return buffer;
  const copy = new Uint8Array(byteLength);
  copy.set(bytes);
  return copy.buffer;
}

/** True for an ArrayBuffer of any realm (a SharedArrayBuffer is copied instead). */
export function isArrayBuffer(value: unknown): value is ArrayBuffer {
  return Object.prototype.toString.call(value) === '[object ArrayBuffer]';
}

function readMetaElements(bytes: Uint8Array): { elements: MetaElement[]; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const elements: MetaElement[] = [];
  let offset = PREFIX_END;
  // The group is read element by element rather than trusting (0002,0000), which some writers get wrong.
  while (offset + 8 <= bytes.byteLength && view.getUint16(offset, true) === META_GROUP) {
    const tag = (META_GROUP << 16) | view.getUint16(offset + 2, true);
    const vr = ascii(bytes, offset + 4, offset + 6);
    let valueStart: number;
    let length: number;
    if (LONG_VRS.has(vr)) {
      if (offset + 12 > bytes.byteLength) break;
      length = view.getUint32(offset + 8, true);
      valueStart = offset + 12;
    } else {
      length = view.getUint16(offset + 6, true);
      valueStart = offset + 8;
    }
    if (!/^[A-Z]{2}$/.test(vr) || length === 0xffffffff || valueStart + length > bytes.byteLength) {
      throw new AppError('DICOM_INVALID', 'The File Meta Information is malformed (bad VR or length).');
    }
    elements.push({ tag: tag >>> 0, start: offset, end: valueStart + length, valueStart });
    offset = valueStart + length;
  }
  if (elements.length === 0) {
    throw new AppError('DICOM_INVALID', 'The File Meta Information (group 0002) is missing.');
  }
  return { elements, end: offset };
}

function inflateBounded(deflated: Uint8Array, maxBytes: number): Uint8Array {
  try {
    return inflateRawSync(deflated, { maxOutputLength: maxBytes });
  } catch (err) {
    // Checked by code, not `instanceof RangeError`: errors from Node core may come from another realm (jest's vm).
    if ((err as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE') {
      throw new AppError('DICOM_TOO_LARGE', `The deflated data set inflates to more than ${maxBytes} bytes.`, { cause: err });
    }
    throw new AppError('DICOM_INVALID', 'The deflated data set cannot be inflated.', { cause: err });
  }
}

/** Rebuilds preamble + meta (Transfer Syntax = Explicit VR LE, fresh group length) + inflated data set. */
function rewriteAsExplicitLittle(bytes: Uint8Array, elements: readonly MetaElement[], dataSet: Uint8Array): ArrayBuffer {
  const kept = elements.filter((e) => e.tag !== TAG_GROUP_LENGTH && e.tag !== TAG_TRANSFER_SYNTAX);
  const uid = EXPLICIT_VR_LITTLE_ENDIAN + '\0'; // UI values are padded to even length with NUL
  const tsLength = 8 + uid.length;
  const metaLength = kept.reduce((sum, e) => sum + (e.end - e.start), 0) + tsLength;
  const out = new Uint8Array(PREFIX_END + 12 + metaLength + dataSet.byteLength);
  const view = new DataView(out.buffer);
  out.set(bytes.subarray(0, PREFIX_END));
  let offset = PREFIX_END;
  offset = writeShortHeader(out, view, offset, 0x0000, 'UL', 4);
  view.setUint32(offset, metaLength, true);
  offset += 4;
  let tsWritten = false;
  for (const element of kept) {
    if (!tsWritten && element.tag > TAG_TRANSFER_SYNTAX) {
      offset = writeTransferSyntax(out, view, offset, uid);
      tsWritten = true;
    }
    out.set(bytes.subarray(element.start, element.end), offset);
    offset += element.end - element.start;
  }
  if (!tsWritten) offset = writeTransferSyntax(out, view, offset, uid);
  out.set(dataSet, offset);
  return out.buffer;
}

function writeTransferSyntax(out: Uint8Array, view: DataView, offset: number, uid: string): number {
  const valueStart = writeShortHeader(out, view, offset, 0x0010, 'UI', uid.length);
  for (let i = 0; i < uid.length; i++) out[valueStart + i] = uid.charCodeAt(i);
  return valueStart + uid.length;
}

function writeShortHeader(out: Uint8Array, view: DataView, offset: number, element: number, vr: string, length: number): number {
  view.setUint16(offset, META_GROUP, true);
  view.setUint16(offset + 2, element, true);
  out[offset + 4] = vr.charCodeAt(0);
  out[offset + 5] = vr.charCodeAt(1);
  view.setUint16(offset + 6, length, true);
  return offset + 8;
}

function uidValue(bytes: Uint8Array, element: MetaElement): string {
  return ascii(bytes, element.valueStart, element.end).replace(/[\0 ]+$/, '');
}

const LATIN1 = new TextDecoder('latin1');

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return LATIN1.decode(bytes.subarray(start, end));
}
