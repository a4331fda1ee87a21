/**
 * DICOM Segmentation (PS3.3 A.51) of a model's binary masks: one segment per class, one frame per
 * (segment, source image or source frame), referencing the source instances, in the source's
 * study, with deterministic UIDs. Masks are at the source's resolution (Rows × Columns).
 *
 * Geometry: when every source has a Frame of Reference, the SEG shares it and each frame states
 * its plane (Plane Position/Orientation, Pixel Measures); frames are indexed by segment and
 * position (and temporal position for cine). A 2-D photograph without a Frame of Reference (a
 * colour fundus image) gets none: its frames are indexed by segment only and point at their
 * source image through the Derivation Image functional group, which the SEG IOD allows.
 */
import { codeItem, decimalString, derivedUid, dicomDate, dicomTime, modelKey, patientAndStudy, readSourceHeader, writePart10 } from './derived.js';
import type { Code, DerivedInstance, ModelIdentity, SourceHeader } from './derived.js';
import { planeGeometry } from './seg-geometry.js';

export const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';

/** What one segment is: its label and codes (PS3.3 C.8.20.2, CID 7150 / CID 7151). */
export interface SegmentDescription {
  /** SegmentLabel, e.g. `Retinal blood vessels`. */
  readonly label: string;
  readonly description?: string | undefined;
  /** Segmented Property Category (CID 7150), e.g. SCT 91723000 "Anatomical Structure". */
  readonly category: Code;
  /** Segmented Property Type (CID 7151), e.g. SCT 59820001 "Blood vessel". */
  readonly type: Code;
  /** Where it is, e.g. SCT 5665001 "Retina". */
  readonly anatomicRegion?: Code | undefined;
  /** RecommendedDisplayCIELabValue, scaled to 0…65535 as PS3.3 C.10.7.1.1 defines. */
  readonly displayCIELab?: readonly [number, number, number] | undefined;
}

/** A binary mask at the source image's resolution, row-major; any non-zero value is inside. */
export interface Mask {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** One segment: its description and a mask per source image (same order as the sources). */
export interface SegmentInput {
  readonly description: SegmentDescription;
  readonly masks: readonly Mask[];
}

export interface SegmentationInput {
  /** The source instances (Part 10 bytes, or headers read by {@link readSourceHeader}); single-frame images of one study. */
  readonly sources: readonly (Uint8Array | SourceHeader)[];
  readonly segments: readonly SegmentInput[];
  readonly model: ModelIdentity;
  /** When the analysis finished: Series/Content Date and Time (the same input gives the same bytes). */
  readonly createdAt: Date;
  /** Temporal position (1-based) of each source, for a cine series; indexes the frames as a dimension. */
  readonly temporalPositions?: readonly number[] | undefined;
  /** Default 9901. */
  readonly seriesNumber?: number | undefined;
}

/** One frame of the SEG. */
export interface SegmentationFrame {
  /** 1-based. */
  readonly frameNumber: number;
  readonly segmentNumber: number;
  readonly sourceSopInstanceUid: string;
  readonly sourceSopClassUid: string;
  /** The frame of a multi-frame source (1-based), when the source is one. */
  readonly sourceFrameNumber?: number | undefined;
}

export interface SegmentationObject extends DerivedInstance {
  readonly frameOfReferenceUid: string | undefined;
  readonly segments: readonly { readonly number: number; readonly label: string; readonly type: Code; readonly anatomicRegion?: Code | undefined }[];
  readonly frames: readonly SegmentationFrame[];
  /** The source headers, in input order (the SR references them too). */
  readonly sources: readonly SourceHeader[];
}

const SOURCE_IMAGE_PURPOSE: Code = { value: '121322', scheme: 'DCM', meaning: 'Source image for image processing operation' };
const SEGMENTATION_DERIVATION: Code = { value: '113076', scheme: 'DCM', meaning: 'Segmentation' };
const TAG_REFERENCED_SEGMENT_NUMBER = 0x0062000b;
const TAG_SEGMENT_IDENTIFICATION_SEQUENCE = 0x0062000a;
const TAG_IMAGE_POSITION_PATIENT = 0x00200032;
const TAG_PLANE_POSITION_SEQUENCE = 0x00209113;
const TAG_TEMPORAL_POSITION_INDEX = 0x00209128;
const TAG_FRAME_CONTENT_SEQUENCE = 0x00209111;

/** LO values are at most 64 characters of the default repertoire (ASCII): a longer one ends in "...". */
const lo = (s: string): string => (s.length <= 64 ? s : `${s.slice(0, 61)}...`);

function checkInput(input: SegmentationInput, sources: readonly SourceHeader[]): void {
  const first = sources[0];
  if (first === undefined) throw new RangeError('A segmentation needs at least one source image.');
  if (input.segments.length === 0) throw new RangeError('A segmentation needs at least one segment.');
  for (const s of sources) {
    if (s.studyInstanceUid !== first.studyInstanceUid) throw new RangeError('The source images of a segmentation must belong to one study.');
    if (s.rows !== first.rows || s.columns !== first.columns) throw new RangeError('The source images of a segmentation must have one size.');
    if (Number(s.attributes['NumberOfFrames'] ?? 1) > 1 && s.frameNumber === undefined) throw new RangeError('A multi-frame source image must be narrowed to one frame (frameHeader) before it is referenced.');
  }
  for (const segment of input.segments) {
    if (segment.masks.length !== sources.length) throw new RangeError(`Segment "${segment.description.label}" needs one mask per source image.`);
    for (const m of segment.masks) {
      if (m.width !== first.columns || m.height !== first.rows || m.data.length !== m.width * m.height) {
        throw new RangeError(`Masks must be at the source resolution (${first.columns}×${first.rows}); resample before building the SEG.`);
      }
    }
  }
  if (input.temporalPositions !== undefined && input.temporalPositions.length !== sources.length) {
    throw new RangeError('temporalPositions needs one value per source image.');
  }
}

/**
 * Packs frames of 0/1 pixels one bit each (PS3.5 8.1.1: first pixel in the least significant
 * bit), frames back to back without padding, the whole padded to an even length.
 */
export function packBits(frames: readonly Uint8Array[]): Uint8Array {
  const total = frames.reduce((n, f) => n + f.length, 0);
  const bytes = Math.ceil(total / 8);
  const out = new Uint8Array(bytes + (bytes % 2));
  let bit = 0;
  for (const frame of frames) {
    for (let i = 0; i < frame.length; i++, bit++) if (frame[i] !== 0) out[bit >> 3] = (out[bit >> 3] as number) | (1 << (bit & 7));
  }
  return out;
}

function segmentItem(description: SegmentDescription, number: number, model: ModelIdentity): Record<string, unknown> {
  return {
    SegmentNumber: number,
    SegmentLabel: lo(description.label),
    ...(description.description === undefined ? {} : { SegmentDescription: description.description }),
    SegmentAlgorithmType: 'AUTOMATIC',
    SegmentAlgorithmName: lo(`${model.id} ${model.version}`),
    SegmentedPropertyCategoryCodeSequence: [codeItem(description.category)],
    SegmentedPropertyTypeCodeSequence: [codeItem(description.type)],
    ...(description.anatomicRegion === undefined ? {} : { AnatomicRegionSequence: [codeItem(description.anatomicRegion)] }),
    ...(description.displayCIELab === undefined ? {} : { RecommendedDisplayCIELabValue: [...description.displayCIELab] }),
  };
}

/** The Common Instance Reference module: the source instances (each once, however many of its frames), by series. */
function referencedSeries(sources: readonly SourceHeader[]): Record<string, unknown>[] {
  const bySeries = new Map<string, SourceHeader[]>();
  for (const s of sources) {
    const list = bySeries.get(s.seriesInstanceUid) ?? [];
    if (!list.some((x) => x.sopInstanceUid === s.sopInstanceUid)) bySeries.set(s.seriesInstanceUid, [...list, s]);
  }
  return [...bySeries].map(([seriesUid, list]) => ({
    SeriesInstanceUID: seriesUid,
    ReferencedInstanceSequence: list.map((s) => ({ ReferencedSOPClassUID: s.sopClassUid, ReferencedSOPInstanceUID: s.sopInstanceUid })),
  }));
}

function dimensions(organizationUid: string, withPosition: boolean, withTime: boolean): Record<string, unknown> {
  const index = (pointer: number, group: number, label: string): Record<string, unknown> => ({
    DimensionOrganizationUID: organizationUid,
    DimensionIndexPointer: pointer,
    FunctionalGroupPointer: group,
    DimensionDescriptionLabel: label,
  });
  return {
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: organizationUid }],
    DimensionIndexSequence: [
      index(TAG_REFERENCED_SEGMENT_NUMBER, TAG_SEGMENT_IDENTIFICATION_SEQUENCE, 'Segment Number'),
      ...(withPosition ? [index(TAG_IMAGE_POSITION_PATIENT, TAG_PLANE_POSITION_SEQUENCE, 'Image Position (Patient)')] : []),
      ...(withTime ? [index(TAG_TEMPORAL_POSITION_INDEX, TAG_FRAME_CONTENT_SEQUENCE, 'Temporal Position Index')] : []),
    ],
  };
}

/**
 * Builds the SEG.
 *
 * @throws RangeError when sources, segments or masks do not fit together (a caller's bug);
 *   AppError DICOM_INVALID when a source cannot be read
 */
export function buildSegmentation(input: SegmentationInput): SegmentationObject {
  const sources = input.sources.map((s) => (ArrayBuffer.isView(s) ? readSourceHeader(s) : s));
  checkInput(input, sources);
  const first = sources[0] as SourceHeader;
  const key = modelKey(input.model);
  const studyUid = first.studyInstanceUid;
  const seriesInstanceUid = derivedUid([studyUid, key, 'seg-series']);
  const sopInstanceUid = derivedUid([studyUid, key, 'seg-instance']);
  const geometry = planeGeometry(sources);
  const temporal = input.temporalPositions;

  const frames: SegmentationFrame[] = [];
  const perFrame: Record<string, unknown>[] = [];
  const pixels: Uint8Array[] = [];
  input.segments.forEach((segment, s) => {
    sources.forEach((source, i) => {
      const segmentNumber = s + 1;
      frames.push({ frameNumber: frames.length + 1, segmentNumber, sourceSopInstanceUid: source.sopInstanceUid, sourceSopClassUid: source.sopClassUid, sourceFrameNumber: source.frameNumber });
      pixels.push((segment.masks[i] as { data: Uint8Array }).data);
      const indexValues = [segmentNumber, ...(geometry === undefined ? [] : [geometry.positionIndex[i] as number]), ...(temporal === undefined ? [] : [temporal[i] as number])];
      perFrame.push({
        FrameContentSequence: [{ DimensionIndexValues: indexValues, ...(temporal === undefined ? {} : { TemporalPositionIndex: temporal[i] }) }],
        ...(geometry === undefined ? {} : { PlanePositionSequence: [{ ImagePositionPatient: (source.imagePositionPatient ?? []).map(decimalString) }] }),
        DerivationImageSequence: [
          {
            SourceImageSequence: [
              {
                ReferencedSOPClassUID: source.sopClassUid,
                ReferencedSOPInstanceUID: source.sopInstanceUid,
                ...(source.frameNumber === undefined ? {} : { ReferencedFrameNumber: source.frameNumber }),
                PurposeOfReferenceCodeSequence: [codeItem(SOURCE_IMAGE_PURPOSE)],
              },
            ],
            DerivationCodeSequence: [codeItem(SEGMENTATION_DERIVATION)],
          },
        ],
        SegmentIdentificationSequence: [{ ReferencedSegmentNumber: segmentNumber }],
      });
    });
  });

  const dataset = {
    ...patientAndStudy(first),
    ...equipmentAndSeries(input, seriesInstanceUid),
    // General Image: Patient Orientation (type 2C) is needed exactly when no plane is stated.
    ...(geometry === undefined
      ? { PatientOrientation: first.attributes['PatientOrientation'] ?? '' }
      : { FrameOfReferenceUID: geometry.frameOfReferenceUid, PositionReferenceIndicator: first.attributes['PositionReferenceIndicator'] ?? '' }),
    ...imageModules(first, input.createdAt),
    SegmentSequence: input.segments.map((seg, s) => segmentItem(seg.description, s + 1, input.model)),
    NumberOfFrames: frames.length,
    SharedFunctionalGroupsSequence: [geometry?.shared ?? sharedWithoutFrameOfReference(first)],
    PerFrameFunctionalGroupsSequence: perFrame,
    ...dimensions(derivedUid([studyUid, key, 'seg-dimension-organization']), geometry !== undefined, temporal !== undefined),
    ReferencedSeriesSequence: referencedSeries(sources),
    PixelData: packBits(pixels).buffer,
    _vrMap: { PixelData: 'OB' },
  };
  return {
    part10: writePart10(dataset, SEGMENTATION_STORAGE, sopInstanceUid),
    sopClassUid: SEGMENTATION_STORAGE,
    sopInstanceUid,
    seriesInstanceUid,
    studyInstanceUid: studyUid,
    frameOfReferenceUid: geometry?.frameOfReferenceUid,
    segments: input.segments.map((seg, s) => ({ number: s + 1, label: seg.description.label, type: seg.description.type, anatomicRegion: seg.description.anatomicRegion })),
    frames,
    sources,
  };
}

/** Pixel Measures when the photograph states its spacing; nothing otherwise. */
function sharedWithoutFrameOfReference(first: SourceHeader): Record<string, unknown> {
  return first.pixelSpacing === undefined ? {} : { PixelMeasuresSequence: [{ PixelSpacing: first.pixelSpacing.map(decimalString) }] };
}

/** General Series / Segmentation Series, General and Enhanced General Equipment. */
function equipmentAndSeries(input: SegmentationInput, seriesInstanceUid: string): Record<string, unknown> {
  const { model, createdAt } = input;
  return {
    Modality: 'SEG',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: input.seriesNumber ?? 9901,
    SeriesDescription: lo(`AI segmentation, preliminary: ${model.name}`),
    SeriesDate: dicomDate(createdAt),
    SeriesTime: dicomTime(createdAt),
    Manufacturer: lo(model.manufacturer),
    ManufacturerModelName: lo(model.id),
    DeviceSerialNumber: lo(modelKey(model)),
    SoftwareVersions: lo(model.version),
  };
}

/** General Image, Image Pixel, Segmentation Image (less the segments) and the multi-frame dates. */
function imageModules(first: SourceHeader, createdAt: Date): Record<string, unknown> {
  return {
    InstanceNumber: 1,
    ContentDate: dicomDate(createdAt),
    ContentTime: dicomTime(createdAt),
    InstanceCreationDate: dicomDate(createdAt),
    InstanceCreationTime: dicomTime(createdAt),
    ImageType: ['DERIVED', 'PRIMARY'],
    ContentLabel: 'AI_SEGMENTATION',
    ContentDescription: 'Preliminary AI output, not a diagnosis',
    ContentCreatorName: '',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: first.rows,
    Columns: first.columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    SegmentationType: 'BINARY',
    BurnedInAnnotation: 'NO',
  };
}
