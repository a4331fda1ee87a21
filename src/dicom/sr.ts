/**
 * A TID 1500 Measurement Report (Comprehensive SR) of a model's measurements on its SEG: one
 * Measurement Group per segment, referencing the segment and the source image, observed by the
 * device (the model and its version), marked PRELIMINARY and UNVERIFIED with a comment that it
 * is AI output, not a diagnosis. UIDs are derived from (study, model, kind), like the SEG's.
 */
import { derivedUid, dicomDate, dicomTime, modelKey, patientAndStudy, writePart10 } from './derived.js';
import type { Code, DerivedInstance, ModelIdentity, SourceHeader } from './derived.js';
import type { SegmentationObject } from './seg.js';
import { SR_CODES as C, codeValue, container, imageValue, numValue, textValue, uidValue } from './sr-content.js';
import type { Item } from './sr-content.js';

export const COMPREHENSIVE_SR_STORAGE = '1.2.840.10008.5.1.4.1.1.88.33';

/** Default comment of every report. */
export const PRELIMINARY_AI_TEXT =
  'Preliminary AI output of a research model, not a diagnosis and not for clinical use: measurements made automatically from the referenced segmentation; a qualified reader must review them.';

/** One measurement of one segment. */
export interface SegmentMeasurement {
  /** The SEG's SegmentNumber (1-based). */
  readonly segmentNumber: number;
  /** Concept name, e.g. {@link MEASUREMENT_CODES.fieldOfViewShare}. */
  readonly name: Code;
  readonly value: number;
  /** UCUM unit, e.g. {@link UNITS.percent}. */
  readonly unit: Code;
}

export interface MeasurementReportInput {
  /** The SEG the measurements were made on (what {@link buildSegmentation} returned, less its bytes if you like). */
  readonly segmentation: Omit<SegmentationObject, 'part10'>;
  readonly measurements: readonly SegmentMeasurement[];
  readonly model: ModelIdentity;
  /** When the analysis finished (the same input gives the same bytes). */
  readonly createdAt: Date;
  /** Procedure reported; default the source's first ProcedureCodeSequence item, else SCT 363679005 "Imaging". */
  readonly procedureReported?: Code | undefined;
  /** Default {@link PRELIMINARY_AI_TEXT}. */
  readonly comment?: string | undefined;
  /** Default 9902. */
  readonly seriesNumber?: number | undefined;
}

/** UCUM units used by the measurements. */
export const UNITS = {
  percent: { value: '%', scheme: 'UCUM', meaning: 'Percent' },
  squareMillimetre: { value: 'mm2', scheme: 'UCUM', meaning: 'square millimeter' },
} as const satisfies Record<string, Code>;

/**
 * Measurement concepts. "Share of the field of view" has no standard code: it is the project's
 * own, in a private coding scheme (`99` prefix, PS3.3 8.2), declared in the report's Coding
 * Scheme Identification Sequence.
 */
export const MEASUREMENT_CODES = {
  fieldOfViewShare: { value: 'fov-share', scheme: '99IMGCDS', meaning: 'Share of the field of view' },
  /** SNOMED CT 42798000 "Area" (DICOM CID 7471 Area Measurement). */
  area: { value: '42798000', scheme: 'SCT', meaning: 'Area' },
} as const satisfies Record<string, Code>;

const PRIVATE_SCHEMES = [
  {
    CodingSchemeDesignator: '99IMGCDS',
    CodingSchemeName: 'imaging-cds measurement concepts',
    CodingSchemeResponsibleOrganization: 'imaging-cds project',
  },
];

function observerContext(model: ModelIdentity): Item[] {
  return [
    codeValue('HAS OBS CONTEXT', C.observerType, C.device),
    uidValue('HAS OBS CONTEXT', C.deviceObserverUid, derivedUid(['device', modelKey(model)])),
    textValue('HAS OBS CONTEXT', C.deviceObserverName, `${model.name} ${model.version}`),
    textValue('HAS OBS CONTEXT', C.deviceObserverManufacturer, model.manufacturer),
    textValue('HAS OBS CONTEXT', C.deviceObserverModelName, `${model.id} ${model.version}`),
  ];
}

/** TID 1410 (one frame: a 2-D image) or TID 1411 (several: a volume or cine) for one segment. */
function measurementGroup(input: MeasurementReportInput, segmentNumber: number): Item {
  const seg = input.segmentation;
  const segment = seg.segments.find((s) => s.number === segmentNumber);
  if (segment === undefined) throw new RangeError(`The segmentation has no segment ${segmentNumber}.`);
  const frames = seg.frames.filter((f) => f.segmentNumber === segmentNumber);
  const first = frames[0];
  if (first === undefined) throw new RangeError(`Segment ${segmentNumber} has no frame.`);
  const ref = { sopClassUid: seg.sopClassUid, sopInstanceUid: seg.sopInstanceUid, segment: segmentNumber };
  const planar = frames.length === 1;
  const source = seg.sources[0] as SourceHeader;
  const references = planar
    ? [
        // The frame implies its segment: PS3.3 forbids naming both.
        imageValue('CONTAINS', C.referencedSegmentationFrame, { sopClassUid: seg.sopClassUid, sopInstanceUid: seg.sopInstanceUid, frame: first.frameNumber }),
        imageValue('CONTAINS', C.sourceImageForSegmentation, { sopClassUid: first.sourceSopClassUid, sopInstanceUid: first.sourceSopInstanceUid, frame: first.sourceFrameNumber }),
      ]
    : [imageValue('CONTAINS', C.referencedSegment, ref), uidValue('CONTAINS', C.sourceSeriesForSegmentation, source.seriesInstanceUid)];
  const algorithm = [textValue('HAS CONCEPT MOD', C.algorithmName, input.model.id), textValue('HAS CONCEPT MOD', C.algorithmVersion, input.model.version)];
  const nums = input.measurements.filter((m) => m.segmentNumber === segmentNumber).map((m) => numValue(m.name, m.value, m.unit, algorithm));
  const trackingUid = derivedUid([seg.studyInstanceUid, modelKey(input.model), 'sr-tracking', String(segmentNumber)]);
  return container(
    'CONTAINS',
    C.measurementGroup,
    [
      textValue('HAS OBS CONTEXT', C.trackingIdentifier, segment.label),
      uidValue('HAS OBS CONTEXT', C.trackingUid, trackingUid),
      codeValue('CONTAINS', C.finding, segment.type),
      ...(segment.anatomicRegion === undefined ? [] : [codeValue('HAS CONCEPT MOD', C.findingSite, segment.anatomicRegion)]),
      ...references,
      ...nums,
    ],
    planar ? '1410' : '1411',
  );
}

function procedureOf(input: MeasurementReportInput): Code {
  if (input.procedureReported !== undefined) return input.procedureReported;
  const first = input.segmentation.sources[0]?.attributes['ProcedureCodeSequence'];
  const item = (Array.isArray(first) ? first[0] : first) as Record<string, unknown> | undefined;
  const [value, scheme, meaning] = [item?.['CodeValue'], item?.['CodingSchemeDesignator'], item?.['CodeMeaning']];
  return typeof value === 'string' && typeof scheme === 'string' && typeof meaning === 'string' ? { value, scheme, meaning } : C.imaging;
}

/** The content tree: TID 1500 from its root. */
function contentTree(input: MeasurementReportInput): Item {
  const segmentNumbers = [...new Set(input.measurements.map((m) => m.segmentNumber))].sort((a, b) => a - b);
  return container(
    undefined,
    C.imagingMeasurementReport,
    [
      codeValue('HAS CONCEPT MOD', C.language, C.englishUs),
      ...observerContext(input.model),
      codeValue('HAS CONCEPT MOD', C.procedureReported, procedureOf(input)),
      container('CONTAINS', C.imageLibrary, []),
      container('CONTAINS', C.imagingMeasurements, segmentNumbers.map((n) => measurementGroup(input, n))),
      container('CONTAINS', C.qualitativeEvaluations, [textValue('CONTAINS', C.comment, input.comment ?? PRELIMINARY_AI_TEXT)]),
    ],
    '1500',
  );
}

/** Current Requested Procedure Evidence: every instance the content tree references, by series. */
function evidence(seg: MeasurementReportInput['segmentation']): Record<string, unknown>[] {
  const series = new Map<string, { ReferencedSOPClassUID: string; ReferencedSOPInstanceUID: string }[]>();
  const add = (seriesUid: string, sopClassUid: string, sopInstanceUid: string): void => {
    const list = series.get(seriesUid) ?? [];
    // Frames of one multi-frame source are one instance here.
    if (!list.some((r) => r.ReferencedSOPInstanceUID === sopInstanceUid)) series.set(seriesUid, [...list, { ReferencedSOPClassUID: sopClassUid, ReferencedSOPInstanceUID: sopInstanceUid }]);
  };
  for (const s of seg.sources) add(s.seriesInstanceUid, s.sopClassUid, s.sopInstanceUid);
  add(seg.seriesInstanceUid, seg.sopClassUid, seg.sopInstanceUid);
  return [{ StudyInstanceUID: seg.studyInstanceUid, ReferencedSeriesSequence: [...series].map(([uid, sops]) => ({ SeriesInstanceUID: uid, ReferencedSOPSequence: sops })) }];
}

/**
 * Builds the Measurement Report.
 *
 * @throws RangeError when a measurement names a segment the SEG does not have
 */
export function buildMeasurementReport(input: MeasurementReportInput): DerivedInstance {
  const seg = input.segmentation;
  const first = seg.sources[0];
  if (first === undefined) throw new RangeError('The segmentation names no source image.');
  const key = modelKey(input.model);
  const seriesInstanceUid = derivedUid([seg.studyInstanceUid, key, 'sr-series']);
  const sopInstanceUid = derivedUid([seg.studyInstanceUid, key, 'sr-instance']);
  const { createdAt, model } = input;
  const dataset = {
    ...patientAndStudy(first),
    Modality: 'SR',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: input.seriesNumber ?? 9902,
    SeriesDescription: 'AI measurements, preliminary',
    SeriesDate: dicomDate(createdAt),
    SeriesTime: dicomTime(createdAt),
    ReferencedPerformedProcedureStepSequence: [],
    Manufacturer: model.manufacturer,
    ManufacturerModelName: model.id,
    SoftwareVersions: model.version,
    InstanceNumber: 1,
    InstanceCreationDate: dicomDate(createdAt),
    InstanceCreationTime: dicomTime(createdAt),
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    PreliminaryFlag: 'PRELIMINARY',
    ContentDate: dicomDate(createdAt),
    ContentTime: dicomTime(createdAt),
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: evidence(seg),
    CodingSchemeIdentificationSequence: PRIVATE_SCHEMES,
    ...contentTree(input),
  };
  return { part10: writePart10(dataset, COMPREHENSIVE_SR_STORAGE, sopInstanceUid), sopClassUid: COMPREHENSIVE_SR_STORAGE, sopInstanceUid, seriesInstanceUid, studyInstanceUid: seg.studyInstanceUid };
}
