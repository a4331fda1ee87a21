/**
 * Native (uncompressed) pixel decoding: stored values → Modality LUT → {@link ModalityFrame}.
 * Every size is checked against the declared attributes and the limits before any allocation.
 */
import { AppError } from '../errors.js';
import { DEFAULT_DICOM_LIMITS } from './parse.js';
import type { ParsedDicom, PixelModule } from './parse.js';
import { describeTransferSyntax, isBigEndianTransferSyntax, isNativeTransferSyntax } from './transfer-syntax.js';
import type { DicomLimits, ModalityFrame } from './types.js';

const MONOCHROME = new Set(['MONOCHROME1', 'MONOCHROME2']);
const COLOUR = new Set(['RGB', 'YBR_FULL', 'YBR_FULL_422']);

/** Checked geometry of one instance's native Pixel Data. */
interface Layout {
  readonly data: Uint8Array;
  readonly pixelsPerFrame: number;
  readonly samplesPerPixel: 1 | 3;
  /** Samples stored per frame: YBR_FULL_422 stores two per pixel (Y Y Cb Cr for two pixels). */
  readonly storedSamplesPerFrame: number;
  readonly littleEndian: boolean;
  /** Big endian OW with 8-bit samples: bytes are swapped within each 16-bit word (PS3.5 A.2). */
  readonly swapBytePairs: boolean;
}

/**
 * Decodes every frame of an instance.
 *
 * @param parsed - the result of `parseDicom`
 * @param limits - `maxPixels` bounds the declared Rows × Columns × SamplesPerPixel × NumberOfFrames
 * @throws AppError DICOM_UNSUPPORTED (compressed syntax, unsupported pixel format),
 *   DICOM_INVALID (missing or short Pixel Data, inconsistent attributes), DICOM_TOO_LARGE
 */
export function decodeFrames(parsed: ParsedDicom, limits: DicomLimits = DEFAULT_DICOM_LIMITS): ModalityFrame[] {
  const layout = checkDecodable(parsed.pixels, limits);
  const frames: ModalityFrame[] = [];
  for (let i = 0; i < parsed.pixels.numberOfFrames; i++) frames.push(toModalityFrame(parsed, layout, i));
  return frames;
}

/**
 * Decodes one frame (0-based), for callers that do not want a whole multi-frame object in memory.
 *
 * @throws AppError as {@link decodeFrames}, and DICOM_INVALID for a frame index out of range
 */
export function decodeFrame(parsed: ParsedDicom, frameIndex: number, limits: DicomLimits = DEFAULT_DICOM_LIMITS): ModalityFrame {
  const layout = checkDecodable(parsed.pixels, limits);
  checkFrameIndex(parsed.pixels, frameIndex);
  return toModalityFrame(parsed, layout, frameIndex);
}

/**
 * Stored values of one frame (after BitsStored/HighBit masking and sign extension, before the
 * Modality LUT), samples interleaved, YBR_FULL_422 expanded to one Y Cb Cr triple per pixel
 * but not converted to RGB. This is what an independent decoder's raw pixel array holds.
 */
export function decodeStoredFrame(parsed: ParsedDicom, frameIndex: number, limits: DicomLimits = DEFAULT_DICOM_LIMITS): Float64Array {
  const layout = checkDecodable(parsed.pixels, limits);
  checkFrameIndex(parsed.pixels, frameIndex);
  return readStoredFrame(parsed.pixels, layout, frameIndex);
}

function checkFrameIndex(px: PixelModule, frameIndex: number): void {
  if (!Number.isInteger(frameIndex) || frameIndex < 0 || frameIndex >= px.numberOfFrames) {
    throw new AppError('DICOM_INVALID', `Frame ${frameIndex} does not exist: the instance has ${px.numberOfFrames} frame(s).`);
  }
}

/** Validates everything decoding relies on, cheapest and most fundamental first. */
function checkDecodable(px: PixelModule, limits: DicomLimits): Layout {
  if (px.floatPixelData) {
    throw new AppError('DICOM_UNSUPPORTED', 'Float Pixel Data (7FE0,0008/0009) is not supported; only integer Pixel Data is.');
  }
  if (!isNativeTransferSyntax(px.transferSyntaxUid)) {
    throw new AppError(
      'DICOM_UNSUPPORTED',
      `Transfer syntax ${describeTransferSyntax(px.transferSyntaxUid)} is not supported: only uncompressed pixel data can be decoded.`,
    );
  }
  if (px.pixelData === undefined) {
    throw new AppError('DICOM_INVALID', 'The instance has no Pixel Data (7FE0,0010).');
  }
  if (px.rows === 0 || px.columns === 0 || px.numberOfFrames === 0) {
    throw new AppError('DICOM_INVALID', `Rows, Columns and NumberOfFrames must be positive (got ${px.rows} × ${px.columns} × ${px.numberOfFrames}).`);
  }
  const photometric = px.photometricInterpretation;
  const samplesPerPixel = checkPhotometric(px);
  checkBits(px, photometric);
  if (px.hasModalityLutSequence && samplesPerPixel === 1) {
    throw new AppError('DICOM_UNSUPPORTED', 'A Modality LUT Sequence (0028,3000) is not supported; only RescaleSlope/RescaleIntercept.');
  }
  const pixelsPerFrame = px.rows * px.columns;
  const declaredSamples = pixelsPerFrame * samplesPerPixel * px.numberOfFrames;
  if (declaredSamples > limits.maxPixels) {
    throw new AppError(
      'DICOM_TOO_LARGE',
      `The image declares ${px.rows} × ${px.columns} × ${samplesPerPixel} samples × ${px.numberOfFrames} frame(s), ` +
        `more than the limit of ${limits.maxPixels} samples.`,
    );
  }
  const storedSamplesPerFrame = pixelsPerFrame * (photometric === 'YBR_FULL_422' ? 2 : samplesPerPixel);
  const expectedBytes = Math.ceil((storedSamplesPerFrame * px.numberOfFrames * px.bitsAllocated) / 8);
  if (px.pixelData.byteLength < expectedBytes) {
    throw new AppError(
      'DICOM_INVALID',
      `Pixel Data holds ${px.pixelData.byteLength} bytes, fewer than the ${expectedBytes} ` +
        'its Rows, Columns, SamplesPerPixel, NumberOfFrames and BitsAllocated declare.',
    );
  }
  const littleEndian = !isBigEndianTransferSyntax(px.transferSyntaxUid);
  return {
    data: px.pixelData,
    pixelsPerFrame,
    samplesPerPixel,
    storedSamplesPerFrame,
    littleEndian,
    swapBytePairs: !littleEndian && px.bitsAllocated === 8 && px.pixelDataVr === 'OW',
  };
}

function checkPhotometric(px: PixelModule): 1 | 3 {
  const photometric = px.photometricInterpretation;
  if (MONOCHROME.has(photometric)) {
    if (px.samplesPerPixel !== 1) throw new AppError('DICOM_INVALID', `${photometric} requires SamplesPerPixel 1, not ${px.samplesPerPixel}.`);
    return 1;
  }
  if (!COLOUR.has(photometric)) {
    throw new AppError('DICOM_UNSUPPORTED', `PhotometricInterpretation ${photometric} is not supported (MONOCHROME1, MONOCHROME2, RGB, YBR_FULL, YBR_FULL_422 are).`);
  }
  if (px.samplesPerPixel !== 3) throw new AppError('DICOM_INVALID', `${photometric} requires SamplesPerPixel 3, not ${px.samplesPerPixel}.`);
  if (photometric === 'YBR_FULL_422') {
    // Each pair of pixels shares one Cb Cr; the pair layout needs 8-bit, pixel-interleaved, even-width rows.
    if (px.bitsAllocated !== 8 || px.planarConfiguration !== 0 || px.columns % 2 !== 0) {
      throw new AppError('DICOM_UNSUPPORTED', 'Native YBR_FULL_422 is supported only with 8 bits, PlanarConfiguration 0 and an even number of Columns.');
    }
  }
  return 3;
}

function checkBits(px: PixelModule, photometric: string): void {
  const { bitsAllocated, bitsStored, highBit } = px;
  if (bitsAllocated !== 1 && bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    throw new AppError('DICOM_UNSUPPORTED', `BitsAllocated ${bitsAllocated} is not supported (1, 8, 16 and 32 are).`);
  }
  if (bitsStored < 1 || bitsStored > bitsAllocated || highBit < bitsStored - 1 || highBit >= bitsAllocated) {
    throw new AppError('DICOM_INVALID', `BitsStored ${bitsStored} / HighBit ${highBit} are inconsistent with BitsAllocated ${bitsAllocated}.`);
  }
  if (bitsAllocated === 1 && !MONOCHROME.has(photometric)) {
    throw new AppError('DICOM_INVALID', `BitsAllocated 1 is only valid for monochrome images, not ${photometric}.`);
  }
}

function toModalityFrame(parsed: ParsedDicom, layout: Layout, frameIndex: number): ModalityFrame {
  const px = parsed.pixels;
  const stored = readStoredFrame(px, layout, frameIndex);
  const values = new Float32Array(stored.length);
  const monochrome = layout.samplesPerPixel === 1;
  if (monochrome) {
    const { rescaleSlope: slope, rescaleIntercept: intercept } = px;
    // Computed in double precision, as PS3.3 C.11.1.1.2 defines it, then stored as Float32.
    for (let i = 0; i < stored.length; i++) values[i] = (stored[i] as number) * slope + intercept;
  } else if (px.photometricInterpretation === 'RGB') {
    values.set(stored);
  } else {
    ybrFullToRgb(stored, values, px.bitsStored);
  }
  return {
    info: parsed.info,
    frameIndex,
    rows: px.rows,
    columns: px.columns,
    samplesPerPixel: layout.samplesPerPixel,
    values,
    window: monochrome ? px.window : undefined,
    invert: px.photometricInterpretation === 'MONOCHROME1',
  };
}

function readStoredFrame(px: PixelModule, layout: Layout, frameIndex: number): Float64Array {
  const count = layout.storedSamplesPerFrame;
  const startBit = frameIndex * count * px.bitsAllocated;
  const raw = px.bitsAllocated === 1 ? readBits(layout.data, startBit, count) : readWords(px, layout, startBit / 8, count);
  maskAndSignExtend(raw, px);
  if (px.photometricInterpretation === 'YBR_FULL_422') return expandYbr422(raw, layout.pixelsPerFrame);
  if (layout.samplesPerPixel === 3 && px.planarConfiguration === 1) return planarToInterleaved(raw, layout.pixelsPerFrame);
  return raw;
}

/** 1-bit data is packed across the whole Pixel Data, first pixel in the least significant bit. */
function readBits(data: Uint8Array, startBit: number, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const bit = startBit + i;
    out[i] = ((data[bit >>> 3] as number) >>> (bit & 7)) & 1;
  }
  return out;
}

function readWords(px: PixelModule, layout: Layout, startByte: number, count: number): Float64Array {
  const { data, littleEndian } = layout;
  const out = new Float64Array(count);
  if (px.bitsAllocated === 8) {
    // XOR 1 maps each byte index to its partner within the 16-bit word.
    const flip = layout.swapBytePairs ? 1 : 0;
    for (let i = 0; i < count; i++) out[i] = data[(startByte + i) ^ flip] as number;
    return out;
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (px.bitsAllocated === 16) {
    for (let i = 0; i < count; i++) out[i] = view.getUint16(startByte + 2 * i, littleEndian);
  } else {
    for (let i = 0; i < count; i++) out[i] = view.getUint32(startByte + 4 * i, littleEndian);
  }
  return out;
}

/** Keeps bits HighBit−BitsStored+1 … HighBit (PS3.5 8.1.1) and applies two's complement when signed. */
function maskAndSignExtend(values: Float64Array, px: PixelModule): void {
  const { bitsAllocated, bitsStored, highBit } = px;
  const signed = px.pixelRepresentation === 1;
  const shift = highBit + 1 - bitsStored;
  if (shift === 0 && bitsStored === bitsAllocated && !signed) return;
  const range = 2 ** bitsStored;
  const half = range / 2;
  const divisor = 2 ** shift;
  // Arithmetic rather than bitwise operators: JavaScript bitwise maths is 32-bit signed.
  for (let i = 0; i < values.length; i++) {
    let v = Math.floor((values[i] as number) / divisor) % range;
    if (signed && v >= half) v -= range;
    values[i] = v;
  }
}

function planarToInterleaved(planar: Float64Array, pixels: number): Float64Array {
  const out = new Float64Array(planar.length);
  for (let c = 0; c < 3; c++) {
    const base = c * pixels;
    for (let p = 0; p < pixels; p++) out[p * 3 + c] = planar[base + p] as number;
  }
  return out;
}

/** Y1 Y2 Cb Cr → Y1 Cb Cr Y2 Cb Cr (PS3.3 C.7.6.3.1.2). */
function expandYbr422(pairs: Float64Array, pixels: number): Float64Array {
  const out = new Float64Array(pixels * 3);
  for (let p = 0, s = 0; p < pixels; p += 2, s += 4) {
    const cb = pairs[s + 2] as number;
    const cr = pairs[s + 3] as number;
    const o = p * 3;
    out[o] = pairs[s] as number;
    out[o + 1] = cb;
    out[o + 2] = cr;
    out[o + 3] = pairs[s + 1] as number;
    out[o + 4] = cb;
    out[o + 5] = cr;
  }
  return out;
}

/** Full-range YCbCr → RGB (PS3.3 C.7.6.3.1.2, the JFIF equations), rounded and clipped. */
function ybrFullToRgb(ybr: Float64Array, rgb: Float32Array, bitsStored: number): void {
  const max = 2 ** bitsStored - 1;
  const mid = 2 ** (bitsStored - 1);
  const clip = (v: number): number => Math.min(max, Math.max(0, Math.floor(v + 0.5)));
  for (let i = 0; i < ybr.length; i += 3) {
    const y = ybr[i] as number;
    const cb = (ybr[i + 1] as number) - mid;
    const cr = (ybr[i + 2] as number) - mid;
    rgb[i] = clip(y + 1.402 * cr);
    rgb[i + 1] = clip(y - ((0.114 * 1.772) / 0.587) * cb - ((0.299 * 1.402) / 0.587) * cr);
    rgb[i + 2] = clip(y + 1.772 * cb);
  }
}
