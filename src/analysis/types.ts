/**
 * Plain data in and out of the analysis layer, and the two ports it drives (images in,
 * model runs out). The cds layer builds a {@link StudyToAnalyse} from FHIR; wiring
 * (src/wiring.ts) plugs the real dicom and inference modules into the ports.
 */
import type { DicomImageInfo, ModalityFrame } from '../dicom/index.js';
import type { ModelAccepts, ModelResult } from '../inference/index.js';
import type { CardiacForReport, ModelForReport, PacsObjectsForReport, ReportOverlay, SeriesForReport } from '../reports/index.js';
import type { Image, WindowingSpec } from '../image/index.js';

/** A series as the ImagingStudy describes it. */
export interface SeriesToAnalyse {
  readonly uid: string;
  /** DICOM modality code (CID 29), e.g. `DX`. */
  readonly modality: string | undefined;
  /** DICOM body part (e.g. `CHEST`), derived from ImagingStudy.series.bodySite when present. */
  readonly bodyPart: string | undefined;
  readonly description: string | undefined;
  /** SOP Instance UIDs listed by the ImagingStudy; empty means "ask the PACS" (QIDO). */
  readonly instanceUids: readonly string[];
  /** DICOMweb root for this series (series Endpoint, else study Endpoint, else the default). */
  readonly dicomWebRoot: string | undefined;
}

export interface StudyToAnalyse {
  /**
   * The trust domain asking (issuer and tenant of the client, or the local domain): results are
   * cached and served only within it. Opaque to this layer.
   */
  readonly domain: string;
  readonly studyInstanceUid: string;
  readonly series: readonly SeriesToAnalyse[];
  /**
   * Patient.birthDate from FHIR (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`), when the EHR gave it; absent:
   * the age comes from the analysed image's header, if at all. Never logged.
   */
  readonly patientBirthDate?: string | undefined;
  /** The study date (`YYYY-MM-DD`, from ImagingStudy.started), against which the age is taken. */
  readonly studyDate?: string | undefined;
}

/** What a model accepts (images and patients: its validated use), and how it wants its pixels. */
export interface ModelProfile {
  readonly model: ModelForReport;
  readonly accepts: ModelAccepts;
  readonly windowing: WindowingSpec;
  /** `cine-short-axis`: the model measures a whole cine series (cine-study.ts), not one image. */
  readonly series?: 'cine-short-axis' | undefined;
}

/** Images in: the dicom layer behind a narrow interface. */
export interface ImageSource {
  /** SOP Instance UIDs of a series, from QIDO-RS. */
  listInstances(root: string, studyUid: string, seriesUid: string): Promise<string[]>;
  /** Retrieves one instance (WADO-RS) and decodes its frames. */
  loadInstance(root: string, studyUid: string, seriesUid: string, sopUid: string): Promise<{ info: DicomImageInfo; frames: ModalityFrame[] }>;
  /** Applies VOI/photometric handling for display. */
  toDisplay(frame: ModalityFrame, windowing: WindowingSpec): Image;
}

/** Model runs out: the inference layer behind a narrow interface. */
export interface ModelRunner {
  /** Models that are loaded and ready. */
  profiles(): readonly ModelProfile[];
  /** Runs one image; `pixelSpacingMm` ([rows, columns]) lets a segmentation model state areas. */
  run(modelId: string, image: Image & { readonly pixelSpacingMm?: readonly [number, number] | undefined }, options?: { readonly deferMap?: boolean }): Promise<ModelResult>;
  /** The saliency map a run would attach (undefined when none is wanted), for a deferred one. */
  explain(modelId: string, image: Image): Promise<ModelResult['map']>;
}

/** One model's result on one study. */
export interface ModelStudyResult {
  readonly studyInstanceUid: string;
  readonly model: ModelForReport;
  readonly series: SeriesForReport;
  readonly findings: ModelResult['findings'];
  readonly measurements: ModelResult['measurements'];
  /** A cine model's measures of the whole series. */
  readonly cardiac?: CardiacForReport | undefined;
  /** The DICOM SEG and SR stored to the study's PACS for this result, when they were. */
  readonly pacsObjects?: PacsObjectsForReport | undefined;
  /** The saliency or mask overlay, when the model produced a map. */
  readonly overlay?: ReportOverlay | undefined;
  /**
   * The saliency map is wanted but not made yet: the findings were stored first and the map
   * follows (the result is stored again with it). A reader says so rather than show no map.
   */
  readonly overlayPending?: boolean | undefined;
  /** Why a wanted map could not be made (e.g. the inference queue was full); the findings stand. */
  readonly overlayUnavailable?: string | undefined;
  readonly inferenceMs: number;
  /** FHIR instant when the analysis finished. */
  readonly analysedAt: string;
  /**
   * Where the patient's age that let the model run came from: the EHR's birth date, the image
   * header, or nowhere (no age rule, or an unknown age the model accepts). A cached result made
   * on the EHR's birth date is not reused for a call that brings none.
   */
  readonly ageFrom?: AgeSource | undefined;
}

export type AgeSource = 'fhir' | 'dicom' | 'none';

/**
 * Stable codes of the validated-use rules a model can refuse a study or image on (logged and
 * counted; never with the patient's age or birth date).
 */
export type OutsideUseCode =
  | 'AGE_OUT_OF_RANGE'
  | 'AGE_UNKNOWN'
  | 'VIEW_POSITION_MISSING'
  | 'VIEW_POSITION_NOT_VALIDATED'
  | 'PHOTOMETRIC_NOT_VALIDATED'
  | 'RESOLUTION_BELOW_MINIMUM'
  | 'PIXEL_SPACING_MISSING'
  | 'PIXEL_SPACING_OUT_OF_RANGE';

/** A series or model that was passed over, and why (for card detail and logs). */
export interface SkipReason {
  readonly seriesUid: string | undefined;
  readonly modelId: string | undefined;
  readonly reason: string;
  /**
   * Present when the model refused because the study, image or patient is outside its validated
   * use; `reason` then says which rule, in words a physician reads, without the patient's age.
   */
  readonly outsideUse?: { readonly code: OutsideUseCode; readonly modelName: string } | undefined;
}

export interface StudyAnalysis {
  readonly studyInstanceUid: string;
  readonly results: readonly ModelStudyResult[];
  readonly skipped: readonly SkipReason[];
  /** True when every result came from the cache. */
  readonly fromCache: boolean;
}
