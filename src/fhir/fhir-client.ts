/**
 * Read-only access to the EHR's FHIR R4 server, with the client's own access token.
 *
 * This is the only module that imports fhir-kit-client. It exists to give the
 * rest of `src/` a small interface ({@link FhirReader}) and to turn everything fhir-kit-client
 * can reject with into {@link AppError}s (the mapping is in fhir-errors.ts; URL and reference
 * checks are in references.ts).
 *
 * Why each guard is here:
 * - The bearer token is the EHR user's: it goes only to `baseUrl` (which the caller has already
 *   checked against the allow-list). Paging `next` links and absolute references are followed
 *   only when they point back at the same server; fhir-kit-client's own `resolve()` would open
 *   a new client for any foreign base, and its `nextPage()` follows any URL.
 * - fhir-kit-client's debug logging (`DEBUG=fhir-kit-client:*`) prints request headers, bearer
 *   token included. This module never enables it; start-up should refuse a `DEBUG` value for
 *   which {@link isFhirKitDebugEnabled} is true.
 * - A FHIR server may answer 200 with an OperationOutcome or with another resource type; that
 *   is treated as an upstream failure rather than passed on as data.
 * - Every request has a timeout: CDS Hooks answers are expected in about 500 ms.
 *
 * Known limit: fhir-kit-client buffers the whole response body (`response.text()`), so no
 * byte limit can be enforced here; searches are bounded by the result and page caps instead.
 */
import { Client } from 'fhir-kit-client';
import type { RequestOptions, SearchParams as KitSearchParams } from 'fhir-kit-client';
import type { Bundle, FhirResource } from 'fhir/r4.js';
import { AppError } from '../errors.js';
import { fhirFailureToAppError } from './fhir-errors.js';
import { isFhirId, isResourceTypeName, parseFhirBase, parseLiteralReference, type ParsedReference } from './references.js';
import { collectSearchPages, type SearchResult } from './search.js';
import type { ResourceOf, ResourceTypeName } from './types.js';

export type { ResourceOf, ResourceTypeName } from './types.js';

/** Search parameters; an array value repeats the parameter (`_include=a&_include=b`). */
export type FhirSearchParams = Readonly<
  Record<string, string | number | boolean | ReadonlyArray<string | number | boolean>>
>;

/** Options of {@link createFhirReader}. */
export interface FhirReaderOptions {
  /** FHIR server base, e.g. `https://ehr.example.org/fhir/R4`; already checked against the allow-list. */
  readonly baseUrl: string;
  /** Access token from `fhirAuthorization.access_token`; sent as `Authorization: Bearer`. */
  readonly accessToken?: string | undefined;
  /** Time limit for each HTTP request, body included. */
  readonly timeoutMs: number;
  /** Most matches {@link FhirReader.search} returns (default 1000). */
  readonly maxSearchResults?: number | undefined;
  /** Most pages {@link FhirReader.search} fetches (default 50). */
  readonly maxSearchPages?: number | undefined;
}

/** Per-call options. */
export interface FhirCallOptions {
  /** Cancels the call, e.g. when the hook's time budget is spent; the abort reason is rethrown as is. */
  readonly signal?: AbortSignal | undefined;
}

/** Per-search options. */
export interface FhirSearchOptions extends FhirCallOptions {
  /** Lowers the reader's `maxSearchResults` for this search. */
  readonly maxResults?: number | undefined;
}

export type { SearchResult, SearchTruncation } from './search.js';

/** Read-only FHIR access for one CDS request (one server, one token). */
export interface FhirReader {
  /** The server base, without trailing slash. */
  readonly baseUrl: string;
  /**
   * Reads one resource.
   *
   * @param resourceType - e.g. `ImagingStudy`
   * @param id - logical id (`[A-Za-z0-9\-.]{1,64}`)
   * @param options - cancellation
   * @returns The resource, checked to be of the type and id asked for.
   * @throws AppError `DATA_UNAVAILABLE` (404/410, 401/403, malformed id) or `UPSTREAM_FAILED`
   *   (timeout, connection failure, 5xx, other 4xx, wrong resource type, non-JSON body).
   */
  read<K extends ResourceTypeName>(resourceType: K, id: string, options?: FhirCallOptions): Promise<ResourceOf<K>>;
  /**
   * Type-level search, following `next` links on the same origin until the last page or a cap.
   *
   * @param resourceType - e.g. `ImagingStudy`
   * @param params - e.g. `{ patient: 'Patient/1', _count: 50 }`
   * @param options - result cap and cancellation
   * @returns Matches and included resources; `truncated` says whether the search stopped early.
   * @throws AppError as for {@link FhirReader.read}; a page that is not a searchset Bundle, or a
   *   match of another type, is `UPSTREAM_FAILED`.
   */
  search<K extends ResourceTypeName>(
    resourceType: K,
    params?: FhirSearchParams,
    options?: FhirSearchOptions,
  ): Promise<SearchResult<ResourceOf<K>>>;
  /**
   * Resolves a literal reference: relative `Type/id` (or `Type/id/_history/vid`), or an absolute
   * URL under this server's base. Contained (`#id`) and bundle-local (`urn:uuid:`) references
   * must be resolved from their container by the caller.
   *
   * @param reference - `Reference.reference`
   * @param expectedType - when given, the reference must name this type
   * @param options - cancellation
   * @returns The resource.
   * @throws AppError `OUTBOUND_NOT_ALLOWED` for an absolute reference to another server;
   *   `DATA_UNAVAILABLE` for an unresolvable or mistyped reference; else as for {@link FhirReader.read}.
   */
  resolveReference(reference: string, expectedType?: undefined, options?: FhirCallOptions): Promise<FhirResource>;
  resolveReference<K extends ResourceTypeName>(
    reference: string,
    expectedType: K,
    options?: FhirCallOptions,
  ): Promise<ResourceOf<K>>;
}

const DEFAULT_MAX_SEARCH_RESULTS = 1000;
const DEFAULT_MAX_SEARCH_PAGES = 50;

function resourceTypeOf(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null && 'resourceType' in value && typeof value.resourceType === 'string'
    ? value.resourceType
    : undefined;
}

/** Throws unless the server answered with the resource type that was asked for. */
function checkType(value: unknown, resourceType: string, what: string): void {
  const actual = resourceTypeOf(value);
  if (actual === resourceType) return;
  const got = actual === 'OperationOutcome' ? 'an OperationOutcome' : actual === undefined ? 'a non-resource' : `a ${actual}`;
  throw new AppError('UPSTREAM_FAILED', `The FHIR server answered ${what} with ${got} instead of a ${resourceType}`);
}

type Exchange = (what: string, call: (requestOptions: RequestOptions) => Promise<unknown>, signal?: AbortSignal) => Promise<unknown>;

/** Runs one HTTP exchange under the timeout (and the caller's signal), mapping failures. */
function exchangeUnder(timeoutMs: number, errorContext: { readonly hadToken: boolean; readonly timeoutMs: number }): Exchange {
  return async (what, call, signal) => {
    signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
    try {
      return await call({ signal: combined });
    } catch (err) {
      // The caller's own cancellation is not an upstream failure: hand its reason back.
      if (signal?.aborted === true && !timeout.aborted) throw signal.reason;
      throw fhirFailureToAppError(err, what, errorContext);
    }
  };
}

function checkResourceType(resourceType: string): void {
  if (!isResourceTypeName(resourceType)) {
    throw new AppError('DATA_UNAVAILABLE', 'Not a FHIR resource type name');
  }
}

function parseId(resourceType: string, id: string): ParsedReference {
  checkResourceType(resourceType);
  if (!isFhirId(id)) {
    throw new AppError('DATA_UNAVAILABLE', `Not a valid FHIR logical id for ${resourceType}`);
  }
  return { resourceType, id, versionId: undefined };
}

/**
 * Creates a reader for one FHIR server and one token. Cheap: create one per CDS request, since
 * the token belongs to the request.
 *
 * @param options - base URL, token, timeout and search caps
 * @returns The reader.
 * @throws AppError `OUTBOUND_NOT_ALLOWED` when `baseUrl` is not a plain absolute http(s) URL.
 */
export function createFhirReader(options: FhirReaderOptions): FhirReader {
  const base = parseFhirBase(options.baseUrl);
  const baseUrl = base.href;
  const token = options.accessToken !== undefined && options.accessToken !== '' ? options.accessToken : undefined;
  const timeoutMs = options.timeoutMs;
  const maxSearchResults = options.maxSearchResults ?? DEFAULT_MAX_SEARCH_RESULTS;
  const maxSearchPages = options.maxSearchPages ?? DEFAULT_MAX_SEARCH_PAGES;
  if (!(timeoutMs > 0) || !(maxSearchResults > 0) || !(maxSearchPages > 0)) {
    throw new RangeError('timeoutMs, maxSearchResults and maxSearchPages must be positive');
  }

  // The token is given to fhir-kit-client once, here; nothing else in this module touches it.
  const client = new Client(token === undefined ? { baseUrl } : { baseUrl, bearerToken: token });

  const exchange = exchangeUnder(timeoutMs, { hadToken: token !== undefined, timeoutMs });

  async function readChecked(ref: ParsedReference, signal?: AbortSignal): Promise<FhirResource> {
    const what = `read ${ref.resourceType}`;
    const { resourceType, id, versionId } = ref;
    const result = await exchange(
      what,
      (requestOptions) =>
        versionId === undefined
          ? client.read({ resourceType, id, options: requestOptions })
          : client.vread({ resourceType, id, version: versionId, options: requestOptions }),
      signal,
    );
    checkType(result, resourceType, what);
    const resource = result as FhirResource;
    if (resource.id !== undefined && resource.id !== id) {
      throw new AppError('UPSTREAM_FAILED', `The FHIR server answered ${what} with a resource of another id`);
    }
    return resource;
  }

  async function search<K extends ResourceTypeName>(
    resourceType: K,
    params: FhirSearchParams = {},
    searchOptions: FhirSearchOptions = {},
  ): Promise<SearchResult<ResourceOf<K>>> {
    checkResourceType(resourceType);
    const what = `search ${resourceType}`;
    const searchParams: KitSearchParams = {};
    for (const [key, value] of Object.entries(params)) {
      searchParams[key] = Array.isArray(value) ? [...(value as ReadonlyArray<string | number | boolean>)] : (value as string | number | boolean);
    }
    return collectSearchPages<K>({
      resourceType,
      base,
      maxResults: Math.min(searchOptions.maxResults ?? maxSearchResults, maxSearchResults),
      maxPages: maxSearchPages,
      fetchPage: async (url) => {
        const page = await exchange(
          what,
          (requestOptions) => (url === undefined ? client.search({ resourceType, searchParams, options: requestOptions }) : client.request(url, { options: requestOptions })),
          searchOptions.signal,
        );
        checkType(page, 'Bundle', what);
        return page as Bundle;
      },
    });
  }

  async function read<K extends ResourceTypeName>(resourceType: K, id: string, callOptions: FhirCallOptions = {}): Promise<ResourceOf<K>> {
    return (await readChecked(parseId(resourceType, id), callOptions.signal)) as ResourceOf<K>;
  }

  async function resolveReference(
    reference: string,
    expectedType?: ResourceTypeName,
    callOptions: FhirCallOptions = {},
  ): Promise<FhirResource> {
    const parsed = parseLiteralReference(reference, base);
    if (expectedType !== undefined && parsed.resourceType !== expectedType) {
      throw new AppError('DATA_UNAVAILABLE', `The reference names a ${parsed.resourceType}, not a ${expectedType}`);
    }
    return readChecked(parsed, callOptions.signal);
  }

  return {
    baseUrl,
    read,
    search,
    resolveReference,
  };
}
