/**
 * Plain data in and out of the reports layer.
 */
import type { Coding, Finding, Measurement, ModelDescription, UnfamiliarVerdict } from '../inference/index.js';
import type { CdsCard } from '../cds-hooks/index.js';
import type { Device, DiagnosticReport, Observation, Provenance } from 'fhir/r4.js';

/** The published performance of a model, one line for cards and reports. */
export interface ModelForReport extends ModelDescription {
  /** e.g. "Test AUC 0.95 (95% CI 0.93–0.97) on PneumoniaMNIST test split (n=624)." */
  readonly performance: string;
}

/** Where the result sits in the chart; all references are relative (`Type/id`). */
export interface ResultSubject {
  readonly patientReference: string;
  readonly imagingStudyReference: string;
  readonly serviceRequestReference: string | undefined;
  readonly studyInstanceUid: string;
  readonly studyDescription: string | undefined;
  /** FHIR dateTime of the study, when known. */
  readonly studyDate: string | undefined;
}

/** The series and images the model looked at, and why that series was chosen. */
export interface SeriesForReport {
  readonly seriesInstanceUid: string;
  readonly description: string | undefined;
  readonly modality: string | undefined;
  readonly bodyPart: string | undefined;
  readonly viewPosition: string | undefined;
  readonly imageCount: number;
  readonly selectionReason: string;
}

/** A PNG the report attaches: the analysed image with the model's map laid over it. */
export interface ReportOverlay {
  readonly kind: 'saliency' | 'mask';
  /** Attachment title, e.g. "AI saliency map (occlusion): Pneumonia". */
  readonly title: string;
  /** How the map was made and how to read it, one or two sentences. */
  readonly method: string;
  /** The PNG file, base64. */
  readonly png: string;
  /** The same picture without the map (what the model saw), base64 PNG; absent in results made before it existed. */
  readonly basePng?: string | undefined;
  readonly width: number;
  readonly height: number;
}

/**
 * What a cine short-axis series measured (volumes mL, mass g, EF %), for the cardiac card, report
 * and Observations. Plain numbers: the analysis layer measured them, the report states them.
 */
export interface CardiacForReport {
  readonly lvEdvMl: number;
  readonly lvEsvMl: number;
  readonly lvSvMl: number;
  /** Undefined when nothing was segmented at ED (no EF can be stated). */
  readonly lvEfPercent: number | undefined;
  readonly lvMassG: number;
  readonly rvEdvMl: number;
  readonly rvEsvMl: number;
  readonly rvEfPercent: number | undefined;
  /** The 2021 ESC heart-failure guideline's LVEF category the value falls in. */
  readonly lvEfBand: 'reduced' | 'mildly reduced' | 'preserved' | undefined;
  /** ED and ES as phase numbers (1-based) of `phaseCount`. */
  readonly edPhase: number;
  readonly esPhase: number;
  readonly phaseCount: number;
  readonly sliceCount: number;
  readonly sliceSpacingMm: number;
  readonly pixelSpacingMm: readonly [number, number];
}

/** Where a result was stored in the PACS as DICOM objects (IHE AI Results), when it was. */
export interface PacsObjectsForReport {
  readonly segSeriesInstanceUid: string;
  readonly segSopInstanceUid: string;
  readonly srSeriesInstanceUid: string;
  readonly srSopInstanceUid: string;
}

export interface RenderInput {
  readonly subject: ResultSubject;
  readonly series: SeriesForReport;
  readonly model: ModelForReport;
  /** Classifier findings (empty for a segmentation model). */
  readonly findings: readonly Finding[];
  /** Segmentation measurements (empty for a classifier). */
  readonly measurements: readonly Measurement[];
  /** A cine series' cardiac measures (a cine model's result; no per-image measurements then). */
  readonly cardiac?: CardiacForReport | undefined;
  /** The DICOM SEG and SR of this result in the study's PACS, when stored there. */
  readonly pacsObjects?: PacsObjectsForReport | undefined;
  readonly overlay?: ReportOverlay | undefined;
  /** A wanted saliency map that is still being made, or why it could not be: said, never left out silently. */
  readonly overlayStatus?: { readonly pending: true } | { readonly pending: false; readonly unavailable: string } | undefined;
  /** FHIR instant of the analysis. */
  readonly issued: string;
  /** Image viewer link (a SMART app or plain URL), when configured. */
  readonly viewerUrl: string | undefined;
  /**
   * A SMART app (e.g. a viewer) to launch with the study in `appContext`, when configured. The
   * URL is the app's launch URL; the EHR adds `launch` and `iss` (CDS Hooks 2.0 § Link).
   */
  readonly smartViewer?: { readonly url: string; readonly label: string } | undefined;
}

export interface RenderedResult {
  readonly card: CdsCard;
  readonly diagnosticReport: DiagnosticReport;
  readonly observations: readonly Observation[];
  readonly device: Device;
  readonly provenance: Provenance;
}

export type { Coding, Finding, Measurement, UnfamiliarVerdict };
