/**
 * What the viewer's and the operations page's JSON endpoints answer: the contract between the
 * service (src/viewer, src/http) and the bundled pages (web/), which import these types only.
 */

/** One image the report stores (a PNG, base64). */
export interface ViewerImage {
  readonly title: string;
  readonly pngBase64: string;
}

export interface ViewerFinding {
  readonly display: string;
  /** Percentages, as the Observation states them. */
  readonly probability: number | undefined;
  readonly threshold: number | undefined;
  readonly reviewBand: readonly [number, number] | undefined;
  /** The Observation's interpretation, e.g. "Positive". */
  readonly interpretation: string | undefined;
}

export interface ViewerMeasurement {
  readonly display: string;
  readonly value: number;
  readonly unit: string;
}

export interface ViewerReason {
  readonly code: string;
  readonly display: string;
}

export interface ViewerResult {
  readonly reportId: string;
  readonly status: string;
  readonly issued: string | undefined;
  readonly conclusion: string;
  readonly model: {
    readonly id: string;
    readonly name: string;
    readonly version: string;
    readonly intendedUse: string | undefined;
    /** The model card's measured test performance, one line. */
    readonly performance: string | undefined;
  };
  readonly findings: readonly ViewerFinding[];
  readonly measurements: readonly ViewerMeasurement[];
  /** The stored picture: the analysed image with the model's map laid over it. */
  readonly overlay: (ViewerImage & { readonly kind: 'saliency' | 'mask' }) | undefined;
  /** The analysed image without the map, when the report stores it (then the map can be switched off). */
  readonly displayImage: ViewerImage | undefined;
  /** Whether feedback can be given on this result (its card is known to this service). */
  readonly feedback: boolean;
  readonly overrideReasons: readonly ViewerReason[];
}

export interface ViewerResults {
  readonly imagingStudyId: string;
  readonly banner: string;
  readonly results: readonly ViewerResult[];
}

/** GET /viewer/api/smart-configuration?iss=… */
export interface ViewerLaunchConfig {
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly scope: string;
}

/** POST /viewer/api/feedback */
export interface ViewerFeedbackRequest {
  readonly imagingStudyId: string;
  readonly reportId: string;
  readonly outcome: 'accepted' | 'overridden';
  readonly reason?: string;
  readonly comment?: string;
}

/** GET /ops/api/summary: counts and rates only, never a patient identifier. */
export interface OpsSummary {
  readonly generatedAt: string;
  readonly ready: boolean;
  readonly models: readonly { readonly id: string; readonly status: string; readonly version: string | undefined; readonly reason: string | undefined }[];
  readonly queue: { readonly depth: number; readonly wait: Percentiles; readonly run: Percentiles; readonly failedRuns: number };
  readonly hooks: readonly { readonly service: string; readonly count: number; readonly latency: Percentiles }[];
  readonly feedback: readonly ModelFeedback[];
  readonly failures: readonly { readonly at: string; readonly route: string; readonly status: number; readonly code: string }[];
}

/** Seconds, estimated from a histogram's buckets; undefined when nothing was observed. */
export interface Percentiles {
  readonly p50: number | undefined;
  readonly p90: number | undefined;
  readonly p99: number | undefined;
}

export interface ModelFeedback {
  /** `id version`, or "card not seen since start" for feedback on cards this process did not send. */
  readonly model: string;
  readonly results: number;
  readonly accepted: number;
  readonly overridden: number;
  readonly topReasons: readonly { readonly reason: string; readonly count: number }[];
  /** Per day (UTC): results sent and feedback received. */
  readonly days: readonly { readonly day: string; readonly results: number; readonly accepted: number; readonly overridden: number }[];
}
