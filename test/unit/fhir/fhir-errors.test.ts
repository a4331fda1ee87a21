import { AppError } from '../../../src/errors.js';
import { fhirFailureToAppError, httpStatusOf } from '../../../src/fhir/fhir-errors.js';

const ctx = { hadToken: true, timeoutMs: 1500 };
const SECRET_URL = 'https://ehr.example.org/fhir/ImagingStudy?patient=Patient%2Fmrn-123456';

/** What fhir-kit-client v2 rejects with for an HTTP error. */
function kitError(status: number): Error {
  return Object.assign(new Error(`HTTP ${status}: GET ${SECRET_URL}`), {
    response: { status, data: { resourceType: 'OperationOutcome' } },
    config: { status, method: 'GET', url: SECRET_URL, headers: new Headers({ 'x-request-id': 'r1' }) },
  });
}

describe('httpStatusOf', () => {
  it('reads v2 errors and v1 plain objects, and nothing else', () => {
    expect(httpStatusOf(kitError(503))).toBe(503);
    expect(httpStatusOf({ response: { status: 404, data: {} }, config: {} })).toBe(404);
    expect(httpStatusOf(new TypeError('fetch failed'))).toBeUndefined();
    expect(httpStatusOf({ response: { status: '404' } })).toBeUndefined();
    expect(httpStatusOf(null)).toBeUndefined();
  });
});

describe('fhirFailureToAppError', () => {
  it.each([
    [404, 'DATA_UNAVAILABLE'],
    [410, 'DATA_UNAVAILABLE'],
    [401, 'DATA_UNAVAILABLE'],
    [403, 'DATA_UNAVAILABLE'],
    [400, 'UPSTREAM_FAILED'],
    [429, 'UPSTREAM_FAILED'],
    [500, 'UPSTREAM_FAILED'],
    [502, 'UPSTREAM_FAILED'],
    [503, 'UPSTREAM_FAILED'],
  ])('maps HTTP %i to %s', (status, code) => {
    const err = fhirFailureToAppError(kitError(status), 'search ImagingStudy', ctx);
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe(code);
    expect(err.message).toContain(`HTTP ${status}`);
  });

  it('maps v1-style plain-object rejections too', () => {
    expect(fhirFailureToAppError({ response: { status: 404 } }, 'read Patient', ctx).code).toBe('DATA_UNAVAILABLE');
  });

  it('never carries the URL, its query or the original error', () => {
    const original = kitError(500);
    const err = fhirFailureToAppError(original, 'search ImagingStudy', ctx);
    expect(err.message).not.toContain('mrn-123456');
    expect(err.message).not.toContain('ehr.example.org');
    expect(err.cause).not.toBe(original);
    expect((err.cause as Error).message).toBe('HTTP 500');
  });

  it('words 401 by whether a token was sent', () => {
    expect(fhirFailureToAppError(kitError(401), 'read Patient', ctx).message).toMatch(/refused the access token/);
    expect(fhirFailureToAppError(kitError(401), 'read Patient', { ...ctx, hadToken: false }).message).toMatch(/requires an access token/);
  });

  it('maps an unparsable 2xx body to UPSTREAM_FAILED', () => {
    const err = fhirFailureToAppError(kitError(200), 'read Patient', ctx);
    expect(err).toMatchObject({ code: 'UPSTREAM_FAILED', message: expect.stringMatching(/not JSON/) as unknown });
  });

  it('maps timeouts and aborts to UPSTREAM_FAILED naming the limit', () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(fhirFailureToAppError(timeout, 'read Patient', ctx)).toMatchObject({
      code: 'UPSTREAM_FAILED',
      message: 'The FHIR server did not answer read Patient within 1500 ms',
    });
    expect(fhirFailureToAppError(new DOMException('aborted', 'AbortError'), 'read Patient', ctx).code).toBe('UPSTREAM_FAILED');
  });

  it('maps connection failures to UPSTREAM_FAILED with the system code', () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }) });
    expect(fhirFailureToAppError(refused, 'read Patient', ctx)).toMatchObject({
      code: 'UPSTREAM_FAILED',
      message: 'The FHIR server could not be reached for read Patient (ECONNREFUSED)',
    });
  });

  it('maps anything else to UPSTREAM_FAILED, and passes AppErrors through', () => {
    expect(fhirFailureToAppError('weird', 'read Patient', ctx).code).toBe('UPSTREAM_FAILED');
    const own = new AppError('OUTBOUND_NOT_ALLOWED', 'no');
    expect(fhirFailureToAppError(own, 'read Patient', ctx)).toBe(own);
  });
});
