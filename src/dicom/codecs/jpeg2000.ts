/**
 * JPEG 2000 Lossless (1.2.840.10008.1.2.4.90) and lossy (.91), ISO 15444-1, through OpenJPEG
 * (@cornerstonejs/codec-openjpeg, WebAssembly). OpenJPEG applies the inverse multiple-component
 * transform (RCT for YBR_RCT, ICT for YBR_ICT) when the codestream asks for it, so colour comes
 * out as RGB unless the file declares YBR_FULL samples coded without a transform.
 */
import { AppError } from '../../errors.js';
import { readJpeg2000Header } from './codestream-header.js';
import type { CodecOutput, DecodedPhotometric, FrameDescriptor } from './types.js';
import { WasmDecoderModule } from './wasm-module.js';

const openJpeg = new WasmDecoderModule('OpenJPEG', '@cornerstonejs/codec-openjpeg/decodewasmjs', '@cornerstonejs/codec-openjpeg/decodewasm', 'J2KDecoder');

/**
 * Decodes one JPEG 2000 frame into pixel-interleaved samples (signed when the codestream is).
 *
 * @throws AppError DICOM_INVALID when the SIZ segment disagrees with the DICOM header
 */
export function decodeJpeg2000(data: Uint8Array, frame: FrameDescriptor): CodecOutput {
  const header = readJpeg2000Header(data);
  if (header.width !== frame.columns || header.height !== frame.rows || header.components !== frame.samplesPerPixel) {
    throw new AppError(
      'DICOM_INVALID',
      `The JPEG 2000 frame is ${header.width} × ${header.height} with ${header.components} component(s), ` +
        `but the DICOM header declares ${frame.columns} × ${frame.rows} with ${frame.samplesPerPixel}.`,
    );
  }
  if (header.precision > 16 || header.precision > frame.bitsAllocated) {
    throw new AppError('DICOM_INVALID', `The JPEG 2000 sample precision ${header.precision} does not fit BitsAllocated ${frame.bitsAllocated}.`);
  }
  const { info, bytes } = openJpeg.decode(data, (decoded) => {
    if (decoded.width !== frame.columns || decoded.height !== frame.rows || decoded.componentCount !== frame.samplesPerPixel) {
      throw new AppError('DICOM_INVALID', 'OpenJPEG decoded a frame of another size than the DICOM header declares.');
    }
  });
  const wide = info.bitsPerSample > 8;
  const samples = wide
    ? info.isSigned === true
      ? new Int16Array(bytes.buffer, 0, bytes.byteLength >> 1)
      : new Uint16Array(bytes.buffer, 0, bytes.byteLength >> 1)
    : info.isSigned === true
      ? new Int8Array(bytes.buffer, 0, bytes.byteLength)
      : bytes;
  return { samples, photometric: photometricAfterDecode(frame), alignment: 'right' };
}

function photometricAfterDecode(frame: FrameDescriptor): DecodedPhotometric {
  const p = frame.photometricInterpretation;
  if (p === 'MONOCHROME1' || p === 'MONOCHROME2') return p;
  if (p === 'PALETTE COLOR') return 'MONOCHROME2'; // indices; pixels.ts applies the palette
  // YBR_FULL(_422) coded without an MCT stays YBR; RGB, YBR_RCT and YBR_ICT come out as RGB.
  return p === 'YBR_FULL' || p === 'YBR_FULL_422' ? 'YBR_FULL' : 'RGB';
}
