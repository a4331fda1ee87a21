/**
 * The Part 10 envelope (PS3.10 7.1): preamble, `DICM`, File Meta Information. A non-DICOM body
 * gets a precise error here, and a deflated data set is inflated under a size limit (a deflate
 * bomb must not exhaust memory). Nothing is copied otherwise: the data set is read in place.
 */
import { inflateRawSync } from 'node:zlib';

import { AppError } from '../errors.js';
import { DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from './transfer-syntax.js';
import type { DicomLimits } from './types.js';

const PREFIX_END = 132; // 128-byte preamble + 'DICM'
const META_GROUP = 0x0002;
const TAG_TRANSFER_SYNTAX = 0x0010;
/** Explicit VRs whose length is 32-bit after two reserved bytes (PS3.5 7.1.2). */
const LONG_VRS: ReadonlySet<string> = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/** Where the data set of a Part 10 file lies, and how it is encoded. */
export interface Part10DataSet {
  /** Bytes holding the data set from `start` to the end: the input itself, or the inflated data set. */
  readonly bytes: Uint8Array;
  readonly start: number;
  /** The transfer syntax the file was sent in (deflated files keep their original UID here). */
  readonly transferSyntaxUid: string;
  /** Explicit VR (every syntax but Implicit VR Little Endian). */
  readonly explicitVr: boolean;
  readonly littleEndian: boolean;
}

/**
 * Checks the Part 10 envelope and locates the data set. A deflated data set is inflated here,
 * bounded by `limits.maxInflatedBytes`; any other is left where it is (a view, never a copy).
 *
 * @param input - the file; a view into a larger buffer is fine
 * @param limits - `maxInflatedBytes` bounds inflation
 * @throws AppError DICOM_INVALID when the envelope is malformed, DICOM_TOO_LARGE when inflation exceeds the limit
 */
export function readPart10(input: ArrayBuffer | Uint8Array, limits: DicomLimits): Part10DataSet {
  // isView rather than instanceof: buffers may come from another realm (jest's vm, workers).
  const bytes = ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
  if (bytes.byteLength < PREFIX_END + 8 || bytes[128] !== 0x44 || bytes[129] !== 0x49 || bytes[130] !== 0x43 || bytes[131] !== 0x4d) {
    throw new AppError('DICOM_INVALID', "Not a DICOM Part 10 file: the 'DICM' prefix is missing at byte 128.");
  }
  const { transferSyntaxUid, end } = readMeta(bytes);
  if (transferSyntaxUid === undefined) {
    throw new AppError('DICOM_INVALID', 'The File Meta Information has no Transfer Syntax UID (0002,0010).');
  }
  if (transferSyntaxUid === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN) {
    const inflated = inflateBounded(bytes.subarray(end), limits.maxInflatedBytes);
    return { bytes: inflated, start: 0, transferSyntaxUid, explicitVr: true, littleEndian: true };
  }
  return {
    bytes,
    start: end,
    transferSyntaxUid,
    explicitVr: transferSyntaxUid !== IMPLICIT_VR_LITTLE_ENDIAN,
    littleEndian: transferSyntaxUid !== EXPLICIT_VR_BIG_ENDIAN,
  };
}

/**
 * Reads group 0002 element by element for the Transfer Syntax UID. The data set starts where
 * File Meta Information Group Length (0002,0000) says when the group starts with it (as dcmjs
 * and dcmtk read it), else after the last element of group 0002.
 */
function readMeta(bytes: Uint8Array): { transferSyntaxUid: string | undefined; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let transferSyntaxUid: string | undefined;
  let declaredEnd: number | undefined;
  let offset = PREFIX_END;
  let count = 0;
  while (offset + 8 <= bytes.byteLength && view.getUint16(offset, true) === META_GROUP) {
    const element = view.getUint16(offset + 2, true);
    const vr = String.fromCharCode(bytes[offset + 4] as number, bytes[offset + 5] as number);
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
    if (count === 0 && element === 0x0000 && length === 4) declaredEnd = valueStart + 4 + view.getUint32(valueStart, true);
    if (element === TAG_TRANSFER_SYNTAX) transferSyntaxUid = latin1(bytes, valueStart, valueStart + length).replace(/[\0 ]+$/, '');
    offset = valueStart + length;
    count++;
  }
  if (count === 0) {
    throw new AppError('DICOM_INVALID', 'The File Meta Information (group 0002) is missing.');
  }
  return { transferSyntaxUid, end: declaredEnd !== undefined && declaredEnd <= bytes.byteLength ? declaredEnd : offset };
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

/** Bytes [start, end) as one character per byte (ISO 8859-1). */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i++) out += String.fromCharCode(bytes[i] as number);
  return out;
}
