/**
 * The one Express error handler, registered last. AppErrors become their status with an
 * OperationOutcome (401 stays bare, as CDS Hooks requires); anything else is a bug, logged with
 * its stack and answered with a generic 500 that leaks nothing.
 */
import type { ErrorRequestHandler, Response } from 'express';
import type { OperationOutcome } from 'fhir/r4.js';
import { AppError, isAppError, type IssueType } from '../errors.js';
import type { Logger } from '../logging.js';
import type {} from './locals.js';

/**
 * Builds an OperationOutcome with one error issue.
 *
 * @param issue - IssueType code
 * @param diagnostics - human-readable text (no secrets, no patient identifiers)
 * @param expression - where in the request the problem is
 */
export function operationOutcome(issue: IssueType, diagnostics: string, expression?: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: issue, diagnostics, ...(expression === undefined ? {} : { expression: [expression] }) }],
  };
}

/**
 * An error that Express, its router or body-parser raise for a bad request (malformed JSON, a
 * body over the limit, a wrong charset, a body that does not decompress, a path that is not
 * valid percent-encoding): they carry a 4xx `status`. Any such error is the client's.
 */
interface HttpClientError {
  readonly status: number;
  readonly type?: unknown;
}

function isHttpClientError(err: unknown): err is HttpClientError {
  if (typeof err !== 'object' || err === null) return false;
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** Maps a framework's client error to our error codes, without echoing what the client sent. */
function fromHttpClientError(err: HttpClientError): AppError {
  if (err.type === 'entity.parse.failed') return new AppError('CDS_BAD_REQUEST', 'the request body is not valid JSON');
  if (err.type === 'entity.too.large') return new AppError('CDS_BAD_REQUEST', 'the request body is larger than the configured limit');
  if (err instanceof URIError) return new AppError('CDS_BAD_REQUEST', 'the request path is not valid percent-encoding');
  const label = typeof err.type === 'string' && /^[a-z.]{1,40}$/.test(err.type) ? err.type : `HTTP ${err.status}`;
  return new AppError('CDS_BAD_REQUEST', `the request could not be read (${label})`);
}

/** Sends an OperationOutcome as `application/fhir+json` (the FHIR media type, as CDS Hooks errors carry FHIR). */
export function sendOutcome(res: Response, status: number, outcome: OperationOutcome): void {
  res.status(status).type('application/fhir+json').send(JSON.stringify(outcome));
}

function requestLog(res: Response, fallback: Logger): Logger {
  return (res.locals as Partial<Response['locals']>).log ?? fallback;
}

/**
 * Creates the error handler.
 *
 * @param log - root logger, used when the request has no child logger
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const appError = isAppError(err) ? err : isHttpClientError(err) ? fromHttpClientError(err) : undefined;
    const reqLog = requestLog(res, log);
    if (appError === undefined) {
      reqLog.error({ err }, 'unhandled error');
      sendOutcome(res, 500, operationOutcome('exception', 'Internal error'));
      return;
    }
    if (appError.code === 'AUTH_REJECTED') {
      reqLog.warn({ code: appError.code, reason: appError.message }, 'request rejected');
      res.status(401).end();
      return;
    }
    if (appError.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(appError.retryAfterSeconds))));
    reqLog[appError.status >= 500 ? 'error' : 'warn']({ code: appError.code, reason: appError.message, err: appError.status >= 500 ? appError : undefined }, 'request failed');
    sendOutcome(res, appError.status, operationOutcome(appError.issue, `${appError.code}: ${appError.message}`, appError.expression));
  };
}
