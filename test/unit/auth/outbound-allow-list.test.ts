import { createOriginAllowList } from '../../../src/auth/outbound-allow-list.js';

function thrownBy(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('createOriginAllowList: origin entries', () => {
  const list = createOriginAllowList(['https://fhir.example.org', 'http://pacs.internal:8042']);

  it.each([
    ['the origin itself', 'https://fhir.example.org'],
    ['any path on the origin', 'https://fhir.example.org/r4/Patient/123?_format=json'],
    ['the explicit default port', 'https://fhir.example.org:443/r4'],
    ['an upper-case scheme and host', 'HTTPS://FHIR.Example.ORG/r4'],
    ['a non-default port that is listed', 'http://pacs.internal:8042/dicom-web/studies'],
  ])('allows %s', (_name, url) => {
    expect(list.isAllowed(url)).toBe(true);
  });

  it.each([
    ['another scheme on the same host', 'http://fhir.example.org/r4'],
    ['another port on the same host', 'https://fhir.example.org:8443/r4'],
    ['the default port when a non-default one is listed', 'http://pacs.internal/dicom-web'],
    ['a subdomain', 'https://evil.fhir.example.org/r4'],
    ['a suffix lookalike', 'https://fhir.example.org.evil.example/r4'],
    ['a host with a trailing dot', 'https://fhir.example.org./r4'],
    ['userinfo naming the allowed host before the real one', 'https://fhir.example.org@evil.example/r4'],
    ['userinfo on the allowed host', 'https://user:secret@fhir.example.org/r4'],
    ['empty userinfo', 'https://@fhir.example.org/r4'],
    ['a relative URL', '/r4/Patient'],
    ['garbage', 'not a url'],
    ['an empty string', ''],
  ])('refuses %s', (_name, url) => {
    expect(list.isAllowed(url)).toBe(false);
  });

  it.each(['file:///etc/passwd', 'ftp://fhir.example.org/r4', 'javascript:alert(1)', 'data:text/plain,hi', 'ws://fhir.example.org'])(
    'refuses the non-http scheme of %s',
    (url) => {
      expect(list.isAllowed(url)).toBe(false);
    },
  );
});

describe('createOriginAllowList: path-prefix entries', () => {
  const list = createOriginAllowList(['https://fhir.example.org/r4', 'https://pacs.example.org/dicom-web/']);

  it.each([
    ['the prefix itself', 'https://fhir.example.org/r4'],
    ['the prefix with a trailing slash', 'https://fhir.example.org/r4/'],
    ['a resource under the prefix', 'https://fhir.example.org/r4/ImagingStudy?patient=1'],
    ['an entry written with a trailing slash', 'https://pacs.example.org/dicom-web/studies/1.2.3'],
    ['an entry written with a trailing slash, matched without one', 'https://pacs.example.org/dicom-web'],
  ])('allows %s', (_name, url) => {
    expect(list.isAllowed(url)).toBe(true);
  });

  it.each([
    ['a sibling sharing the prefix characters', 'https://fhir.example.org/r4evil'],
    ['a sibling sharing the prefix characters, under a path', 'https://fhir.example.org/r4-admin/Patient'],
    ['the origin root', 'https://fhir.example.org/'],
    ['another path', 'https://fhir.example.org/r5/Patient'],
    ['a different case in the path', 'https://fhir.example.org/R4/Patient'],
    ['a dot-segment escape', 'https://fhir.example.org/r4/../admin'],
    ['an encoded dot-segment escape', 'https://fhir.example.org/r4/%2e%2e/admin'],
    ['an encoded slash after the prefix characters', 'https://fhir.example.org/r4%2F..%2Fadmin'],
    ['the prefix on another origin', 'https://evil.example.org/r4/Patient'],
  ])('refuses %s', (_name, url) => {
    expect(list.isAllowed(url)).toBe(false);
  });
});

describe('createOriginAllowList: assertAllowed', () => {
  const list = createOriginAllowList(['https://fhir.example.org']);

  it('returns quietly for an allowed URL', () => {
    expect(thrownBy(() => {
      list.assertAllowed('https://fhir.example.org/r4', 'fhirServer');
    })).toBeUndefined();
  });

  it('throws OUTBOUND_NOT_ALLOWED naming the origin but not the path or query', () => {
    const caught = thrownBy(() => {
      list.assertAllowed('https://evil.example.org/r4/Patient?identifier=MRN-12345', 'fhirServer');
    });
    expect(caught).toMatchObject({
      name: 'AppError',
      code: 'OUTBOUND_NOT_ALLOWED',
      message: 'fhirServer is not on the allow-list (origin https://evil.example.org)',
    });
    expect((caught as Error).message).not.toContain('MRN-12345');
  });

  it('does not echo credentials of a URL with userinfo', () => {
    const caught = thrownBy(() => {
      list.assertAllowed('https://user:secret@fhir.example.org/r4', 'fhirServer');
    });
    expect(caught).toMatchObject({ code: 'OUTBOUND_NOT_ALLOWED', message: 'fhirServer is not on the allow-list' });
  });
});

describe('createOriginAllowList: configuration', () => {
  it.each([
    ['a relative entry', '/r4'],
    ['a non-http entry', 'ftp://fhir.example.org'],
    ['an entry with userinfo', 'https://user@fhir.example.org'],
    ['an entry with a query', 'https://fhir.example.org/r4?x=1'],
    ['an entry with a fragment', 'https://fhir.example.org/r4#x'],
  ])('refuses %s at start-up', (_name, entry) => {
    expect(() => createOriginAllowList([entry])).toThrow(TypeError);
  });

  it('allows nothing when empty', () => {
    expect(createOriginAllowList([]).isAllowed('https://fhir.example.org')).toBe(false);
  });
});
