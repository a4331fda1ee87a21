import { AppError } from '../../../src/errors.js';
import { fhirFailureToAppError, fhirStatusToAppError } from '../../../src/fhir/fhir-errors.js';
import { ExchangeRefused } from '../../../src/fhir/fhir-http.js';

const ctx = { hadToken: true, timeoutMs: 1500 };
const SECRET_URL = 'https://ehr.example.org/fhir/ImagingStudy?patient=Patient%2Fmrn-123456';

describe('fhirStatusToAppError', () => {
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
    const err = fhirStatusToAppError(status, 'search ImagingStudy', ctx);
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe(code);
    expect(err.message).toContain(`HTTP ${status}`);
    expect((err.cause as Error).message).toBe(`HTTP ${status}`);
  });

  it.each([301, 302, 303, 307, 308])('maps a redirect (HTTP %i) to UPSTREAM_FAILED saying it was refused', (status) => {
    expect(fhirStatusToAppError(status, 'read Patient', ctx)).toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: `The FHIR server answered read Patient with a redirect (HTTP ${status}), which was refused`,
    });
  });

  it('words 401 by whether a token was sent', () => {
    expect(fhirStatusToAppError(401, 'read Patient', ctx).message).toMatch(/refused the access token/);
    expect(fhirStatusToAppError(401, 'read Patient', { ...ctx, hadToken: false }).message).toMatch(/requires an access token/);
  });
});

describe('fhirFailureToAppError', () => {
  it('maps timeouts and aborts to UPSTREAM_FAILED naming the limit', () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(fhirFailureToAppError(timeout, 'read Patient', ctx)).toMatchObject({
      code: 'UPSTREAM_FAILED',
      message: 'The FHIR server did not answer read Patient within 1500 ms',
    });
    expect(fhirFailureToAppError(new DOMException('aborted', 'AbortError'), 'read Patient', ctx).code).toBe('UPSTREAM_FAILED');
  });

  it('maps connection failures to UPSTREAM_FAILED with the system code, never the URL or the original error', () => {
    const original = new TypeError(`fetch failed for ${SECRET_URL}`, {
      cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }),
    });
    const err = fhirFailureToAppError(original, 'read Patient', ctx);
    expect(err).toMatchObject({ code: 'UPSTREAM_FAILED', message: 'The FHIR server could not be reached for read Patient (ECONNREFUSED)' });
    expect(err.cause).not.toBe(original);
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain('mrn-123456');
  });

  it('maps anything else to UPSTREAM_FAILED, and passes AppErrors through', () => {
    expect(fhirFailureToAppError('weird', 'read Patient', ctx)).toMatchObject({ code: 'UPSTREAM_FAILED', message: 'The FHIR request failed (read Patient)' });
    const own = new AppError('OUTBOUND_NOT_ALLOWED', 'no');
    expect(fhirFailureToAppError(own, 'read Patient', ctx)).toBe(own);
  });

  it("maps the guard's refusals: redirect, byte cap, content encoding", () => {
    expect(fhirFailureToAppError(new ExchangeRefused({ kind: 'redirect', status: 307 }), 'read Patient', ctx)).toMatchObject({
      code: 'UPSTREAM_FAILED',
      message: 'The FHIR server answered read Patient with a redirect (HTTP 307), which was refused',
    });
    expect(fhirFailureToAppError(new ExchangeRefused({ kind: 'too-large', maxBytes: 4096 }), 'search ImagingStudy', ctx)).toMatchObject({
      code: 'UPSTREAM_FAILED',
      message: "The FHIR server's answer to search ImagingStudy exceeds the limit of 4096 bytes",
    });
    expect(fhirFailureToAppError(new ExchangeRefused({ kind: 'encoded' }), 'read Patient', ctx).message).toMatch(/content-encoded body, which was refused/);
  });

  it("maps fhir-kit-client's status errors by status, and a 2xx it could not parse as not JSON, never echoing its URL", () => {
    const kitError = (status: number, data: unknown): Error => Object.assign(new Error(`HTTP ${status}: GET ${SECRET_URL}`), { response: { status, data } });
    const notFound = fhirFailureToAppError(kitError(404, { resourceType: 'OperationOutcome' }), 'read Patient', ctx);
    expect(notFound).toMatchObject({ code: 'DATA_UNAVAILABLE', message: 'The FHIR server has no such resource (read Patient: HTTP 404)' });
    expect(fhirFailureToAppError(kitError(503, '<html>'), 'read Patient', ctx)).toMatchObject({ code: 'UPSTREAM_FAILED', message: 'The FHIR server failed read Patient (HTTP 503)' });
    const notJson = fhirFailureToAppError(kitError(200, '<html>'), 'read Patient', ctx);
    expect(notJson).toMatchObject({ code: 'UPSTREAM_FAILED', message: 'The FHIR server answered read Patient with a body that is not JSON' });
    for (const err of [notFound, notJson]) expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain('mrn-123456');
  });
});
