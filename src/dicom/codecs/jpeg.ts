/**
 * The JPEG family (ITU T.81): Baseline (1.2.840.10008.1.2.4.50), Extended (.51), Lossless
 * process 14 (.57) and its first-order-prediction subset SV1 (.70). The frame header decides
 * the decoder, not the transfer syntax alone, because files are often labelled loosely:
 * - 8-bit DCT (SOF0/SOF1): libjpeg-turbo (@cornerstonejs/codec-libjpeg-turbo-8bit, WebAssembly);
 * - 12-bit DCT (SOF1): our own decoder (jpeg-dct.ts), no maintained package does 12 bits;
 * - lossless (SOF3, any predictor 1–7, 2–16 bits): jpeg-lossless-decoder-js.
 */
import { createRequire } from 'node:module';

import { AppError } from '../../errors.js';
import { readJpegHeader } from './codestream-header.js';
import { concat } from './frames.js';
import type { JpegHeader } from './codestream-header.js';
import { decodeJpegDct } from './jpeg-dct.js';
import type { CodecOutput, DecodedPhotometric, FrameDescriptor } from './types.js';
import { declaredPhotometric } from './types.js';
import { WasmDecoderModule } from './wasm-module.js';
import type { EmbindFrameInfo } from './wasm-module.js';

const libjpegTurbo = new WasmDecoderModule(
  'libjpeg-turbo',
  '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs',
  '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm',
  'JPEGDecoder',
);

/** jpeg-lossless-decoder-js's decoder, as much of it as we call (its package ships no types). */
interface LosslessDecoder {
  decode(buffer: ArrayBuffer, offset: number, length: number, numBytes: number): Uint8Array | Uint16Array;
}
type LosslessDecoderClass = new () => LosslessDecoder;
let losslessDecoderClass: LosslessDecoderClass | undefined;

function losslessDecoder(): LosslessDecoder {
  // Loaded through require: the package's "types" entry points at a file it does not ship.
  losslessDecoderClass ??= (createRequire(import.meta.url)('jpeg-lossless-decoder-js') as { Decoder: LosslessDecoderClass }).Decoder;
  return new losslessDecoderClass();
}

/**
 * Decodes one JPEG frame.
 *
 * @throws AppError DICOM_INVALID (malformed, or dimensions that disagree with the DICOM header),
 *   DICOM_UNSUPPORTED (progressive, hierarchical, arithmetic coding, other precisions); other
 *   errors from the decoders are wrapped by the caller
 */
export function decodeJpeg(data: Uint8Array, frame: FrameDescriptor): CodecOutput {
  const header = readJpegHeader(data, 'JPEG');
  checkJpegHeader(header, frame, 'JPEG');
  if (header.sof === 0xc3) return decodeLossless(data, frame, header);
  if (header.sof !== 0xc0 && header.sof !== 0xc1) {
    throw new AppError('DICOM_UNSUPPORTED', `JPEG process with SOF marker FF${header.sof.toString(16).toUpperCase()} (progressive, hierarchical or arithmetic-coded) is not supported.`);
  }
  if (header.precision === 12) {
    const image = decodeJpegDct(data);
    return { samples: image.samples, photometric: declaredPhotometric(frame), alignment: 'right' };
  }
  if (header.precision !== 8) throw new AppError('DICOM_UNSUPPORTED', `JPEG DCT sample precision ${header.precision} is not supported (8 and 12 are).`);
  return decode8Bit(data, frame, header);
}

/**
 * Checks a JPEG or JPEG-LS frame header against Rows, Columns, SamplesPerPixel and
 * BitsAllocated, before any decoder allocates for it.
 *
 * @throws AppError DICOM_INVALID on disagreement
 */
export function checkJpegHeader(header: JpegHeader, frame: FrameDescriptor, what: string): void {
  if (header.width !== frame.columns || header.height !== frame.rows || header.components !== frame.samplesPerPixel) {
    throw new AppError(
      'DICOM_INVALID',
      `The ${what} frame is ${header.width} × ${header.height} with ${header.components} component(s), ` +
        `but the DICOM header declares ${frame.columns} × ${frame.rows} with ${frame.samplesPerPixel}.`,
    );
  }
  if (header.precision < 2 || header.precision > frame.bitsAllocated) {
    throw new AppError('DICOM_INVALID', `The ${what} sample precision ${header.precision} does not fit BitsAllocated ${frame.bitsAllocated}.`);
  }
}

function decodeLossless(data: Uint8Array, frame: FrameDescriptor, header: JpegHeader): CodecOutput {
  const stream = withLookaheadPadding(data);
  const samples = losslessDecoder().decode(stream.buffer as ArrayBuffer, stream.byteOffset, stream.byteLength, header.precision > 8 ? 2 : 1);
  // Lossless JPEG never transforms colour: the samples are in the photometric the file declares.
  return { samples, photometric: declaredPhotometric(frame), alignment: 'right' };
}

function decode8Bit(data: Uint8Array, frame: FrameDescriptor, header: JpegHeader): CodecOutput {
  let photometric: DecodedPhotometric = declaredPhotometric(frame);
  let stream = data;
  if (header.components === 3) {
    // libjpeg guesses the colour space from JFIF/Adobe markers and component ids; the DICOM
    // PhotometricInterpretation is authoritative (PS3.5 8.2.1), as dcmtk treats it by default.
    const wantsTransform = photometric === 'YBR_FULL';
    if (libjpegTransforms(header) !== wantsTransform) stream = withAdobeTransform(data, wantsTransform ? 1 : 0);
    photometric = 'RGB'; // libjpeg-turbo's output for three components is RGB either way
  }
  const { bytes } = libjpegTurbo.decode(stream, (info: EmbindFrameInfo) => {
    if (info.width !== frame.columns || info.height !== frame.rows || info.componentCount !== frame.samplesPerPixel) {
      throw new AppError('DICOM_INVALID', 'libjpeg-turbo decoded a frame of another size than the DICOM header declares.');
    }
  });
  return { samples: bytes, photometric, alignment: 'right' };
}

/**
 * jpeg-lossless-decoder-js reads 16 bits ahead and stops at a marker, so when the last codes
 * end right before EOI (as in dcmtk's SV1 RGB output) it leaves the last samples at 0. Two zero
 * bytes before EOI give it the lookahead it wants; they lie after the last coded sample, where
 * T.81 F.1.2.3 only has padding bits, so they change no sample. Fill bytes (FF) before EOI go.
 */
function withLookaheadPadding(data: Uint8Array): Uint8Array {
  let end = data.byteLength;
  while (end > 0 && data[end - 1] === 0) end--; // DICOM pads fragments to even length
  if (end < 4 || data[end - 2] !== 0xff || data[end - 1] !== 0xd9) end = data.byteLength + 2; // no EOI: append one
  let dataEnd = end - 2;
  while (dataEnd > 2 && data[dataEnd - 1] === 0xff) dataEnd--;
  const out = new Uint8Array(dataEnd + 4);
  out.set(data.subarray(0, Math.min(dataEnd, data.byteLength)));
  out.set([0x00, 0x00, 0xff, 0xd9], dataEnd);
  return out;
}

/** Whether libjpeg will convert YCbCr → RGB for this three-component stream (jdapimin.c's guess). */
function libjpegTransforms(header: JpegHeader): boolean {
  if (header.hasJfif) return true;
  if (header.adobeTransform !== undefined) return header.adobeTransform !== 0;
  const [a, b, c] = header.componentIds;
  return !(a === 0x52 && b === 0x47 && c === 0x42); // 'R', 'G', 'B' ids mean RGB
}

/**
 * Rewrites SOI + segments so libjpeg applies (1) or skips (0) the YCbCr transform: drops any
 * JFIF APP0 and Adobe APP14 segment before the first scan and inserts an Adobe APP14 right
 * after SOI. Only header segments are touched; the entropy-coded data is copied as is.
 */
function withAdobeTransform(data: Uint8Array, transform: 0 | 1): Uint8Array {
  const adobe = Uint8Array.of(0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, transform);
  const parts: Uint8Array[] = [data.subarray(0, 2), adobe];
  let pos = 2;
  let copyFrom = 2;
  while (pos + 4 <= data.byteLength && data[pos] === 0xff) {
    const marker = data[pos + 1] as number;
    if (marker === 0xda) break;
    const length = ((data[pos + 2] as number) << 8) | (data[pos + 3] as number);
    const isJfif = marker === 0xe0 && data[pos + 4] === 0x4a && data[pos + 5] === 0x46;
    if (isJfif || marker === 0xee) {
      parts.push(data.subarray(copyFrom, pos));
      copyFrom = pos + 2 + length;
    }
    pos += 2 + length;
  }
  parts.push(data.subarray(copyFrom));
  return concat(parts);
}
