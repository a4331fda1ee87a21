/**
 * One error type that knows its HTTP status, and the registry of stable error codes.
 *
 * Domain code throws {@link AppError}; the single Express error handler (src/http/errors.ts)
 * turns it into status + OperationOutcome. Anything else is a bug: logged with its stack and
 * answered with a generic 500 that leaks nothing.
 */

/** FHIR OperationOutcome.issue.code values we use (required binding: IssueType). */
export type IssueType =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'login'
  | 'forbidden'
  | 'not-found'
  | 'not-supported'
  | 'processing'
  | 'timeout'
  | 'transient'
  | 'too-costly'
  | 'throttled'
  | 'exception';

interface ErrorSpec {
  readonly status: number;
  readonly issue: IssueType;
  readonly description: string;
}

/** Stable codes. README's error table is written from this registry by scripts/write-error-table.ts; a test keeps them equal. */
export const ERRORS = {
  CDS_BAD_REQUEST: { status: 400, issue: 'invalid', description: 'The CDS Hooks request is malformed.' },
  CDS_UNKNOWN_SERVICE: { status: 404, issue: 'not-found', description: 'No CDS service has this id.' },
  AUTH_REJECTED: { status: 401, issue: 'login', description: 'The client JWT is missing or invalid (answered as a bare 401).' },
  RATE_LIMITED: { status: 429, issue: 'throttled', description: 'This client (issuer) sends more requests than its limit; retry after the Retry-After seconds.' },
  REPLAY_CACHE_FULL: { status: 503, issue: 'transient', description: "The issuer's share of the JWT replay cache is full; retry after the Retry-After seconds." },
  OUTBOUND_NOT_ALLOWED: { status: 412, issue: 'forbidden', description: 'The FHIR server or DICOMweb origin is not on the allow-list.' },
  DATA_UNAVAILABLE: { status: 412, issue: 'not-found', description: 'Required FHIR data was neither prefetched nor obtainable from the FHIR server.' },
  UPSTREAM_FAILED: { status: 412, issue: 'transient', description: 'The FHIR server or PACS failed or timed out.' },
  DICOM_INVALID: { status: 422, issue: 'processing', description: 'The DICOM object is corrupt or inconsistent.' },
  DICOM_UNSUPPORTED: { status: 422, issue: 'not-supported', description: 'The DICOM transfer syntax or pixel format is not supported.' },
  DICOM_TOO_LARGE: { status: 422, issue: 'too-costly', description: 'The DICOM data exceeds the configured size limits.' },
  IMAGE_UNSUITABLE: { status: 422, issue: 'not-supported', description: 'The image decoded but a model cannot measure it (e.g. no field of view).' },
  NO_SUITABLE_SERIES: { status: 422, issue: 'not-supported', description: 'No series of the study fits any available model.' },
  TRIGGER_BAD_REQUEST: { status: 400, issue: 'invalid', description: 'A trigger (PACS event or FHIR Subscription notification) is malformed or names nothing to analyse.' },
  TRIGGER_REJECTED: { status: 401, issue: 'login', description: "The trigger's shared secret is missing or wrong." },
  RESULT_NOT_FOUND: { status: 404, issue: 'not-found', description: 'No AI result is known for this ImagingStudy.' },
  VIEWER_BAD_REQUEST: { status: 400, issue: 'invalid', description: 'A request of the result viewer (SMART app) is malformed, e.g. feedback without a known outcome or override reason.' },
  SMART_TOKEN_REJECTED: { status: 401, issue: 'login', description: "The viewer's SMART access token is missing, malformed, expired, for another audience or not signed by the launch's authorization server." },
  SMART_LAUNCH_REJECTED: { status: 403, issue: 'forbidden', description: 'The SMART launch names a FHIR server (iss) that is not configured as a launch issuer (SMART_LAUNCH_ISSUERS).' },
  SMART_SCOPE_INSUFFICIENT: { status: 403, issue: 'forbidden', description: "The viewer's access token lacks a patient context or a patient-level read scope for DiagnosticReport." },
  SMART_AUTH_SERVER_UNAVAILABLE: { status: 503, issue: 'transient', description: "The launch's authorization server (discovery or JWKS) cannot be reached or answers wrongly; retry later." },
  VIEWER_UNAVAILABLE: { status: 503, issue: 'transient', description: 'The result viewer or operations page is not built (npm run build) or not configured.' },
  MODEL_UNAVAILABLE: { status: 503, issue: 'transient', description: 'The model is not loaded.' },
  INFERENCE_BUSY: { status: 503, issue: 'transient', description: 'The inference or analysis queue is full; retry after the Retry-After seconds.' },
  JOB_STORE_UNAVAILABLE: { status: 503, issue: 'transient', description: 'The job queue and result store (Redis) cannot be reached; retry after the Retry-After seconds.' },
  INFERENCE_FAILED: { status: 500, issue: 'exception', description: 'The model failed to run.' },
  REPORT_INVALID: { status: 500, issue: 'exception', description: 'A rendered card or resource failed validation.' },
  INTERNAL: { status: 500, issue: 'exception', description: 'Internal error.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export interface AppErrorOptions {
  readonly cause?: unknown;
  /** FHIRPath-ish location in the request, e.g. `context.patientId`. */
  readonly expression?: string;
  /** For 429 and 503: when the caller may retry, sent as `Retry-After` (seconds). */
  readonly retryAfterSeconds?: number;
}

/**
 * An expected failure with a stable code. `message` is shown to the caller, so it must never
 * contain tokens or patient identifiers.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly expression: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.expression = options.expression;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  get issue(): IssueType {
    return ERRORS[this.code].issue;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
