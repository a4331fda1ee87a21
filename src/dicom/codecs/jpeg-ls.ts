/**
 * JPEG-LS Lossless (1.2.840.10008.1.2.4.80) and Near-Lossless (.81), ITU T.87, through CharLS
 * (@cornerstonejs/codec-charls, WebAssembly). JPEG-LS applies no colour transform in DICOM
 * (PS3.5 A.4.3), so samples keep the declared photometric interpretation.
 */
import { AppError } from '../../errors.js';
import { readJpegHeader } from './codestream-header.js';
import { checkJpegHeader } from './jpeg.js';
import type { CodecOutput, FrameDescriptor } from './types.js';
import { declaredPhotometric } from './types.js';
import { WasmDecoderModule } from './wasm-module.js';

const charls = new WasmDecoderModule('CharLS', '@cornerstonejs/codec-charls/decodewasmjs', '@cornerstonejs/codec-charls/decodewasm', 'JpegLSDecoder');

/**
 * Decodes one JPEG-LS frame into pixel-interleaved samples.
 *
 * @throws AppError DICOM_INVALID when the frame header disagrees with the DICOM header
 */
export function decodeJpegLs(data: Uint8Array, frame: FrameDescriptor): CodecOutput {
  const header = readJpegHeader(data, 'JPEG-LS');
  if (header.sof !== 0xf7) throw new AppError('DICOM_INVALID', 'The JPEG-LS codestream has a T.81 JPEG frame header, not a JPEG-LS one (SOF55).');
  checkJpegHeader(header, frame, 'JPEG-LS');
  const end = endOfCodestream(data);
  if (end < 2 || data[end - 2] !== 0xff || data[end - 1] !== 0xd9) {
    // CharLS (this WebAssembly build) can spin for tens of seconds on a stream that stops
    // without a marker; a truncated frame is refused here instead, as T.87 requires EOI.
    throw new AppError('DICOM_INVALID', 'The JPEG-LS codestream is truncated: it does not end with EOI (FFD9).');
  }
  const { info, bytes } = charls.decode(data.subarray(0, end), (decoded) => {
    if (decoded.width !== frame.columns || decoded.height !== frame.rows || decoded.componentCount !== frame.samplesPerPixel) {
      throw new AppError('DICOM_INVALID', 'CharLS decoded a frame of another size than the DICOM header declares.');
    }
  });
  const samples = info.bitsPerSample > 8 ? new Uint16Array(bytes.buffer, 0, bytes.byteLength >> 1) : bytes;
  // A scan per component (interleave mode "none") comes out as planes; T.87 allows it for colour.
  const planar = frame.samplesPerPixel > 1 && samples.length === frame.rows * frame.columns * frame.samplesPerPixel && interleaveModeIsNone(data);
  return { samples: planar ? planesToPixels(samples, frame.samplesPerPixel) : samples, photometric: declaredPhotometric(frame), alignment: 'right' };
}

/** Length without the zero bytes that DICOM adds to make a fragment even. */
function endOfCodestream(data: Uint8Array): number {
  let end = data.byteLength;
  while (end > 0 && data[end - 1] === 0) end--;
  return end;
}

/** The ILV byte of the first SOS segment (T.87 C.2.3): 0 = none, 1 = line, 2 = sample. */
function interleaveModeIsNone(data: Uint8Array): boolean {
  for (let i = 2; i + 3 < data.byteLength; i++) {
    if (data[i] === 0xff && data[i + 1] === 0xda) {
      const ns = data[i + 4] as number;
      return data[i + 5 + 2 * ns + 1] === 0;
    }
  }
  return false;
}

function planesToPixels(planes: Uint8Array | Uint16Array, components: number): Uint8Array | Uint16Array {
  const out = planes instanceof Uint16Array ? new Uint16Array(planes.length) : new Uint8Array(planes.length);
  const pixels = planes.length / components;
  for (let c = 0; c < components; c++) for (let p = 0; p < pixels; p++) out[p * components + c] = planes[c * pixels + p] as number;
  return out;
}
