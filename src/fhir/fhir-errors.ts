/**
 * Turns whatever a FHIR request rejects with into an {@link AppError} with a stable code.
 *
 * fhir-kit-client v2 rejects with an `Error` carrying `response.status`, `response.data` and
 * `config` (full URL, response headers); v1 rejected with a plain object of the same shape; fetch
 * itself rejects with `TypeError('fetch failed')` whose cause holds a system code; an abort
 * rejects with a `TimeoutError`/`AbortError` DOMException. The original is never attached as
 * `cause`: its URL carries ids and search parameters. The cause we attach names only the HTTP
 * status or the system error code, and messages never carry the token, ids or query strings.
 */
import { AppError } from '../errors.js';

/** What {@link fhirFailureToAppError} needs to word its message. */
export interface FhirFailureContext {
  /** Whether a bearer token was sent: a 401 then means "refused", else "required". */
  readonly hadToken: boolean;
  readonly timeoutMs: number;
}

/**
 * The HTTP status of a rejection (v2 `Error` or v1 plain object), if it has one.
 *
 * @param err - anything
 * @returns The status, or `undefined` for network failures, aborts and bugs.
 */
export function httpStatusOf(err: unknown): number | undefined {
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
 * Maps a failed FHIR request to an AppError:
 * 404/410 and 401/403 → `DATA_UNAVAILABLE` (the data cannot be had with this token);
 * timeout, connection failure, 5xx, other statuses and unparsable bodies → `UPSTREAM_FAILED`.
 *
 * @param err - the rejection
 * @param what - the interaction, e.g. `read ImagingStudy` (no ids: messages reach the caller)
 * @param ctx - token presence and timeout, for the wording
 * @returns The AppError (an AppError passes through unchanged).
 */
export function fhirFailureToAppError(err: unknown, what: string, ctx: FhirFailureContext): AppError {
  if (err instanceof AppError) return err;
  const status = httpStatusOf(err);
  if (status !== undefined) {
    const cause = new Error(`HTTP ${status}`);
    if (status === 404 || status === 410) {
      return new AppError('DATA_UNAVAILABLE', `The FHIR server has no such resource (${what}: HTTP ${status})`, { cause });
    }
    if (status === 401 || status === 403) {
      const message = ctx.hadToken
        ? `The FHIR server refused the access token (${what}: HTTP ${status})`
        : `The FHIR server requires an access token and none was given (${what}: HTTP ${status})`;
      return new AppError('DATA_UNAVAILABLE', message, { cause });
    }
    if (status >= 200 && status < 300) {
      // fhir-kit-client reports an unparsable 2xx body with the 2xx status.
      return new AppError('UPSTREAM_FAILED', `The FHIR server answered ${what} with a body that is not JSON`, { cause });
    }
    return new AppError('UPSTREAM_FAILED', `The FHIR server failed ${what} (HTTP ${status})`, { cause });
  }
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
