/**
 * Compressed (encapsulated) Pixel Data: one entry point, {@link decodeEncapsulatedFrame}, for
 * every supported transfer syntax, and the table of what is supported.
 *
 * Each codec family lives in its own module. Whatever a codec throws that is not already an
 * AppError (C++ exceptions surface from WebAssembly as numbers, aborts as RuntimeError, the JS
 * decoders throw plain Errors) becomes DICOM_INVALID naming the codec: a corrupt codestream is a
 * property of the input, never a crash of the service.
 */
import { AppError } from '../../errors.js';
import { describeTransferSyntax } from '../transfer-syntax.js';
import type { CodestreamFamily } from './frames.js';
import { decodeJpeg } from './jpeg.js';
import { decodeJpegLs } from './jpeg-ls.js';
import { decodeJpeg2000 } from './jpeg2000.js';
import { decodeRle } from './rle.js';
import type { CodecOutput, DecodedFrame, FrameDescriptor } from './types.js';

export { encapsulatedFrames } from './frames.js';
export type { CodestreamFamily } from './frames.js';
export type { DecodedFrame, DecodedPhotometric, FrameDescriptor } from './types.js';

interface CodecEntry {
  readonly family: CodestreamFamily;
  readonly label: string;
  readonly decode: (data: Uint8Array, frame: FrameDescriptor) => CodecOutput;
}

const RLE: CodecEntry = { family: 'rle', label: 'RLE', decode: decodeRle };
const JPEG: CodecEntry = { family: 'jpeg', label: 'JPEG', decode: decodeJpeg };
const JPEG_LS: CodecEntry = { family: 'jpeg-ls', label: 'JPEG-LS', decode: decodeJpegLs };
const JPEG_2000: CodecEntry = { family: 'jpeg2000', label: 'JPEG 2000', decode: decodeJpeg2000 };

/** Encapsulated transfer syntaxes this layer decodes, and with what. */
const CODECS: ReadonlyMap<string, CodecEntry> = new Map([
  ['1.2.840.10008.1.2.5', RLE],
  ['1.2.840.10008.1.2.4.50', JPEG],
  ['1.2.840.10008.1.2.4.51', JPEG],
  ['1.2.840.10008.1.2.4.57', JPEG],
  ['1.2.840.10008.1.2.4.70', JPEG],
  ['1.2.840.10008.1.2.4.80', JPEG_LS],
  ['1.2.840.10008.1.2.4.81', JPEG_LS],
  ['1.2.840.10008.1.2.4.90', JPEG_2000],
  ['1.2.840.10008.1.2.4.91', JPEG_2000],
]);

/** UIDs of the encapsulated transfer syntaxes that can be decoded. */
export const SUPPORTED_ENCAPSULATED_SYNTAXES: readonly string[] = [...CODECS.keys()];

/** The codestream family of a supported encapsulated syntax, else undefined. */
export function codestreamFamily(transferSyntaxUid: string): CodestreamFamily | undefined {
  return CODECS.get(transferSyntaxUid)?.family;
}

/**
 * Throws the standard refusal for a transfer syntax no codec handles.
 *
 * @throws AppError DICOM_UNSUPPORTED naming the syntax
 */
export function assertSupportedSyntax(transferSyntaxUid: string): void {
  if (!CODECS.has(transferSyntaxUid)) {
    throw new AppError('DICOM_UNSUPPORTED', `Transfer syntax ${describeTransferSyntax(transferSyntaxUid)} is not supported.`);
  }
}

/**
 * Decodes one frame's codestream and applies BitsStored and PixelRepresentation to its samples.
 *
 * The frame header inside the codestream is checked against Rows, Columns, SamplesPerPixel and
 * BitsAllocated before the codec allocates anything. Output samples are pixel-interleaved;
 * colour may have been converted by the codec (see {@link DecodedFrame.photometric}).
 *
 * @param data - one frame's codestream (see {@link encapsulatedFrames})
 * @param frame - the DICOM header's Image Pixel attributes
 * @throws AppError DICOM_UNSUPPORTED (syntax or coding process not supported), DICOM_INVALID
 *   (corrupt codestream, or one that disagrees with the DICOM header)
 */
export function decodeEncapsulatedFrame(data: Uint8Array, frame: FrameDescriptor): DecodedFrame {
  assertSupportedSyntax(frame.transferSyntaxUid);
  const codec = CODECS.get(frame.transferSyntaxUid) as CodecEntry;
  let output: CodecOutput;
  try {
    output = codec.decode(data, frame);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('DICOM_INVALID', `The ${codec.label} codestream cannot be decoded (${describeCodecError(err)}).`, { cause: err });
  }
  const components = output.photometric === 'RGB' || output.photometric === 'YBR_FULL' ? 3 : 1;
  const expected = frame.rows * frame.columns * components;
  if (output.samples.length < expected) {
    throw new AppError('DICOM_INVALID', `The ${codec.label} codestream decodes to ${output.samples.length} samples, fewer than the ${expected} the DICOM header declares.`);
  }
  return { values: storedValues(output, frame, expected), photometric: output.photometric };
}

/**
 * Masks each sample to BitsStored and sign-extends it when PixelRepresentation is 1 (PS3.5
 * 8.1.1). Codecs report right-aligned codes (HighBit is then BitsStored − 1 by definition);
 * RLE reports whole cells, so HighBit decides where the stored bits sit, as for native data.
 * A J2K codestream's own signedness may disagree with PixelRepresentation (some writers get it
 * wrong): reading its bits as the DICOM header declares is what pydicom and dcmtk do too.
 */
function storedValues(output: CodecOutput, frame: FrameDescriptor, count: number): Float64Array {
  const { bitsStored, pixelRepresentation } = frame;
  const shift = output.alignment === 'cell' ? frame.highBit + 1 - bitsStored : 0;
  const range = 2 ** bitsStored;
  const half = range / 2;
  const signed = pixelRepresentation === 1;
  const src = output.samples;
  const out = new Float64Array(count);
  if (shift === 0 && samplesAlreadyStored(src, bitsStored, signed)) {
    out.set(ArrayBuffer.isView(src) ? (src as Uint8Array).subarray(0, count) : Array.from(src).slice(0, count));
    return out;
  }
  // `>>>` and `%` rather than Math.floor: cells are unsigned and below 2^32, and the loop is hot.
  for (let i = 0; i < count; i++) {
    const sample = src[i] as number;
    let v = (shift === 0 ? sample : sample >>> shift) % range;
    if (v < 0) v += range;
    if (signed && v >= half) v -= range;
    out[i] = v;
  }
  return out;
}

/**
 * True when a typed array's element type already holds exactly the stored values: unsigned
 * elements no wider than BitsStored for unsigned data, signed elements exactly BitsStored
 * wide for signed data. Then masking and sign extension change nothing and a copy will do.
 */
function samplesAlreadyStored(src: ArrayLike<number>, bitsStored: number, signed: boolean): boolean {
  // The tag rather than instanceof: the arrays may come from another realm (a WebAssembly heap copy, a test VM).
  const tag = Object.prototype.toString.call(src);
  if (!signed) return ((tag === '[object Uint8Array]' || tag === '[object Uint8ClampedArray]') && bitsStored >= 8) || (tag === '[object Uint16Array]' && bitsStored >= 16);
  return (tag === '[object Int8Array]' && bitsStored === 8) || (tag === '[object Int16Array]' && bitsStored === 16);
}

/** A short, safe description of what a decoder threw (no stack, no input bytes). */
function describeCodecError(err: unknown): string {
  if (typeof err === 'number') return 'codec exception';
  if (err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err)) {
    const name = (err as { name?: unknown }).name;
    const message = (err as { message?: unknown }).message;
    const text = `${typeof name === 'string' ? name : 'Error'}: ${typeof message === 'string' ? message : ''}`;
    return text.replace(/[^\x20-\x7e]/g, '').slice(0, 120);
  }
  return 'unknown error';
}
