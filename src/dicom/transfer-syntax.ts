/**
 * Transfer syntax UIDs (DICOM PS3.6 Annex A) and which of them this layer can decode.
 */

/** Implicit VR Little Endian: the default transfer syntax. */
export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
/** Explicit VR Little Endian. */
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Deflated Explicit VR Little Endian: the data set after the meta header is raw deflate. */
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
/** Explicit VR Big Endian (retired, still found in archives). */
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';

/** Syntaxes whose Pixel Data is stored natively (not encapsulated). */
const NATIVE: ReadonlySet<string> = new Set([
  IMPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
]);

const NAMES: ReadonlyMap<string, string> = new Map([
  [IMPLICIT_VR_LITTLE_ENDIAN, 'Implicit VR Little Endian'],
  [EXPLICIT_VR_LITTLE_ENDIAN, 'Explicit VR Little Endian'],
  [DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, 'Deflated Explicit VR Little Endian'],
  [EXPLICIT_VR_BIG_ENDIAN, 'Explicit VR Big Endian (retired)'],
  ['1.2.840.10008.1.2.1.98', 'Encapsulated Uncompressed Explicit VR Little Endian'],
  ['1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)'],
  ['1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)'],
  ['1.2.840.10008.1.2.4.57', 'JPEG Lossless, Non-Hierarchical (Process 14)'],
  ['1.2.840.10008.1.2.4.70', 'JPEG Lossless, First-Order Prediction (Process 14, SV1)'],
  ['1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless'],
  ['1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless'],
  ['1.2.840.10008.1.2.4.90', 'JPEG 2000 (Lossless Only)'],
  ['1.2.840.10008.1.2.4.91', 'JPEG 2000'],
  ['1.2.840.10008.1.2.4.92', 'JPEG 2000 Part 2 Multi-component (Lossless Only)'],
  ['1.2.840.10008.1.2.4.93', 'JPEG 2000 Part 2 Multi-component'],
  ['1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile / Main Level'],
  ['1.2.840.10008.1.2.4.101', 'MPEG2 Main Profile / High Level'],
  ['1.2.840.10008.1.2.4.102', 'MPEG-4 AVC/H.264 High Profile / Level 4.1'],
  ['1.2.840.10008.1.2.4.103', 'MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1'],
  ['1.2.840.10008.1.2.4.104', 'MPEG-4 AVC/H.264 High Profile / Level 4.2 for 2D Video'],
  ['1.2.840.10008.1.2.4.105', 'MPEG-4 AVC/H.264 High Profile / Level 4.2 for 3D Video'],
  ['1.2.840.10008.1.2.4.106', 'MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2'],
  ['1.2.840.10008.1.2.4.107', 'HEVC/H.265 Main Profile / Level 5.1'],
  ['1.2.840.10008.1.2.4.108', 'HEVC/H.265 Main 10 Profile / Level 5.1'],
  ['1.2.840.10008.1.2.4.110', 'JPEG XL Lossless'],
  ['1.2.840.10008.1.2.4.111', 'JPEG XL JPEG Recompression'],
  ['1.2.840.10008.1.2.4.112', 'JPEG XL'],
  ['1.2.840.10008.1.2.4.201', 'High-Throughput JPEG 2000 (Lossless Only)'],
  ['1.2.840.10008.1.2.4.202', 'High-Throughput JPEG 2000 with RPCL Options (Lossless Only)'],
  ['1.2.840.10008.1.2.4.203', 'High-Throughput JPEG 2000'],
  ['1.2.840.10008.1.2.5', 'RLE Lossless'],
]);

/** The standard name of a transfer syntax, or `unknown transfer syntax`. */
export function transferSyntaxName(uid: string): string {
  return NAMES.get(uid) ?? 'unknown transfer syntax';
}

/** `1.2.840.10008.1.2.5 (RLE Lossless)`: how error messages name a syntax. */
export function describeTransferSyntax(uid: string): string {
  return `${uid} (${transferSyntaxName(uid)})`;
}

/** True for the uncompressed (native) syntaxes; encapsulated ones are decoded by codecs/ (see SUPPORTED_ENCAPSULATED_SYNTAXES). */
export function isNativeTransferSyntax(uid: string): boolean {
  return NATIVE.has(uid);
}

/** True when multi-byte values are stored most significant byte first. */
export function isBigEndianTransferSyntax(uid: string): boolean {
  return uid === EXPLICIT_VR_BIG_ENDIAN;
}
