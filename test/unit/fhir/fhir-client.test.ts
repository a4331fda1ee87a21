import { createFhirReader } from '../../../src/fhir/fhir-client.js';
import { isFhirKitDebugEnabled } from '../../../src/fhir/fhir-kit-debug.js';
import { AppError } from '../../../src/errors.js';

describe('isFhirKitDebugEnabled', () => {
  it.each([
    ['fhir-kit-client:*', true],
    ['fhir-kit-client:info', true],
    ['*', true],
    ['express:*,fhir-kit-client:error', true],
    ['fhir-*', true],
    ['express:* pino', false],
    ['*,-fhir-kit-client:*', false],
    ['', false],
    [undefined, false],
  ])('DEBUG=%p → %p', (value, expected) => {
    expect(isFhirKitDebugEnabled(value)).toBe(expected);
  });
});

describe('createFhirReader', () => {
  it('refuses a base it must not send a token to', () => {
    expect(() => createFhirReader({ baseUrl: 'https://u:p@ehr.example.org/fhir', timeoutMs: 1000 })).toThrow(AppError);
    expect(() => createFhirReader({ baseUrl: 'not a url', timeoutMs: 1000 })).toThrow(AppError);
  });

  it('refuses non-positive limits', () => {
    expect(() => createFhirReader({ baseUrl: 'https://ehr.example.org/fhir', timeoutMs: 0 })).toThrow(RangeError);
    expect(() => createFhirReader({ baseUrl: 'https://ehr.example.org/fhir', timeoutMs: 10, maxSearchResults: 0 })).toThrow(RangeError);
    for (const bad of [{ maxResponseBytes: 0 }, { maxSearchBytes: -1 }, { searchTimeoutMs: 0 }, { maxSearchPages: Number.NaN }]) {
      expect(() => createFhirReader({ baseUrl: 'https://ehr.example.org/fhir', ...bad })).toThrow(RangeError);
    }
  });

  it('needs no limits: each has a default', () => {
    expect(createFhirReader({ baseUrl: 'https://ehr.example.org/fhir' }).baseUrl).toBe('https://ehr.example.org/fhir');
  });

  it('normalises the base URL', () => {
    expect(createFhirReader({ baseUrl: 'https://EHR.example.org/fhir/', timeoutMs: 1000 }).baseUrl).toBe('https://ehr.example.org/fhir');
  });

  it('rejects malformed ids and references before any network use', async () => {
    const reader = createFhirReader({ baseUrl: 'https://ehr.example.invalid/fhir', accessToken: 't', timeoutMs: 1000 });
    await expect(reader.read('Patient', 'a/b')).rejects.toMatchObject({ name: 'AppError', code: 'DATA_UNAVAILABLE' });
    await expect(reader.resolveReference('https://other.example/fhir/Patient/1')).rejects.toMatchObject({
      name: 'AppError',
      code: 'OUTBOUND_NOT_ALLOWED',
    });
  });
});
