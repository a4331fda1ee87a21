/**
 * `multipart/related` bodies (RFC 2387 over RFC 2046 5.1), as WADO-RS returns them
 * (PS3.18 8.6.1.2). Parts are views into the body, not copies. The parsing itself is the
 * incremental scanner of multipart-stream.ts, fed the whole body at once.
 */
import { AppError } from '../errors.js';
import { MultipartScanner } from './multipart-stream.js';

/** One body part. */
export interface MultipartPart {
  /** Header fields, names lower-cased. */
  readonly headers: ReadonlyMap<string, string>;
  /** The part's Content-Type media type, lower-cased, without parameters; undefined when absent. */
  readonly mediaType: string | undefined;
  readonly body: Uint8Array;
}

/** A parsed Content-Type header value. */
export interface ContentType {
  /** `type/subtype`, lower-cased. */
  readonly mediaType: string;
  /** Parameters, names lower-cased, quoted values unquoted. */
  readonly params: ReadonlyMap<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses a Content-Type value per RFC 9110 8.3: `type/subtype *( OWS ";" OWS name=value )`,
 * where a value is a token or a quoted string with backslash escapes.
 *
 * @throws AppError UPSTREAM_FAILED when the value is malformed
 */
export function parseContentType(value: string): ContentType {
  const semicolon = value.indexOf(';');
  const mediaType = (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  if (!/^[^\s/]+\/[^\s/]+$/.test(mediaType)) throw malformed(`Content-Type "${value.slice(0, 100)}" has no type/subtype`);
  const params = new Map<string, string>();
  let i = semicolon < 0 ? value.length : semicolon;
  while (i < value.length) {
    // At a ';': skip it and whitespace, then read name=value.
    i++;
    while (i < value.length && (value[i] === ' ' || value[i] === '\t')) i++;
    if (i >= value.length) break;
    const eq = value.indexOf('=', i);
    if (eq < 0) throw malformed('a Content-Type parameter has no value');
    const name = value.slice(i, eq).trim().toLowerCase();
    let paramValue = '';
    i = eq + 1;
    if (value[i] === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < value.length) i++;
        paramValue += value.charAt(i);
        i++;
      }
      if (value[i] !== '"') throw malformed('a quoted Content-Type parameter is not closed');
      i++;
      const next = value.indexOf(';', i);
      if (value.slice(i, next < 0 ? value.length : next).trim() !== '') throw malformed('text after a quoted Content-Type parameter');
      i = next < 0 ? value.length : next;
    } else {
      const next = value.indexOf(';', i);
      paramValue = value.slice(i, next < 0 ? value.length : next).trim();
      i = next < 0 ? value.length : next;
    }
    if (!TOKEN.test(name)) throw malformed(`bad Content-Type parameter name "${name.slice(0, 40)}"`);
    params.set(name, paramValue);
  }
  return { mediaType, params };
}

/**
 * Splits a multipart body into its parts. The preamble and the epilogue are ignored; a body
 * that ends before the close delimiter is an error, because the last part would be truncated.
 *
 * @param body - the whole response body
 * @param contentType - the response's Content-Type header (must be multipart/*, with a boundary)
 * @throws AppError UPSTREAM_FAILED when the content type or the body is malformed
 */
export function parseMultipart(body: Uint8Array, contentType: string): MultipartPart[] {
  // One push of the whole body: the scanner looks at it in place, so parts are views into it.
  const scanner = new MultipartScanner(contentType);
  const parts = scanner.push(body);
  scanner.finish();
  return parts;
}

/** Header fields of one part; continuation lines (obsolete folding) are unfolded. Shared with multipart-stream.ts. */
export function parseHeaders(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  const lines: string[] = [];
  for (const line of text.split('\r\n')) {
    const previous = lines.pop();
    if (previous !== undefined && (line.startsWith(' ') || line.startsWith('\t'))) {
      lines.push(`${previous} ${line.trim()}`);
    } else {
      if (previous !== undefined) lines.push(previous);
      lines.push(line);
    }
  }
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed('a multipart part header has no name');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** The error for a malformed multipart response. */
export function malformed(detail: string): AppError {
  return new AppError('UPSTREAM_FAILED', `The PACS sent a malformed multipart response: ${detail}.`);
}
