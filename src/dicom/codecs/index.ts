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
import { storedSamples, storedToFloat64 } from '../stored.js';
import type { StoredSamples } from '../stored.js';
import { describeTransferSyntax } from '../transfer-syntax.js';
import type { CodestreamFamily } from './frames.js';
import { decodeJpeg } from './jpeg.js';
import { decodeJpegLs } from './jpeg-ls.js';
import { decodeJpeg2000 } from './jpeg2000.js';
import { decodeRle } from './rle.js';
import type { CodecOutput, DecodedFrame, DecodedPhotometric, FrameDescriptor } from './types.js';

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

/** One decoded frame's samples, not yet masked to BitsStored (see stored.ts). */
export interface DecodedSamples {
  readonly samples: StoredSamples;
  readonly photometric: DecodedPhotometric;
}

/**
 * Decodes one frame's codestream; BitsStored and PixelRepresentation are applied to its samples
 * by whoever reads them (stored.ts), without a copy here.
 *
 * The frame header inside the codestream is checked against Rows, Columns, SamplesPerPixel and
 * BitsAllocated before the codec allocates anything. Output samples are pixel-interleaved;
 * colour may have been converted by the codec (see {@link DecodedFrame.photometric}).
 * Codecs report right-aligned codes (HighBit is then BitsStored − 1 by definition); RLE
 * reports whole cells, so HighBit decides where the stored bits sit, as for native data. A J2K
 * codestream's own signedness may disagree with PixelRepresentation (some writers get it
 * wrong): reading its bits as the DICOM header declares is what pydicom and dcmtk do too.
 *
 * @param data - one frame's codestream (see {@link encapsulatedFrames})
 * @param frame - the DICOM header's Image Pixel attributes
 * @throws AppError DICOM_UNSUPPORTED (syntax or coding process not supported), DICOM_INVALID
 *   (corrupt codestream, or one that disagrees with the DICOM header)
 */
export function decodeEncapsulatedSamples(data: Uint8Array, frame: FrameDescriptor): DecodedSamples {
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
  const highBit = output.alignment === 'cell' ? frame.highBit : frame.bitsStored - 1;
  return { samples: storedSamples(output.samples, expected, highBit, frame.bitsStored, frame.pixelRepresentation === 1), photometric: output.photometric };
}

/**
 * Decodes one frame's codestream to stored values (BitsStored masking, sign extension when
 * PixelRepresentation is 1, PS3.5 8.1.1), as float64.
 *
 * @throws AppError as {@link decodeEncapsulatedSamples}
 */
export function decodeEncapsulatedFrame(data: Uint8Array, frame: FrameDescriptor): DecodedFrame {
  const decoded = decodeEncapsulatedSamples(data, frame);
  return { values: storedToFloat64(decoded.samples), photometric: decoded.photometric };
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
