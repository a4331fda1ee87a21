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
  readonly width: number;
  readonly height: number;
}

export interface RenderInput {
  readonly subject: ResultSubject;
  readonly series: SeriesForReport;
  readonly model: ModelForReport;
  /** Classifier findings (empty for a segmentation model). */
  readonly findings: readonly Finding[];
  /** Segmentation measurements (empty for a classifier). */
  readonly measurements: readonly Measurement[];
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
