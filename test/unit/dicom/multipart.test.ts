import { parseContentType, parseMultipart } from '../../../src/dicom/multipart.js';
import { thrown } from './support/thrown.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('parseContentType', () => {
  it('reads the media type and unquotes quoted parameters', () => {
    const ct = parseContentType('Multipart/Related; type="application/dicom"; boundary="a b;c\\"d"; transfer-syntax=1.2.840.10008.1.2.1');
    expect(ct.mediaType).toBe('multipart/related');
    expect(Object.fromEntries(ct.params)).toEqual({ type: 'application/dicom', boundary: 'a b;c"d', 'transfer-syntax': '1.2.840.10008.1.2.1' });
  });

  it('lower-cases parameter names but keeps values as sent', () => {
    expect(parseContentType('multipart/related;BOUNDARY=XyZ').params.get('boundary')).toBe('XyZ');
  });

  it.each([
    ['no subtype', 'multipart', 'The PACS sent a malformed multipart response: Content-Type "multipart" has no type/subtype.'],
    ['unclosed quote', 'multipart/related; boundary="abc', 'The PACS sent a malformed multipart response: a quoted Content-Type parameter is not closed.'],
    ['parameter without value', 'multipart/related; boundary', 'The PACS sent a malformed multipart response: a Content-Type parameter has no value.'],
  ])('refuses %s', (_name, value, message) => {
    expect(thrown(() => parseContentType(value))).toMatchObject({ code: 'UPSTREAM_FAILED', message });
  });
});

describe('parseMultipart (RFC 2046 5.1)', () => {
  it('splits parts, ignoring preamble and epilogue', () => {
    const body = text(
      'This is the preamble.\r\n--b1\r\nContent-Type: application/dicom\r\nContent-Location: x\r\n\r\nfirst\r\n' +
        '--b1\r\nContent-Type: application/dicom\r\n\r\nsecond\r\n--b1--\r\nepilogue --b1 ignored',
    );
    const parts = parseMultipart(body, 'multipart/related; type="application/dicom"; boundary=b1');
    expect(parts.map((p) => str(p.body))).toEqual(['first', 'second']);
    expect(parts[0]?.mediaType).toBe('application/dicom');
    expect(parts[0]?.headers.get('content-location')).toBe('x');
  });

  it('handles a quoted boundary with spaces and a body that opens with the delimiter', () => {
    const parts = parseMultipart(text('--my boundary\r\n\r\nonly\r\n--my boundary--'), 'multipart/related; boundary="my boundary"');
    expect(parts.map((p) => str(p.body))).toEqual(['only']);
    expect(parts[0]?.mediaType).toBeUndefined();
  });

  it('keeps binary bodies byte-exact, including CRLF, dashes and near-miss delimiters', () => {
    // "\r\n--b1" followed by "y" is not the delimiter "\r\n--b1x".
    const payload = new Uint8Array([0x0d, 0x0a, 0x2d, 0x2d, ...text('b1y'), 0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a]);
    const body = new Uint8Array([...text('--b1x\r\nContent-Type: application/dicom\r\n\r\n'), ...payload, ...text('\r\n--b1x--\r\n')]);
    const [part] = parseMultipart(body, 'multipart/related; boundary=b1x');
    expect(Array.from(part?.body ?? [])).toEqual(Array.from(payload));
  });

  it('returns views into the body without copying', () => {
    const body = text('--b\r\n\r\nabc\r\n--b--');
    const [part] = parseMultipart(body, 'multipart/related; boundary=b');
    expect(part?.body.buffer).toBe(body.buffer);
    expect(part?.body.byteOffset).toBe(7);
  });

  it('accepts transport padding after a delimiter and empty parts', () => {
    const parts = parseMultipart(text('--b  \t\r\nX-A: 1\r\n\r\n\r\n--b\r\n\r\nz\r\n--b--'), 'multipart/mixed; boundary=b');
    expect(parts.map((p) => str(p.body))).toEqual(['', 'z']);
  });

  it('unfolds continuation lines in part headers', () => {
    const [part] = parseMultipart(text('--b\r\nContent-Type: application/dicom;\r\n transfer-syntax=1.2.840.10008.1.2.1\r\n\r\nz\r\n--b--'), 'multipart/related; boundary=b');
    expect(part?.headers.get('content-type')).toBe('application/dicom; transfer-syntax=1.2.840.10008.1.2.1');
    expect(part?.mediaType).toBe('application/dicom');
  });

  it.each([
    ['a body cut inside a part', '--b\r\nContent-Type: application/dicom\r\n\r\npartial data', 'the multipart body ends before its close delimiter'],
    ['a body cut inside headers', '--b\r\nContent-Type: appl', 'the multipart body ends inside part headers'],
    ['a body cut right after a delimiter', '--b\r\n\r\nabc\r\n--b', 'the multipart body ends before its close delimiter'],
    ['no delimiter at all', 'just some text', 'the multipart body has no boundary delimiter'],
    ['a delimiter followed by garbage', '--b\r\n\r\nabc\r\n--bX\r\n--b--', 'a boundary delimiter is not followed by CRLF'],
    ['a header line without a name', '--b\r\n: value\r\n\r\nabc\r\n--b--', 'a multipart part header has no name'],
  ])('refuses %s', (_name, body, detail) => {
    expect(thrown(() => parseMultipart(text(body), 'multipart/related; boundary=b'))).toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: `The PACS sent a malformed multipart response: ${detail}.`,
    });
  });

  it.each([
    ['not multipart', 'application/dicom', 'expected a multipart response, got application/dicom'],
    ['no boundary', 'multipart/related; type="application/dicom"', 'the multipart boundary parameter is missing or invalid'],
    ['a boundary over 70 characters', `multipart/related; boundary=${'x'.repeat(71)}`, 'the multipart boundary parameter is missing or invalid'],
  ])('refuses a content type that is %s', (_name, contentType, detail) => {
    expect(thrown(() => parseMultipart(text('--b\r\n\r\nabc\r\n--b--'), contentType))).toMatchObject({
      code: 'UPSTREAM_FAILED',
      message: `The PACS sent a malformed multipart response: ${detail}.`,
    });
  });
});
