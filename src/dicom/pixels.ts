/**
 * Pixel decoding: stored values → Modality LUT → {@link ModalityFrame}, for native Pixel Data
 * (pixels-native.ts) and encapsulated, compressed Pixel Data (codecs/). Every size is checked
 * against the declared attributes and the limits before any allocation: the codecs in turn
 * check their codestream's frame header against these attributes before they decode.
 */
import { AppError } from '../errors.js';
import { assertSupportedSyntax, codestreamFamily, decodeEncapsulatedSamples, encapsulatedFrames } from './codecs/index.js';
import type { DecodedPhotometric } from './codecs/index.js';
import { applyLut } from './lut.js';
import { DEFAULT_DICOM_LIMITS } from './parse.js';
import type { ParsedDicom, PixelModule } from './parse.js';
import { nativeInOrder, nativeStoredSamples, readNativeFrame } from './pixels-native.js';
import type { NativeLayout } from './pixels-native.js';
import { lazyModalityFrame } from './frame-values.js';
import { storedToFloat64 } from './stored.js';
import type { StoredSamples } from './stored.js';
import { isBigEndianTransferSyntax } from './transfer-syntax.js';
import type { DicomLimits, ModalityFrame } from './types.js';

const MONOCHROME = new Set(['MONOCHROME1', 'MONOCHROME2']);
const COLOUR = new Set(['RGB', 'YBR_FULL', 'YBR_FULL_422']);
/** JPEG 2000's reversible and irreversible colour transforms (PS3.3 C.7.6.3.1.2), undone by the codec. */
const J2K_COLOUR = new Set(['YBR_RCT', 'YBR_ICT']);

/** Checked layout of one instance's encapsulated Pixel Data: one codestream per frame. */
interface EncapsulatedLayout {
  readonly kind: 'encapsulated';
  readonly frames: readonly Uint8Array[];
  readonly samplesPerPixel: 1 | 3;
}

type Layout = NativeLayout | EncapsulatedLayout;

/** One frame's stored values and the photometric interpretation they are in. */
interface StoredFrame {
  readonly values: Float64Array;
  readonly photometric: DecodedPhotometric;
}

/**
 * Decodes every frame of an instance.
 *
 * @param parsed - the result of `parseDicom`
 * @param limits - `maxPixels` bounds the declared Rows × Columns × SamplesPerPixel × NumberOfFrames
 * @throws AppError DICOM_UNSUPPORTED (transfer syntax or pixel format not supported),
 *   DICOM_INVALID (missing, short or corrupt Pixel Data, inconsistent attributes), DICOM_TOO_LARGE
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
 * Modality LUT), samples interleaved. Native YBR_FULL_422 is expanded to one Y Cb Cr triple per
 * pixel but not converted to RGB; compressed colour is what the codec returns (JPEG and
 * JPEG 2000 convert YCbCr to RGB, as dcmtk and GDCM do). This is what an independent
 * decoder's raw pixel array holds.
 */
export function decodeStoredFrame(parsed: ParsedDicom, frameIndex: number, limits: DicomLimits = DEFAULT_DICOM_LIMITS): Float64Array {
  const layout = checkDecodable(parsed.pixels, limits);
  checkFrameIndex(parsed.pixels, frameIndex);
  return readStoredFrame(parsed.pixels, layout, frameIndex).values;
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
  if (px.encapsulated) assertSupportedSyntax(px.transferSyntaxUid);
  if (px.pixelData === undefined && px.encapsulatedItems === undefined) {
    throw new AppError('DICOM_INVALID', 'The instance has no Pixel Data (7FE0,0010).');
  }
  if (px.rows === 0 || px.columns === 0 || px.numberOfFrames === 0) {
    throw new AppError('DICOM_INVALID', `Rows, Columns and NumberOfFrames must be positive (got ${px.rows} × ${px.columns} × ${px.numberOfFrames}).`);
  }
  const photometric = px.photometricInterpretation;
  const samplesPerPixel = checkPhotometric(px);
  checkBits(px, photometric);
  const pixelsPerFrame = px.rows * px.columns;
  const declaredSamples = pixelsPerFrame * samplesPerPixel * px.numberOfFrames;
  if (declaredSamples > limits.maxPixels) {
    throw new AppError(
      'DICOM_TOO_LARGE',
      `The image declares ${px.rows} × ${px.columns} × ${samplesPerPixel} samples × ${px.numberOfFrames} frame(s), ` +
        `more than the limit of ${limits.maxPixels} samples.`,
    );
  }
  if (px.encapsulated) {
    const family = codestreamFamily(px.transferSyntaxUid);
    if (family === undefined || px.encapsulatedItems === undefined) throw new AppError('DICOM_INVALID', 'The instance has no encapsulated Pixel Data.');
    return { kind: 'encapsulated', frames: encapsulatedFrames(px.encapsulatedItems, px.numberOfFrames, family), samplesPerPixel };
  }
  return nativeLayout(px, pixelsPerFrame, samplesPerPixel);
}

function nativeLayout(px: PixelModule, pixelsPerFrame: number, samplesPerPixel: 1 | 3): NativeLayout {
  const data = px.pixelData;
  if (data === undefined) throw new AppError('DICOM_INVALID', 'The instance has no Pixel Data (7FE0,0010).');
  const storedSamplesPerFrame = pixelsPerFrame * (px.photometricInterpretation === 'YBR_FULL_422' ? 2 : samplesPerPixel);
  const expectedBytes = Math.ceil((storedSamplesPerFrame * px.numberOfFrames * px.bitsAllocated) / 8);
  if (data.byteLength < expectedBytes) {
    throw new AppError(
      'DICOM_INVALID',
      `Pixel Data holds ${data.byteLength} bytes, fewer than the ${expectedBytes} ` +
        'its Rows, Columns, SamplesPerPixel, NumberOfFrames and BitsAllocated declare.',
    );
  }
  const littleEndian = !isBigEndianTransferSyntax(px.transferSyntaxUid);
  return {
    kind: 'native',
    data,
    pixelsPerFrame,
    samplesPerPixel,
    storedSamplesPerFrame,
    littleEndian,
    swapBytePairs: !littleEndian && px.bitsAllocated === 8 && px.pixelDataVr === 'OW',
  };
}

function checkPhotometric(px: PixelModule): 1 | 3 {
  const photometric = px.photometricInterpretation;
  if (MONOCHROME.has(photometric) || photometric === 'PALETTE COLOR') {
    if (px.samplesPerPixel !== 1) throw new AppError('DICOM_INVALID', `${photometric} requires SamplesPerPixel 1, not ${px.samplesPerPixel}.`);
    return 1;
  }
  const j2k = codestreamFamily(px.transferSyntaxUid) === 'jpeg2000';
  if (!COLOUR.has(photometric) && !(j2k && J2K_COLOUR.has(photometric))) {
    const j2kNote = j2k ? ', and YBR_RCT, YBR_ICT with JPEG 2000' : '';
    throw new AppError('DICOM_UNSUPPORTED', `PhotometricInterpretation ${photometric} is not supported (MONOCHROME1, MONOCHROME2, PALETTE COLOR, RGB, YBR_FULL, YBR_FULL_422 are${j2kNote}).`);
  }
  if (px.samplesPerPixel !== 3) throw new AppError('DICOM_INVALID', `${photometric} requires SamplesPerPixel 3, not ${px.samplesPerPixel}.`);
  if (photometric === 'YBR_FULL_422' && !px.encapsulated) {
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
  if (photometric === 'PALETTE COLOR' && bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new AppError('DICOM_INVALID', `PALETTE COLOR requires BitsAllocated 8 or 16, not ${bitsAllocated}.`);
  }
  if (bitsAllocated === 1 && !MONOCHROME.has(photometric)) {
    throw new AppError('DICOM_INVALID', `BitsAllocated 1 is only valid for monochrome images, not ${photometric}.`);
  }
  if (bitsAllocated === 1 && px.encapsulated) {
    throw new AppError('DICOM_UNSUPPORTED', 'BitsAllocated 1 is supported only in native (uncompressed) Pixel Data.');
  }
}

/** One frame's stored samples in sample order, not yet materialised. */
interface FrameSamples {
  readonly samples: StoredSamples;
  readonly photometric: DecodedPhotometric;
}

/** The frame's samples as cells (decoded when compressed), or undefined when a native layout must be rearranged first. */
function frameSamples(px: PixelModule, layout: Layout, frameIndex: number): FrameSamples | undefined {
  if (layout.kind === 'encapsulated') return decodeEncapsulatedSamples(layout.frames[frameIndex] as Uint8Array, px);
  if (!nativeInOrder(px, layout)) return undefined;
  return { samples: nativeStoredSamples(px, layout, frameIndex), photometric: nativePhotometric(px) };
}

function nativePhotometric(px: PixelModule): DecodedPhotometric {
  const p = px.photometricInterpretation;
  if (p === 'PALETTE COLOR') return 'MONOCHROME2'; // indices; the palette is applied later
  return p === 'MONOCHROME1' || p === 'MONOCHROME2' || p === 'RGB' ? p : 'YBR_FULL';
}

function readStoredFrame(px: PixelModule, layout: Layout, frameIndex: number, samples = frameSamples(px, layout, frameIndex)): StoredFrame {
  if (samples !== undefined) return { values: storedToFloat64(samples.samples), photometric: samples.photometric };
  return { values: readNativeFrame(px, layout as NativeLayout, frameIndex), photometric: nativePhotometric(px) };
}

function toModalityFrame(parsed: ParsedDicom, layout: Layout, frameIndex: number): ModalityFrame {
  const px = parsed.pixels;
  const base = { info: parsed.info, frameIndex, rows: px.rows, columns: px.columns, invert: px.photometricInterpretation === 'MONOCHROME1' };
  const monochrome = layout.samplesPerPixel === 1;
  const samples = frameSamples(px, layout, frameIndex);
  const modality = { samplesPerPixel: layout.samplesPerPixel, window: monochrome ? px.window : undefined, voiLut: monochrome ? px.voiLut : undefined };
  if (samples !== undefined && px.palette === undefined && (monochrome ? px.modalityLut === undefined : samples.photometric === 'RGB')) {
    // The usual case: rescale (monochrome) or RGB as stored, made from the cells in one pass when first read.
    return lazyModalityFrame({ ...base, ...modality }, samples.samples, monochrome ? px.rescaleSlope : 1, monochrome ? px.rescaleIntercept : 0);
  }
  const stored = readStoredFrame(px, layout, frameIndex, samples);
  if (px.palette !== undefined) {
    // PALETTE COLOR (PS3.3 C.7.6.3.1.5): each stored index becomes R, G, B through the three tables.
    const values = new Float32Array(stored.values.length * 3);
    applyLut(stored.values, values, px.palette.red, 0, 3);
    applyLut(stored.values, values, px.palette.green, 1, 3);
    applyLut(stored.values, values, px.palette.blue, 2, 3);
    return { ...base, samplesPerPixel: 3, values, window: undefined, invert: false, sampleMax: px.palette.maxValue };
  }
  const values = new Float32Array(stored.values.length);
  if (monochrome && px.modalityLut !== undefined) {
    // PS3.3 C.11.1: a Modality LUT Sequence and a rescale are mutually exclusive; the LUT wins.
    applyLut(stored.values, values, px.modalityLut);
  } else if (monochrome) {
    const { rescaleSlope: slope, rescaleIntercept: intercept } = px;
    // Computed in double precision, as PS3.3 C.11.1.1.2 defines it, then stored as Float32.
    for (let i = 0; i < stored.values.length; i++) values[i] = (stored.values[i] as number) * slope + intercept;
  } else if (stored.photometric === 'RGB') {
    values.set(stored.values);
  } else {
    ybrFullToRgb(stored.values, values, px.bitsStored);
  }
  return { ...base, ...modality, values };
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
