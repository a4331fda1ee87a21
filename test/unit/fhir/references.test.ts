import { AppError } from '../../../src/errors.js';
import { isFhirId, pagingLinkOnServer, parseFhirBase, parseLiteralReference } from '../../../src/fhir/references.js';

const base = parseFhirBase('https://ehr.example.org/fhir/R4/');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? err.code : 'not an AppError';
  }
  return undefined;
}

describe('parseFhirBase', () => {
  it('normalises the base without trailing slash', () => {
    expect(base).toEqual({ origin: 'https://ehr.example.org', path: '/fhir/R4', href: 'https://ehr.example.org/fhir/R4' });
    expect(parseFhirBase('HTTP://EHR.example.org:80/').href).toBe('http://ehr.example.org');
  });

  it('refuses URLs that could disguise the host or graft onto every path', () => {
    for (const raw of [
      'https://user:pw@ehr.example.org/fhir',
      'https://ehr.example.org@evil.example/fhir',
      'https://ehr.example.org/fhir?x=1',
      'https://ehr.example.org/fhir?',
      'https://ehr.example.org/fhir#frag',
      'ftp://ehr.example.org/fhir',
      '/fhir',
    ]) {
      expect(codeOf(() => parseFhirBase(raw))).toBe('OUTBOUND_NOT_ALLOWED');
    }
  });
});

describe('parseLiteralReference', () => {
  it('parses relative and versioned references', () => {
    expect(parseLiteralReference('ImagingStudy/abc-1.2', base)).toEqual({ resourceType: 'ImagingStudy', id: 'abc-1.2', versionId: undefined });
    expect(parseLiteralReference('Patient/p1/_history/3', base)).toEqual({ resourceType: 'Patient', id: 'p1', versionId: '3' });
  });

  it('parses absolute references under the base', () => {
    expect(parseLiteralReference('https://ehr.example.org/fhir/R4/Endpoint/pacs', base)).toEqual({
      resourceType: 'Endpoint',
      id: 'pacs',
      versionId: undefined,
    });
  });

  it('refuses absolute references off the server: other origin, sibling path, dot segments, query', () => {
    for (const ref of [
      'https://evil.example/fhir/R4/Patient/p1',
      'http://ehr.example.org/fhir/R4/Patient/p1',
      'https://ehr.example.org:8443/fhir/R4/Patient/p1',
      'https://ehr.example.org/fhir/R4-admin/Patient/p1',
      'https://ehr.example.org/fhir/R4/../admin/Patient/p1',
      'https://ehr.example.org/fhir/R4/Patient/p1?_format=xml',
      'https://ehr.example.org@evil.example/fhir/R4/Patient/p1',
    ]) {
      expect(codeOf(() => parseLiteralReference(ref, base))).toBe('OUTBOUND_NOT_ALLOWED');
    }
  });

  it('refuses what cannot be read from the server by itself', () => {
    for (const ref of ['#contained', 'urn:uuid:0d6b3c38-7f0a-4b4e-8a59-9d6f27a9a001', 'Patient/a b', 'Patient/../Endpoint/x', 'patient/p1', '', 'Patient']) {
      expect(codeOf(() => parseLiteralReference(ref, base))).toBe('DATA_UNAVAILABLE');
    }
  });
});

describe('pagingLinkOnServer', () => {
  it('accepts links under the base or on the base itself, absolute or relative', () => {
    expect(pagingLinkOnServer('https://ehr.example.org/fhir/R4/ImagingStudy?_offset=10', base)).toBe(
      'https://ehr.example.org/fhir/R4/ImagingStudy?_offset=10',
    );
    expect(pagingLinkOnServer('https://ehr.example.org/fhir/R4?_getpages=abc&_getpagesoffset=20', base)).toBe(
      'https://ehr.example.org/fhir/R4?_getpages=abc&_getpagesoffset=20',
    );
    expect(pagingLinkOnServer('ImagingStudy?_offset=10', base)).toBe('https://ehr.example.org/fhir/R4/ImagingStudy?_offset=10');
  });

  it('refuses links that would take the token elsewhere', () => {
    for (const href of [
      'https://evil.example/fhir/R4/ImagingStudy?_offset=10',
      'http://ehr.example.org/fhir/R4/ImagingStudy',
      'https://attacker@ehr.example.org/fhir/R4/ImagingStudy',
      'https://ehr.example.org/other/ImagingStudy',
      '/other/ImagingStudy',
      '//evil.example/fhir/R4/ImagingStudy',
      'javascript:alert(1)',
    ]) {
      expect(pagingLinkOnServer(href, base)).toBeUndefined();
    }
  });
});

describe('isFhirId', () => {
  it('follows the R4 id datatype', () => {
    expect(isFhirId('a-B.9')).toBe(true);
    expect(isFhirId('x'.repeat(64))).toBe(true);
    expect(isFhirId('x'.repeat(65))).toBe(false);
    expect(isFhirId('a/b')).toBe(false);
    expect(isFhirId('')).toBe(false);
  });
});
