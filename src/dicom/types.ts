/**
 * Plain data that leaves the dicom layer. Nothing here knows about HTTP, FHIR or models.
 */

/** Identifying and acquisition attributes of one image, read from its DICOM header. */
export interface DicomImageInfo {
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly sopInstanceUid: string;
  readonly sopClassUid: string | undefined;
  readonly transferSyntaxUid: string;
  readonly modality: string | undefined;
  readonly bodyPartExamined: string | undefined;
  readonly viewPosition: string | undefined;
  /** Values of ImageType (0008,0008), e.g. ['ORIGINAL', 'PRIMARY']. */
  readonly imageType: readonly string[];
  readonly rows: number;
  readonly columns: number;
  readonly numberOfFrames: number;
  readonly photometricInterpretation: string;
  readonly samplesPerPixel: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly pixelRepresentation: 0 | 1;
  /** StudyDescription (0008,1030), when present. */
  readonly studyDescription?: string | undefined;
  /** SeriesDescription (0008,103E), when present. */
  readonly seriesDescription?: string | undefined;
  /** InstanceNumber (0020,0013), when present. */
  readonly instanceNumber?: number | undefined;
  /** ImagePositionPatient (0020,0032) in mm: the centre of the first transmitted pixel. */
  readonly imagePositionPatient?: readonly [number, number, number] | undefined;
  /** ImageOrientationPatient (0020,0037): row then column direction cosines. */
  readonly imageOrientationPatient?: readonly [number, number, number, number, number, number] | undefined;
  /** PixelSpacing (0028,0030) in mm: [between rows, between columns]. */
  readonly pixelSpacing?: readonly [number, number] | undefined;
  /** Trigger Time (0018,1060) in ms after the R wave (cine MR), when present. */
  readonly triggerTime?: number | undefined;
  /** Temporal Position Identifier (0020,0100), 1-based (cine MR), when present. */
  readonly temporalPositionIdentifier?: number | undefined;
  /** Number of Temporal Positions (0020,0105), when present. */
  readonly numberOfTemporalPositions?: number | undefined;
  /** Patient's Age (0010,1010) as stored (AS, e.g. `004Y`, `018M`), when present. */
  readonly patientAge?: string | undefined;
  /** Patient's Birth Date (0010,0030) as stored (DA, `YYYYMMDD`), when present. */
  readonly patientBirthDate?: string | undefined;
  /** Study Date (0008,0020) as stored (DA, `YYYYMMDD`), when present. */
  readonly studyDate?: string | undefined;
}

/** VOI window from the file (first of several values), as DICOM PS3.3 C.11.2 defines it. */
export interface VoiWindow {
  readonly center: number;
  readonly width: number;
  readonly fn: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
}

/**
 * A lookup table from the header (Modality or VOI LUT Sequence, Palette Color LUT): input
 * `firstMapped + i` maps to `data[i]`; inputs outside are clamped to the first/last entry.
 */
export interface LookupTable {
  /** First input value mapped (LUT Descriptor value 2). */
  readonly firstMapped: number;
  /** Bits per entry (LUT Descriptor value 3): the output range is 0 … 2^bits − 1. */
  readonly bits: number;
  /** The entries; length is the descriptor's number of entries (0 there means 65536). */
  readonly data: Uint16Array;
}

/**
 * One decoded frame after the Modality LUT (rescale slope/intercept: CT values are HU),
 * before VOI and before MONOCHROME1 inversion. Colour frames are interleaved RGB.
 */
export interface ModalityFrame {
  readonly info: DicomImageInfo;
  readonly frameIndex: number;
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: 1 | 3;
  readonly values: Float32Array;
  /** Window from the file, when present. */
  readonly window: VoiWindow | undefined;
  /** True for MONOCHROME1: low values are displayed bright. */
  readonly invert: boolean;
  /** VOI LUT Sequence from the file (first item), used by `dicom` windowing when there is no window. */
  readonly voiLut?: LookupTable | undefined;
  /**
   * Colour frames: the largest value a sample can take (PALETTE COLOR: 2^LUT bits − 1). When
   * absent it is 2^BitsStored − 1.
   */
  readonly sampleMax?: number | undefined;
}

/**
 * Size guards applied while parsing and decoding. Declared sizes are checked against them
 * before anything is allocated, so a hostile header cannot make us allocate gigabytes.
 */
export interface DicomLimits {
  /** Most samples (Rows × Columns × SamplesPerPixel × NumberOfFrames) one instance may declare. */
  readonly maxPixels: number;
  /** Most bytes a Deflated Explicit VR Little Endian data set may inflate to. */
  readonly maxInflatedBytes: number;
}

/** One attribute of a DICOM JSON data set (PS3.18 F.2). */
export interface DicomJsonElement {
  readonly vr: string;
  readonly Value?: readonly unknown[];
  readonly BulkDataURI?: string;
  readonly InlineBinary?: string;
}

/** A DICOM JSON data set (QIDO-RS result, WADO-RS metadata): keys are 8-digit upper-case hex tags. */
export type DicomJsonDataset = Readonly<Record<string, DicomJsonElement>>;
