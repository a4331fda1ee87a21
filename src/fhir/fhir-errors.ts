/**
 * Turns every way a FHIR request can fail into an {@link AppError} with a stable code.
 *
 * Two sources: the HTTP status of an answer (see {@link fhirStatusToAppError}), and whatever the
 * exchange rejects with: fhir-kit-client's error for a non-2xx status or a body that is not JSON
 * (it carries `response.status`), fetch's `TypeError` whose cause chain holds a system code or
 * the guard's refusal (redirect, byte cap, content encoding; see fhir-http.ts), a
 * `TimeoutError`/`AbortError` DOMException for an abort (also in the middle of the body), or an
 * AppError of our own, which passes through. The original error is never
 * attached as `cause`: its message can carry the URL, hence ids and search parameters. The cause
 * we attach names only the HTTP status or the system error code, and messages never carry the
 * token, ids or query strings.
 */
import { AppError } from '../errors.js';
import { fhirEncoded, fhirTooLarge, refusalOf } from './fhir-http.js';

/** What the mapping needs to word its message. */
export interface FhirFailureContext {
  /** Whether a bearer token was sent: a 401 then means "refused", else "required". */
  readonly hadToken: boolean;
  /** The limit that applied to the exchange, for a timeout's message. */
  readonly timeoutMs: number;
}

/** The HTTP status fhir-kit-client attaches to the error of a non-2xx or unparsable answer. */
function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('response' in err)) return undefined;
  const response: unknown = err.response;
  if (typeof response !== 'object' || response === null || !('status' in response)) return undefined;
  return typeof response.status === 'number' ? response.status : undefined;
}

/** A system error code such as `ECONNREFUSED` from a fetch failure's cause chain, if any. */
function networkCodeOf(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    if ('code' in current && typeof current.code === 'string' && /^[A-Z0-9_]{2,40}$/.test(current.code)) {
      return current.code;
    }
    current = 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

function isAbortError(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && 'name' in err && (err.name === 'TimeoutError' || err.name === 'AbortError')
  );
}

/**
 * Maps a FHIR answer's non-2xx status to an AppError:
 * 3xx → `UPSTREAM_FAILED` saying the redirect was refused (never followed);
 * 404/410 and 401/403 → `DATA_UNAVAILABLE` (the data cannot be had with this token);
 * any other status → `UPSTREAM_FAILED`.
 *
 * @param status - the HTTP status
 * @param what - the interaction, e.g. `read ImagingStudy` (no ids: messages reach the caller)
 * @param ctx - token presence, for the wording
 * @returns The AppError, whose cause names only the status.
 */
export function fhirStatusToAppError(status: number, what: string, ctx: FhirFailureContext): AppError {
  const cause = new Error(`HTTP ${status}`);
  if (status >= 300 && status < 400) {
    return new AppError('UPSTREAM_FAILED', `The FHIR server answered ${what} with a redirect (HTTP ${status}), which was refused`, { cause });
  }
  if (status === 404 || status === 410) {
    return new AppError('DATA_UNAVAILABLE', `The FHIR server has no such resource (${what}: HTTP ${status})`, { cause });
  }
  if (status === 401 || status === 403) {
    const message = ctx.hadToken
      ? `The FHIR server refused the access token (${what}: HTTP ${status})`
      : `The FHIR server requires an access token and none was given (${what}: HTTP ${status})`;
    return new AppError('DATA_UNAVAILABLE', message, { cause });
  }
  return new AppError('UPSTREAM_FAILED', `The FHIR server failed ${what} (HTTP ${status})`, { cause });
}

/**
 * Maps a failed FHIR exchange to an AppError: a refused answer (redirect, over the byte cap,
 * content-encoded), a non-2xx status (as {@link fhirStatusToAppError}), a 2xx body that is not
 * JSON, timeout, connection failure and anything unexpected → `UPSTREAM_FAILED`, except the
 * statuses that mean `DATA_UNAVAILABLE`; an AppError passes through unchanged.
 *
 * @param err - the rejection
 * @param what - the interaction, e.g. `read ImagingStudy` (no ids: messages reach the caller)
 * @param ctx - the timeout, for the wording
 * @returns The AppError.
 */
export function fhirFailureToAppError(err: unknown, what: string, ctx: FhirFailureContext): AppError {
  if (err instanceof AppError) return err;
  const refusal = refusalOf(err);
  if (refusal?.kind === 'redirect') return fhirStatusToAppError(refusal.status, what, ctx);
  if (refusal?.kind === 'too-large') return fhirTooLarge(what, refusal.maxBytes);
  if (refusal?.kind === 'encoded') return fhirEncoded(what);
  const status = httpStatusOf(err);
  if (status !== undefined && status >= 200 && status < 300) {
    // fhir-kit-client reports a 2xx body it could not parse with the 2xx status.
    return new AppError('UPSTREAM_FAILED', `The FHIR server answered ${what} with a body that is not JSON`, { cause: new Error('not JSON') });
  }
  if (status !== undefined) return fhirStatusToAppError(status, what, ctx);
  if (isAbortError(err)) {
    return new AppError('UPSTREAM_FAILED', `The FHIR server did not answer ${what} within ${ctx.timeoutMs} ms`, {
      cause: new Error('timeout'),
    });
  }
  const code = networkCodeOf(err);
  if (code !== undefined) {
    return new AppError('UPSTREAM_FAILED', `The FHIR server could not be reached for ${what} (${code})`, {
      cause: new Error(code),
    });
  }
  const name = err instanceof Error ? err.name : typeof err;
  return new AppError('UPSTREAM_FAILED', `The FHIR request failed (${what})`, { cause: new Error(name) });
}
