/**
 * Reads the frame header of a JPEG, JPEG-LS or JPEG 2000 codestream without decoding it, so
 * that its dimensions can be checked against the DICOM header before a codec allocates
 * anything: a codestream that declares 60000 × 60000 inside a 512 × 512 image is refused here.
 */
import { AppError } from '../../errors.js';

/** The frame header fields every check needs. */
export interface CodestreamHeader {
  readonly width: number;
  readonly height: number;
  readonly components: number;
  /** Sample precision in bits (JPEG P, JPEG-LS P, JPEG 2000 Ssiz + 1 of the first component). */
  readonly precision: number;
}

/** A JPEG (ITU T.81) or JPEG-LS (T.87) frame header, with what colour handling needs. */
export interface JpegHeader extends CodestreamHeader {
  /** The SOF marker's low byte: 0xC0 baseline, 0xC1 extended, 0xC3 lossless, 0xF7 JPEG-LS, … */
  readonly sof: number;
  /** Component identifiers in frame order (JFIF uses 1, 2, 3; some RGB encoders 'R', 'G', 'B'). */
  readonly componentIds: readonly number[];
  /** Horizontal and vertical sampling factors per component. */
  readonly sampling: readonly (readonly [number, number])[];
  readonly hasJfif: boolean;
  /** Adobe APP14 colour transform flag (0: none/RGB, 1: YCbCr), undefined without the marker. */
  readonly adobeTransform: number | undefined;
}

const SOI = 0xd8;
const SOS = 0xda;
const EOI = 0xd9;
/** SOF markers of T.81 (C0–CF except DHT C4, JPG C8, DAC CC) and JPEG-LS SOF55 (F7). */
const SOF_MARKERS: ReadonlySet<number> = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf, 0xf7]);

function invalid(what: string, detail: string): AppError {
  return new AppError('DICOM_INVALID', `The ${what} codestream is malformed: ${detail}.`);
}

/**
 * Walks the marker segments from SOI to the first SOS and returns the frame header.
 *
 * @param what - codestream name for messages (`JPEG`, `JPEG-LS`)
 * @throws AppError DICOM_INVALID when there is no SOI, no SOF before SOS, or a segment overruns
 */
export function readJpegHeader(data: Uint8Array, what: string): JpegHeader {
  if (data.byteLength < 4 || data[0] !== 0xff || data[1] !== SOI) throw invalid(what, 'it does not start with SOI (FFD8)');
  let pos = 2;
  let frame: Omit<JpegHeader, 'hasJfif' | 'adobeTransform'> | undefined;
  let hasJfif = false;
  let adobeTransform: number | undefined;
  while (pos + 4 <= data.byteLength) {
    if (data[pos] !== 0xff) throw invalid(what, `a marker was expected at byte ${pos}`);
    let marker = data[pos + 1] as number;
    // Any number of 0xFF fill bytes may precede a marker (T.81 B.1.1.2).
    while (marker === 0xff && pos + 2 < data.byteLength) marker = data[++pos + 1] as number;
    pos += 2;
    if (marker === SOS || marker === EOI) break;
    if (marker >= 0xd0 && marker <= 0xd7) continue; // RSTn have no length
    if (pos + 2 > data.byteLength) break;
    const length = ((data[pos] as number) << 8) | (data[pos + 1] as number);
    if (length < 2 || pos + length > data.byteLength) throw invalid(what, `the segment of marker FF${hex(marker)} overruns the data`);
    const body = data.subarray(pos + 2, pos + length);
    if (SOF_MARKERS.has(marker)) {
      if (frame !== undefined) throw invalid(what, 'it has two frame headers');
      frame = readSof(body, marker, what);
    } else if (marker === 0xe0 && ascii(body, 0, 5) === 'JFIF\0') {
      hasJfif = true;
    } else if (marker === 0xee && body.byteLength >= 12 && ascii(body, 0, 5) === 'Adobe') {
      adobeTransform = body[11];
    }
    pos += length;
  }
  if (frame === undefined) throw invalid(what, 'it has no frame header (SOF) before its first scan');
  return { ...frame, hasJfif, adobeTransform };
}

function readSof(body: Uint8Array, marker: number, what: string): Omit<JpegHeader, 'hasJfif' | 'adobeTransform'> {
  if (body.byteLength < 6) throw invalid(what, 'its frame header is too short');
  const precision = body[0] as number;
  const height = ((body[1] as number) << 8) | (body[2] as number);
  const width = ((body[3] as number) << 8) | (body[4] as number);
  const components = body[5] as number;
  if (components < 1 || body.byteLength < 6 + 3 * components) throw invalid(what, 'its frame header lists no or truncated components');
  const componentIds: number[] = [];
  const sampling: (readonly [number, number])[] = [];
  for (let c = 0; c < components; c++) {
    componentIds.push(body[6 + 3 * c] as number);
    const hv = body[7 + 3 * c] as number;
    sampling.push([hv >> 4, hv & 15]);
  }
  return { sof: marker, precision, height, width, components, componentIds, sampling };
}

const JP2_SIGNATURE = [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20];

/**
 * Finds the JPEG 2000 codestream (bare, or inside a JP2 file's `jp2c` box, which DICOM does
 * not allow but some writers produce) and reads its SIZ segment.
 *
 * @throws AppError DICOM_INVALID when neither SOC + SIZ nor a JP2 signature with a jp2c box is found
 */
export function readJpeg2000Header(data: Uint8Array): CodestreamHeader {
  const start = JP2_SIGNATURE.every((b, i) => data[i] === b) ? jp2CodestreamOffset(data) : 0;
  const view = new DataView(data.buffer, data.byteOffset + start, data.byteLength - start);
  if (view.byteLength < 42 || view.getUint16(0) !== 0xff4f || view.getUint16(2) !== 0xff51) {
    throw invalid('JPEG 2000', 'it does not start with SOC and SIZ (FF4F FF51)');
  }
  const length = view.getUint16(4);
  const components = view.getUint16(40);
  if (components < 1 || length < 38 + 3 * components || 4 + length > view.byteLength) throw invalid('JPEG 2000', 'its SIZ segment is truncated');
  const width = view.getUint32(8) - view.getUint32(16);
  const height = view.getUint32(12) - view.getUint32(20);
  const precision = (view.getUint8(42) & 0x7f) + 1;
  return { width, height, components, precision };
}

/** Offset of the contents of the first `jp2c` box (ISO 15444-1 Annex I), walking top-level boxes. */
function jp2CodestreamOffset(data: Uint8Array): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  while (pos + 8 <= data.byteLength) {
    let length = view.getUint32(pos);
    let header = 8;
    if (length === 1) {
      if (pos + 16 > data.byteLength) break;
      length = view.getUint32(pos + 8) * 2 ** 32 + view.getUint32(pos + 12);
      header = 16;
    } else if (length === 0) {
      length = data.byteLength - pos; // the last box runs to the end
    }
    if (ascii(data, pos + 4, pos + 8) === 'jp2c') return pos + header;
    if (length < header) break;
    pos += length;
  }
  throw invalid('JPEG 2000', 'its JP2 wrapper has no codestream box (jp2c)');
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}
