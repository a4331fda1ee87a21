import { AppError } from '../../../src/errors.js';
import { fhirFailureToAppError, fhirStatusToAppError } from '../../../src/fhir/fhir-errors.js';

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
});
