/**
 * Plain data that leaves the inference layer: findings, and the model description the
 * reports layer needs to render them. No onnxruntime types cross this boundary.
 */
import type { WindowingSpec } from '../image/index.js';

export interface Coding {
  readonly system: string;
  readonly code: string;
  readonly display: string;
}

/** positive: at/above threshold; negative: below; the review band overrides both to "needs review". */
export type FindingInterpretation = 'positive' | 'negative';

/** A label or class of the manifest, as a result names it. */
export interface CodedKey {
  /** Key from the manifest, e.g. `pneumonia` or `vessel`. */
  readonly key: string;
  readonly display: string;
  /** Codes from the manifest (SNOMED CT first, then RadLex …). */
  readonly codes: readonly Coding[];
}

export interface Finding extends CodedKey {
  /** Calibrated probability in [0, 1]. */
  readonly probability: number;
  readonly threshold: number;
  /** The manifest's review band [low, high] around the threshold (inclusive). */
  readonly reviewBand: readonly [number, number];
  readonly interpretation: FindingInterpretation;
  /** Probability falls inside the manifest's review band: a radiologist must review. */
  readonly needsReview: boolean;
  /** Urgency the manifest assigns to a positive finding of this label. */
  readonly urgency: 'info' | 'warning' | 'critical';
  /** Present when the manifest recommends a follow-up order for this finding in its current state. */
  readonly followUp?: { readonly code: Coding; readonly text: string } | undefined;
  /**
   * The unfamiliar-image check of the image this finding was made on (the same verdict as the
   * result's {@link ModelResult.unfamiliar}, carried on each finding so that every layer that
   * passes findings on passes it too); absent when the model has no check.
   */
  readonly unfamiliar?: UnfamiliarVerdict | undefined;
}

/**
 * Whether an image is unlike the images a classifier was validated on: the Mahalanobis distance
 * of its features (the input of the model's final layer) to the training images' class means,
 * against a threshold chosen on the validation split (models/<id>/ood.json).
 */
export interface UnfamiliarVerdict {
  readonly distance: number;
  readonly threshold: number;
  /** distance > threshold: the result is shown with "unlike the images this model was validated on: review required". */
  readonly flagged: boolean;
}

/** What a model does with an image: name classes of the whole image, or outline them per pixel. */
export type ModelTask = 'classification' | 'segmentation';

/**
 * A measurement of one segmented class, taken from the thresholded mask at the model's input
 * resolution and scaled back to the source image.
 */
export interface Measurement extends CodedKey {
  /** The per-pixel probability threshold the mask used. */
  readonly threshold: number;
  /** Share of the field of view inside the mask, in [0, 1]. */
  readonly fractionOfFieldOfView: number;
  /** Share of the whole image taken by the field of view, in [0, 1] (1 when the manifest declares none). */
  readonly fieldOfViewFraction: number;
  /** Mask area in mm², present only when the image states its pixel spacing. */
  readonly areaMm2?: number | undefined;
  /** The manifest's statement of the share's error against a manual annotation, when it has one. */
  readonly error?: { readonly meanAbsolute: number; readonly bias: number; readonly basis: string } | undefined;
}

/**
 * A map over the model's input image, values in [0, 1] row-major at `width`×`height`, for an
 * overlay a report can attach: where occluding the image changed a classifier's output most
 * (`saliency`), or a segmentation class's probability (`mask`).
 */
export interface ImageMap {
  readonly kind: 'saliency' | 'mask';
  /** How the map was made, one sentence for the report (method, parameters, what 1 means). */
  readonly method: string;
  readonly width: number;
  readonly height: number;
  readonly values: Float32Array;
  /** For a mask: values at or above this are inside it. */
  readonly threshold?: number | undefined;
}

/** What reports need to know about the model that produced findings. */
export interface ModelDescription {
  readonly id: string;
  readonly version: string;
  readonly name: string;
  readonly manufacturer: string;
  readonly task: ModelTask;
  readonly intendedUse: string;
  /** Templates that render this model's output, by output type. */
  readonly templates: { readonly card: string; readonly report: string };
}

export interface ModelResult {
  readonly model: ModelDescription;
  /** Classification findings; empty for a segmentation model. */
  readonly findings: readonly Finding[];
  /** Segmentation measurements, one per class; empty for a classifier. */
  readonly measurements: readonly Measurement[];
  /** The saliency map (classifier, when explained) or the first class's probability map. */
  readonly map?: ImageMap | undefined;
  /** A segmentation model's probability map of every class, in class order (`map` is the first). */
  readonly classMaps?: readonly ImageMap[] | undefined;
  /** True when a saliency map is wanted but was left for later (run with `deferMap`). */
  readonly mapDeferred?: boolean | undefined;
  /** A classifier's unfamiliar-image verdict, when its folder has an ood.json and its graph a `features` output. */
  readonly unfamiliar?: UnfamiliarVerdict | undefined;
  /** Wall time spent inside onnxruntime, for metrics. */
  readonly inferenceMs: number;
}

/**
 * The patient ages a model was validated on, in completed years at the study date, both ends
 * inclusive (`1`–`5`: from the first birthday until the day before the sixth). Neither bound:
 * the source data states no age range, and `basis` says so.
 */
export interface AgeRule {
  readonly minYears?: number | undefined;
  readonly maxYears?: number | undefined;
  /** What to do when the patient's age at the study cannot be established. */
  readonly unknown: 'accept' | 'refuse';
  /** Where the range comes from (data set and what its source states), for people reading the manifest. */
  readonly basis: string;
}

/** Which images and patients a model is meant for, checked by the analysis layer before it runs. */
export interface ModelAccepts {
  /** Modality (0008,0060) values, e.g. `CR`, `DX`. */
  readonly modalities: readonly string[];
  /** Body Part Examined (0018,0015) values; empty means any (absent in the manifest). */
  readonly bodyParts: readonly string[];
  /** View Position (0018,5101) values; empty means any (absent in the manifest). */
  readonly viewPositions: readonly string[];
  /** An image without View Position: `accept` (absent in the manifest) or `refuse`. */
  readonly missingViewPosition: 'accept' | 'refuse';
  /** Photometric Interpretation (0028,0004) values the model was trained on; empty means any. */
  readonly photometricInterpretations: readonly string[];
  /** Smallest Rows (0028,0010) and Columns (0028,0011) the model was validated on; 1 when absent. */
  readonly minRows: number;
  readonly minColumns: number;
  /** Pixel Spacing (0028,0030) range in mm, both values; an image without Pixel Spacing is refused. Absent: no rule. */
  readonly pixelSpacingMm?: { readonly min: number; readonly max: number } | undefined;
  /** Patient age at the study; absent: no rule (the manifest predates the field). */
  readonly patientAge?: AgeRule | undefined;
}

/** What the analysis layer needs to render an image for a model. */
export interface ModelInputSummary {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly windowing: WindowingSpec;
  readonly resize: 'area' | 'fov-diameter';
  /** `cine-short-axis` when the model measures a whole cine series. */
  readonly series?: 'cine-short-axis' | undefined;
}

/** Test-split metrics copied from the model's metrics.json (the model card states the same). */
export interface ModelMetrics {
  readonly dataset: string;
  readonly auc?: number | undefined;
  readonly auc95?: readonly [number, number] | undefined;
  readonly accuracy?: number | undefined;
  readonly sensitivity?: number | undefined;
  readonly specificity?: number | undefined;
  /** Segmentation overlap with the reference annotation (Dice / F1), when the model segments. */
  readonly dice?: number | undefined;
  readonly dice95?: readonly [number, number] | undefined;
  /** A cine model's LV ejection fraction error against the reference, percentage points. */
  readonly lvEjectionFraction?: { readonly mae: number; readonly bias: number; readonly loa95: readonly [number, number] } | undefined;
}

/** A loaded, runnable model as the analysis layer sees it. Plain data. */
export interface AvailableModel extends ModelDescription {
  readonly accepts: ModelAccepts;
  readonly input: ModelInputSummary;
  /** Label keys and displays of the findings (classifier) or classes (segmentation) it reports. */
  readonly findings: readonly { readonly key: string; readonly display: string }[];
  readonly metrics: ModelMetrics;
}

/** One model folder's state, for /readyz. */
export interface ModelStatus {
  /** Model id from the manifest, or the folder name when the manifest could not be read. */
  readonly id: string;
  readonly folder: string;
  /** `disabled`: switched off by its manifest or the configured model list (not an error). */
  readonly status: 'ready' | 'unavailable' | 'disabled';
  /** Why the model is unavailable or disabled; absent when ready. */
  readonly reason?: string | undefined;
  readonly version?: string | undefined;
  /** Execution provider the session runs on (`cpu`, `cuda` …), when ready. */
  readonly provider?: string | undefined;
  /** Largest batch the model's session accepts (1 when the model's batch axis is fixed). */
  readonly maxBatch?: number | undefined;
}

/** Level-tagged structured log callback; the caller adapts it to pino (errors go under `err`). */
export type InferenceLog = (
  level: 'debug' | 'info' | 'warn' | 'error',
  msg: string,
  fields?: Readonly<Record<string, unknown>>,
) => void;
