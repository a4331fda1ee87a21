/**
 * SR content items (PS3.3 C.17.3) as dcmjs keyword-keyed items, and the coded concepts the
 * Measurement Report uses. DCM codes are checked by dciodvfy against its code tables in the
 * tests; the SNOMED and UCUM ones are named in README § "Results back to the PACS".
 */
import { codeItem, decimalString } from './derived.js';
import type { Code } from './derived.js';

export type Item = Record<string, unknown>;
type Relationship = 'CONTAINS' | 'HAS OBS CONTEXT' | 'HAS CONCEPT MOD' | 'HAS PROPERTIES' | 'INFERRED FROM' | 'SELECTED FROM';

const dcm = (value: string, meaning: string): Code => ({ value, scheme: 'DCM', meaning });

/** Concept names (DICOM PS3.16 Annex D, DCM) and the few SNOMED CT / RFC 5646 codes of TID 1500. */
export const SR_CODES = {
  imagingMeasurementReport: dcm('126000', 'Imaging Measurement Report'),
  language: dcm('121049', 'Language of Content Item and Descendants'),
  englishUs: { value: 'en-US', scheme: 'RFC5646', meaning: 'English (United States)' },
  observerType: dcm('121005', 'Observer Type'),
  device: dcm('121007', 'Device'),
  deviceObserverUid: dcm('121012', 'Device Observer UID'),
  deviceObserverName: dcm('121013', 'Device Observer Name'),
  deviceObserverManufacturer: dcm('121014', 'Device Observer Manufacturer'),
  deviceObserverModelName: dcm('121015', 'Device Observer Model Name'),
  procedureReported: dcm('121058', 'Procedure reported'),
  imageLibrary: dcm('111028', 'Image Library'),
  imagingMeasurements: dcm('126010', 'Imaging Measurements'),
  measurementGroup: dcm('125007', 'Measurement Group'),
  trackingIdentifier: dcm('112039', 'Tracking Identifier'),
  trackingUid: dcm('112040', 'Tracking Unique Identifier'),
  finding: dcm('121071', 'Finding'),
  findingSite: { value: '363698007', scheme: 'SCT', meaning: 'Finding Site' },
  referencedSegmentationFrame: dcm('121214', 'Referenced Segmentation Frame'),
  referencedSegment: dcm('121191', 'Referenced Segment'),
  sourceImageForSegmentation: dcm('121233', 'Source image for segmentation'),
  sourceSeriesForSegmentation: dcm('121232', 'Source series for segmentation'),
  algorithmName: dcm('111001', 'Algorithm Name'),
  algorithmVersion: dcm('111003', 'Algorithm Version'),
  qualitativeEvaluations: { value: 'C0034375', scheme: 'UMLS', meaning: 'Qualitative Evaluations' },
  comment: dcm('121106', 'Comment'),
  /** SNOMED CT 363679005 "Imaging (procedure)": the procedure when the source names none. */
  imaging: { value: '363679005', scheme: 'SCT', meaning: 'Imaging (procedure)' },
} as const satisfies Record<string, Code>;

const base = (relationship: Relationship | undefined, valueType: string, name: Code): Item => ({
  ...(relationship === undefined ? {} : { RelationshipType: relationship }),
  ValueType: valueType,
  ConceptNameCodeSequence: [codeItem(name)],
});

export function container(relationship: Relationship | undefined, name: Code, children: readonly Item[], templateId?: string): Item {
  return {
    ...base(relationship, 'CONTAINER', name),
    ContinuityOfContent: 'SEPARATE',
    ...(templateId === undefined ? {} : { ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: templateId }] }),
    ...(children.length === 0 ? {} : { ContentSequence: [...children] }),
  };
}

export function codeValue(relationship: Relationship, name: Code, value: Code): Item {
  return { ...base(relationship, 'CODE', name), ConceptCodeSequence: [codeItem(value)] };
}

/** TEXT is UT: unlimited, no backslash trouble. */
export function textValue(relationship: Relationship, name: Code, value: string): Item {
  return { ...base(relationship, 'TEXT', name), TextValue: value };
}

export function uidValue(relationship: Relationship, name: Code, uid: string): Item {
  return { ...base(relationship, 'UIDREF', name), UID: uid };
}

/** A NUM with its unit (UCUM) and, under it, the algorithm that measured it (TID 4019). */
export function numValue(name: Code, value: number, unit: Code, children: readonly Item[] = []): Item {
  return {
    ...base('CONTAINS', 'NUM', name),
    MeasuredValueSequence: [{ MeasurementUnitsCodeSequence: [codeItem(unit)], NumericValue: decimalString(value), FloatingPointValue: value }],
    ...(children.length === 0 ? {} : { ContentSequence: [...children] }),
  };
}

/** An IMAGE reference; `frame` and `segment` narrow it to one frame or one segment of a SEG. */
export function imageValue(relationship: Relationship, name: Code, ref: { sopClassUid: string; sopInstanceUid: string; frame?: number; segment?: number }): Item {
  return {
    ...base(relationship, 'IMAGE', name),
    ReferencedSOPSequence: [
      {
        ReferencedSOPClassUID: ref.sopClassUid,
        ReferencedSOPInstanceUID: ref.sopInstanceUid,
        ...(ref.frame === undefined ? {} : { ReferencedFrameNumber: String(ref.frame) }),
        ...(ref.segment === undefined ? {} : { ReferencedSegmentNumber: ref.segment }),
      },
    ],
  };
}
