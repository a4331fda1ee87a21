/**
 * What the SEG and SR builders share: deterministic UIDs, the source instance's header, the
 * Patient and Study attributes copied from it, coded concepts, and writing a Part 10 file with
 * dcmjs. Objects made here carry results back to the PACS (IHE AI Results); nothing here reads
 * pixels.
 */
import { createHash } from 'node:crypto';
import dcmjs from 'dcmjs';

import { AppError } from '../errors.js';

const { DicomMessage, DicomMetaDictionary, DicomDict } = dcmjs.data;

// dcmjs reports what it repairs (an unknown VR read as UN, …) on the console, bypassing the
// service's log and echoing raw bytes of the file; what it cannot read throws, which is handled.
dcmjs.log.setLevel('silent');
for (const logger of Object.values(dcmjs.log.getLoggers())) logger.setLevel('silent');

/** A coded concept (PS3.3 8.8): value, coding scheme designator (`DCM`, `SCT`, `UCUM`, …) and meaning. */
export interface Code {
  readonly value: string;
  readonly scheme: string;
  readonly meaning: string;
}

/** The model that made a result, as the derived objects name it. */
export interface ModelIdentity {
  /** Stable id, e.g. `retina-vessels-drive`. */
  readonly id: string;
  readonly version: string;
  /** Human-readable name. */
  readonly name: string;
  readonly manufacturer: string;
}

/** What every derived object reports about itself: where it lives and how it is named. */
export interface DerivedInstance {
  /** The Part 10 file. */
  readonly part10: Uint8Array;
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly studyInstanceUid: string;
}

/** The header of a source image, as the derived objects reference and copy it. */
export interface SourceHeader {
  /** Every attribute before Pixel Data, keyed by keyword (dcmjs's naturalized form). */
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly rows: number;
  readonly columns: number;
  /** Present when the source has a Frame of Reference and states where its plane lies. */
  readonly frameOfReferenceUid?: string | undefined;
  readonly imagePositionPatient?: readonly number[] | undefined;
  readonly imageOrientationPatient?: readonly number[] | undefined;
  /** [row spacing, column spacing] in mm. */
  readonly pixelSpacing?: readonly number[] | undefined;
  readonly sliceThickness?: number | undefined;
  /** Set when this header describes one frame (1-based) of a multi-frame source. */
  readonly frameNumber?: number | undefined;
}

/** The UID root of UUID-derived UIDs (PS3.5 B.2): `2.25.` and a decimal integer below 2^128. */
const UUID_ROOT = '2.25.';

/**
 * A UID derived from its parts only: `2.25.` + the first 128 bits of SHA-256 over the parts, in
 * decimal. The same study, model and object kind always give the same UID, so storing a result
 * again replaces nothing and duplicates nothing.
 *
 * @param parts - e.g. `[studyUid, 'retina-vessels-drive@1.0.0', 'seg-instance']`
 */
export function derivedUid(parts: readonly string[]): string {
  const digest = createHash('sha256').update(JSON.stringify(parts)).digest();
  const value = BigInt(`0x${digest.subarray(0, 16).toString('hex')}`);
  return `${UUID_ROOT}${value.toString(10)}`;
}

/** `id@version`, the model's identity in derived UIDs. */
export function modelKey(model: ModelIdentity): string {
  return `${model.id}@${model.version}`;
}

function text(attributes: Readonly<Record<string, unknown>>, keyword: string): string | undefined {
  const value = attributes[keyword];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function numbers(attributes: Readonly<Record<string, unknown>>, keyword: string): number[] | undefined {
  const raw = attributes[keyword];
  const list = Array.isArray(raw) ? raw : raw === undefined || raw === '' ? [] : [raw];
  const out = list.map((v) => Number(v));
  return out.length > 0 && out.every((n) => Number.isFinite(n)) ? out : undefined;
}

/**
 * Every attribute before Pixel Data, keyword-keyed (dcmjs's naturalized form), sequences included.
 *
 * @throws AppError DICOM_INVALID when the file cannot be read
 */
export function readHeaderAttributes(part10: Uint8Array): Record<string, unknown> {
  try {
    // A copy of exactly these bytes (a Buffer's slice() is a view into a shared pool).
    const copy = new Uint8Array(part10).buffer;
    const file = DicomMessage.readFile(copy, { untilTag: '7FE00010', includeUntilTagValue: false });
    return DicomMetaDictionary.naturalizeDataset(file.dict);
  } catch (err) {
    throw new AppError('DICOM_INVALID', 'The source instance could not be read as DICOM Part 10.', { cause: err });
  }
}

/**
 * Reads a source instance's header (everything before Pixel Data) with dcmjs.
 *
 * @throws AppError DICOM_INVALID when the file cannot be read or lacks a UID, Rows or Columns
 */
export function readSourceHeader(part10: Uint8Array): SourceHeader {
  const attributes = readHeaderAttributes(part10);
  const need = (keyword: string): string => {
    const value = text(attributes, keyword);
    if (value === undefined) throw new AppError('DICOM_INVALID', `The source instance has no ${keyword}.`);
    return value;
  };
  const rows = Number(attributes['Rows']);
  const columns = Number(attributes['Columns']);
  if (!(rows > 0 && columns > 0)) throw new AppError('DICOM_INVALID', 'The source instance has no Rows or Columns.');
  const frameOfReferenceUid = text(attributes, 'FrameOfReferenceUID');
  return {
    attributes,
    sopClassUid: need('SOPClassUID'),
    sopInstanceUid: need('SOPInstanceUID'),
    studyInstanceUid: need('StudyInstanceUID'),
    seriesInstanceUid: need('SeriesInstanceUID'),
    rows,
    columns,
    frameOfReferenceUid,
    imagePositionPatient: frameOfReferenceUid === undefined ? undefined : numbers(attributes, 'ImagePositionPatient'),
    imageOrientationPatient: frameOfReferenceUid === undefined ? undefined : numbers(attributes, 'ImageOrientationPatient'),
    pixelSpacing: numbers(attributes, 'PixelSpacing'),
    sliceThickness: numbers(attributes, 'SliceThickness')?.[0],
  };
}

/** Patient, Patient Study and General Study attributes copied from the source (type 2 ones empty when absent). */
const COPIED_OPTIONAL = [
  'SpecificCharacterSet',
  'IssuerOfPatientID',
  'OtherPatientIDsSequence',
  'PatientAge',
  'PatientSize',
  'PatientWeight',
  'StudyDescription',
  'IssuerOfAccessionNumberSequence',
  'ReferencedStudySequence',
] as const;
const COPIED_TYPE2 = ['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'StudyDate', 'StudyTime', 'ReferringPhysicianName', 'StudyID', 'AccessionNumber'] as const;

/** The Patient and Study modules of a derived object: the source's, so the PACS files it with the study. */
export function patientAndStudy(source: SourceHeader): Record<string, unknown> {
  const out: Record<string, unknown> = { StudyInstanceUID: source.studyInstanceUid };
  for (const keyword of COPIED_TYPE2) out[keyword] = source.attributes[keyword] ?? '';
  for (const keyword of COPIED_OPTIONAL) {
    const value = source.attributes[keyword];
    if (value !== undefined && value !== '') out[keyword] = value;
  }
  return out;
}

/** A code sequence item. */
export function codeItem(code: Code): Record<string, string> {
  return { CodeValue: code.value, CodingSchemeDesignator: code.scheme, CodeMeaning: code.meaning };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** DA in UTC. */
export function dicomDate(at: Date): string {
  return `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}`;
}

/** TM in UTC, to the second. */
export function dicomTime(at: Date): string {
  return `${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
}

/** A decimal string (DS) of at most 16 characters. */
export function decimalString(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError('A DS value must be finite.');
  for (let digits = 12; digits >= 1; digits--) {
    const s = String(Number(value.toPrecision(digits)));
    if (s.length <= 16) return s;
  }
  return value.toExponential(6);
}

const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** This implementation's class UID (PS3.7 D.3.3.2), a UUID-derived UID of the product name. */
const IMPLEMENTATION_CLASS_UID = derivedUid(['imaging-cds', 'dicom implementation class']);

/**
 * Writes a keyword-keyed data set as a Part 10 file (Explicit VR Little Endian) with dcmjs.
 *
 * @param dataset - attributes by keyword; `_vrMap` names the VR of OB/OW attributes
 */
export function writePart10(dataset: Record<string, unknown>, sopClassUid: string, sopInstanceUid: string): Uint8Array {
  const meta = DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: 'IMAGING_CDS_1',
    _vrMap: { FileMetaInformationVersion: 'OB' },
  });
  const file = new DicomDict(meta);
  file.dict = DicomMetaDictionary.denaturalizeDataset({ ...dataset, SOPClassUID: sopClassUid, SOPInstanceUID: sopInstanceUid });
  return new Uint8Array(file.write());
}
