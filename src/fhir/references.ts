/**
 * FHIR base URLs and literal references, parsed strictly before anything reaches a URL.
 *
 * The user's bearer token goes with every request to the FHIR server, so what counts as "on the
 * server" is decided here, on WHATWG-parsed URLs: same origin, no userinfo, and a path under the
 * base path on a segment boundary (`/fhir` does not cover `/fhir-admin`). Ids and type names are
 * checked against their FHIR datatypes so that `Patient/../../admin` never becomes a path.
 */
import { AppError } from '../errors.js';

/** FHIR R4 `id` datatype. */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
/** A resource type name (the R4 list is closed, but servers reject unknown names themselves). */
const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const RELATIVE_REFERENCE = /^([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

/** A parsed FHIR server base. */
export interface FhirBase {
  /** Serialised origin, e.g. `https://ehr.example.org`. */
  readonly origin: string;
  /** Base path without trailing slash; `''` for a server at the root. */
  readonly path: string;
  /** `origin + path`: the base without trailing slash. */
  readonly href: string;
}

/** A literal reference to a resource on the server. */
export interface ParsedReference {
  readonly resourceType: string;
  readonly id: string;
  /** Set for `Type/id/_history/vid`. */
  readonly versionId: string | undefined;
}

/**
 * Whether a string is a FHIR logical id.
 *
 * @param id - candidate
 * @returns `true` for `[A-Za-z0-9\-.]{1,64}`
 */
export function isFhirId(id: string): boolean {
  return FHIR_ID.test(id);
}

/**
 * Whether a string has the shape of a resource type name.
 *
 * @param name - candidate
 * @returns `true` for e.g. `ImagingStudy`
 */
export function isResourceTypeName(name: string): boolean {
  return RESOURCE_TYPE.test(name);
}

/**
 * Parses a FHIR server base we may send the token to. Userinfo, query and fragment are refused:
 * the first can disguise the host, the others would be glued in front of every path.
 *
 * @param raw - e.g. `https://ehr.example.org/fhir/R4/`
 * @returns The parsed base.
 * @throws AppError `OUTBOUND_NOT_ALLOWED` when it is not such a URL.
 */
export function parseFhirBase(raw: string): FhirBase {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('OUTBOUND_NOT_ALLOWED', 'The FHIR server base is not an absolute URL');
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== '' ||
    raw.includes('?') ||
    raw.includes('#')
  ) {
    throw new AppError(
      'OUTBOUND_NOT_ALLOWED',
      'The FHIR server base must be an http(s) URL without userinfo, query or fragment',
    );
  }
  const path = url.pathname.replace(/\/+$/, '');
  return { origin: url.origin, path, href: url.origin + path };
}

/**
 * The part of `url`'s path below the base, when `url` is on the server.
 *
 * @param url - a parsed absolute URL
 * @param base - the server base
 * @returns The path below the base without leading slash (`''` for the base itself), or
 *   `undefined` when `url` has another origin, userinfo, or a path outside the base.
 */
export function pathBelowBase(url: URL, base: FhirBase): string | undefined {
  if (url.origin !== base.origin || url.username !== '' || url.password !== '') return undefined;
  const path = url.pathname.replace(/\/+$/, '');
  if (path === base.path) return '';
  return path.startsWith(`${base.path}/`) ? path.slice(base.path.length + 1) : undefined;
}

/**
 * Parses a literal reference: relative `Type/id[/_history/vid]`, or an absolute URL under `base`.
 *
 * @param reference - `Reference.reference`
 * @param base - the server the reference will be read from
 * @returns Type, id and version.
 * @throws AppError `DATA_UNAVAILABLE` for contained (`#id`), bundle-local (`urn:uuid:`) or
 *   malformed references; `OUTBOUND_NOT_ALLOWED` for an absolute URL off the server, since
 *   following it would send the user's token to a server nobody allow-listed.
 */
export function parseLiteralReference(reference: string, base: FhirBase): ParsedReference {
  if (reference.startsWith('#')) {
    throw new AppError('DATA_UNAVAILABLE', 'A contained reference must be resolved from its containing resource');
  }
  const relative = RELATIVE_REFERENCE.exec(reference);
  if (relative !== null) {
    return { resourceType: relative[1] ?? '', id: relative[2] ?? '', versionId: relative[3] };
  }
  if (!/^https?:\/\//i.test(reference)) {
    throw new AppError('DATA_UNAVAILABLE', 'Not a resolvable literal reference (expected Type/id or a URL on the FHIR server)');
  }
  let url: URL;
  try {
    url = new URL(reference);
  } catch {
    throw new AppError('DATA_UNAVAILABLE', 'Not a resolvable literal reference (malformed URL)');
  }
  const rest = url.search === '' && url.hash === '' ? pathBelowBase(url, base) : undefined;
  const match = rest === undefined ? null : RELATIVE_REFERENCE.exec(rest);
  if (match === null) {
    throw new AppError('OUTBOUND_NOT_ALLOWED', `The reference points outside the FHIR server (origin ${url.origin})`);
  }
  return { resourceType: match[1] ?? '', id: match[2] ?? '', versionId: match[3] };
}

/**
 * Resolves a paging link (`Bundle.link` `next`) and says whether it stays on the server.
 * Servers put paging links under the base (`/fhir/ImagingStudy?...`) or on the base itself
 * (`/fhir?_getpages=...`); both are accepted, anything else is not.
 *
 * @param href - the link's URL, absolute or relative to the base
 * @param base - the server base
 * @returns The absolute URL, or `undefined` when it is malformed or off the server.
 */
export function pagingLinkOnServer(href: string, base: FhirBase): string | undefined {
  let url: URL;
  try {
    url = new URL(href, `${base.href}/`);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  return pathBelowBase(url, base) === undefined ? undefined : url.href;
}
