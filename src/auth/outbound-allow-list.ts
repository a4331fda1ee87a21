/**
 * Allow-list for outbound requests that carry credentials or reveal patient context.
 *
 * A CDS Hooks request names its own `fhirServer` and hands over an access token for it; the
 * service then calls that URL. Without an allow-list any caller could make the service send the
 * token, and requests, anywhere (CDS Hooks 2.0 § Security and Safety). The same check guards
 * DICOMweb roots.
 *
 * Matching is done on WHATWG-parsed URLs, never on raw strings, so that `HTTPS://Fhir.Example.org:443`
 * equals `https://fhir.example.org`, and dot segments (`/r4/../admin`, `/r4/%2e%2e/admin`) are
 * resolved before a path prefix is compared.
 */

import { AppError } from '../errors.js';

/** The result of {@link createOriginAllowList}. */
export interface OriginAllowList {
  /**
   * Whether `url` may be called.
   *
   * @param url - An absolute URL; unparsable, userinfo-bearing and non-http(s) URLs are refused.
   * @returns `true` only when an entry allows it.
   */
  isAllowed(url: string): boolean;
  /**
   * Throws unless `url` may be called.
   *
   * @param url - As for {@link OriginAllowList.isAllowed}.
   * @param what - Names the URL in the error, e.g. `fhirServer`.
   * @throws AppError `OUTBOUND_NOT_ALLOWED`; the message names at most the origin, never the path
   *   or query, which may carry identifiers.
   */
  assertAllowed(url: string, what: string): void;
}

interface Entry {
  /** Serialised origin: scheme, lower-case host, port only when not the scheme's default. */
  readonly origin: string;
  /** Path prefix without a trailing slash; `undefined` when the whole origin is allowed. */
  readonly pathPrefix: string | undefined;
}

const HTTP_SCHEMES: ReadonlySet<string> = new Set(['http:', 'https:']);

/**
 * Parses a URL we may call: absolute, http(s), without userinfo. Userinfo is refused outright
 * because `https://fhir.example.org@evil.example` reads as the allowed host to a human and
 * smuggles credentials to whichever host it really names.
 */
function parseCallable(raw: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (!HTTP_SCHEMES.has(url.protocol)) return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  // `https://@host` parses with empty userinfo; refuse it too rather than reason about it.
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(raw.trim())) return undefined;
  return url;
}

function parseEntry(raw: string): Entry {
  const url = parseCallable(raw);
  if (url === undefined) {
    throw new TypeError(`allow-list entry ${JSON.stringify(raw)} must be an absolute http(s) URL without userinfo`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new TypeError(`allow-list entry ${JSON.stringify(raw)} must not have a query or fragment`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  return { origin: url.origin, pathPrefix: path === '' ? undefined : path };
}

/**
 * Path-prefix match on segment boundaries: `/r4` allows `/r4` and `/r4/Patient`, not `/r4evil`.
 * Paths are compared case-sensitively (RFC 3986 § 6.2.2.1: only scheme and host are not).
 */
function pathMatches(pathname: string, prefix: string): boolean {
  return pathname === prefix || pathname.startsWith(`${prefix}/`);
}

/**
 * Builds an allow-list of origins (`https://fhir.example.org`) and path prefixes
 * (`https://fhir.example.org/r4`, which allows only URLs at or under `/r4`).
 *
 * @param entries - Absolute http(s) URLs without userinfo, query or fragment.
 * @returns The allow-list.
 * @throws TypeError when an entry is malformed: configuration errors must stop start-up.
 */
export function createOriginAllowList(entries: ReadonlyArray<string>): OriginAllowList {
  const parsed = entries.map(parseEntry);

  function isAllowed(url: string): boolean {
    const target = parseCallable(url);
    if (target === undefined) return false;
    return parsed.some(
      (entry) =>
        entry.origin === target.origin &&
        (entry.pathPrefix === undefined || pathMatches(target.pathname, entry.pathPrefix)),
    );
  }

  function assertAllowed(url: string, what: string): void {
    if (isAllowed(url)) return;
    const target = parseCallable(url);
    const where = target === undefined ? '' : ` (origin ${target.origin})`;
    throw new AppError('OUTBOUND_NOT_ALLOWED', `${what} is not on the allow-list${where}`);
  }

  return { isAllowed, assertAllowed };
}
