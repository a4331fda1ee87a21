/**
 * Plain data that leaves the inference layer: findings, and the model description the
 * reports layer needs to render them. No onnxruntime types cross this boundary.
 */

export interface Coding {
  readonly system: string;
  readonly code: string;
  readonly display: string;
}

/** positive: at/above threshold; negative: below; the review band overrides both to "needs review". */
export type FindingInterpretation = 'positive' | 'negative';

export interface Finding {
  /** Label key from the manifest, e.g. `pneumonia`. */
  readonly key: string;
  readonly display: string;
  /** Codes for the finding (SNOMED CT first, then RadLex …) from the manifest. */
  readonly codes: readonly Coding[];
  /** Calibrated probability in [0, 1]. */
  readonly probability: number;
  readonly threshold: number;
  readonly interpretation: FindingInterpretation;
  /** Probability falls inside the manifest's review band: a radiologist must review. */
  readonly needsReview: boolean;
  /** Urgency the manifest assigns to a positive finding of this label. */
  readonly urgency: 'info' | 'warning' | 'critical';
}

/** What reports need to know about the model that produced findings. */
export interface ModelDescription {
  readonly id: string;
  readonly version: string;
  readonly name: string;
  readonly manufacturer: string;
  readonly task: 'classification';
  readonly intendedUse: string;
  /** Templates that render this model's output, by output type. */
  readonly templates: { readonly card: string; readonly report: string };
}

export interface ModelResult {
  readonly model: ModelDescription;
  readonly findings: readonly Finding[];
  /** Wall time spent inside onnxruntime, for metrics. */
  readonly inferenceMs: number;
}
