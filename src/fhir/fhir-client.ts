/**
 * Read-only access to the EHR's FHIR R4 server, with the client's own access token.
 *
 * It gives the rest of `src/` a small interface ({@link FhirReader}) and turns every way a
 * request can fail into {@link AppError}s (the mapping is in fhir-errors.ts; URL and reference
 * checks are in references.ts). fhir-kit-client makes every request; fhir-http.ts passes it the
 * dispatcher that refuses redirects and caps each answer.
 *
 * Why each guard is here:
 * - The bearer token is the EHR user's: it goes only to `baseUrl` (which the caller has already
 *   checked against the allow-list). Paging `next` links and absolute references are followed
 *   only when they point back at the same server (they are checked here and handed to
 *   fhir-kit-client as URLs, never followed by its `nextPage()`), and an HTTP redirect is never
 *   followed (a 3xx is `UPSTREAM_FAILED`; nothing is sent to its Location).
 * - Every answer is read under a byte cap (`maxResponseBytes`, 4 MiB by default), and the read
 *   stops the moment the cap is crossed, so a huge or endless body costs at most the cap; an
 *   answer content-encoded against `accept-encoding: identity` is refused.
 * - A FHIR server may answer 200 with an OperationOutcome or with another resource type; that
 *   is treated as an upstream failure rather than passed on as data.
 * - Every request has a time limit, body included (`timeoutMs`), and a search has one for all
 *   its pages together (`searchTimeoutMs`): a CDS Hooks answer is expected within about a
 *   second, so these fit inside that rather than outlast it.
 */
import type { Bundle, FhirResource } from 'fhir/r4.js';
import type { RequestOptions, SearchParams } from 'fhir-kit-client';
import { AppError } from '../errors.js';
import { fhirFailureToAppError, type FhirFailureContext } from './fhir-errors.js';
import { createFhirKitClient, guardedCall } from './fhir-http.js';
import { isFhirId, isResourceTypeName, parseFhirBase, parseLiteralReference, type ParsedReference } from './references.js';
import { collectSearchPages, type SearchResult } from './search.js';
import type { ResourceOf, ResourceTypeName } from './types.js';

export type { ResourceOf, ResourceTypeName } from './types.js';

/** Search parameters; an array value repeats the parameter (`_include=a&_include=b`). */
export type FhirSearchParams = Readonly<
  Record<string, string | number | boolean | ReadonlyArray<string | number | boolean>>
>;

/** Options of {@link createFhirReader}; every limit has a default in {@link FHIR_READER_DEFAULTS}. */
export interface FhirReaderOptions {
  /** FHIR server base, e.g. `https://ehr.example.org/fhir/R4`; already checked against the allow-list. */
  readonly baseUrl: string;
  /** Access token from `fhirAuthorization.access_token`; sent as `Authorization: Bearer`. */
  readonly accessToken?: string | undefined;
  /** Time limit for each HTTP request: connection, headers and the whole body. */
  readonly timeoutMs?: number | undefined;
  /** Time limit for one {@link FhirReader.search}, all its pages together (default twice `timeoutMs`). */
  readonly searchTimeoutMs?: number | undefined;
  /** Most bytes of one response body (identity encoding is asked for; an encoded answer is refused); reading stops when it is crossed. */
  readonly maxResponseBytes?: number | undefined;
  /** Most bytes one {@link FhirReader.search} reads over all its pages. */
  readonly maxSearchBytes?: number | undefined;
  /** Most matches {@link FhirReader.search} returns. */
  readonly maxSearchResults?: number | undefined;
  /** Most pages {@link FhirReader.search} fetches. */
  readonly maxSearchPages?: number | undefined;
}

/**
 * Defaults of {@link FhirReaderOptions}, sized for a CDS hook (answers expected within about a
 * second) and for real data: 4 MiB holds a page of 20 ImagingStudy resources even when each lists
 * a few thousand instances, and far more than any single resource the service reads.
 */
export const FHIR_READER_DEFAULTS = Object.freeze({
  timeoutMs: 1500,
  maxResponseBytes: 4 * 1024 * 1024,
  maxSearchBytes: 16 * 1024 * 1024,
  maxSearchResults: 1000,
  maxSearchPages: 50,
});

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

/** A time limit shared by several requests (a search's pages). */
interface Deadline {
  readonly signal: AbortSignal;
  readonly ms: number;
}

type Exchange = (
  what: string,
  call: (signal: AbortSignal) => Promise<{ readonly json: unknown; readonly bytes: number }>,
  signal: AbortSignal | undefined,
  deadline?: Deadline,
) => Promise<{ readonly json: unknown; readonly bytes: number }>;

/** Runs one HTTP exchange under the timeout (and a search deadline, and the caller's signal), mapping failures. */
function exchangeUnder(timeoutMs: number, ctx: FhirFailureContext): Exchange {
  return async (what, call, signal, deadline) => {
    signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(timeoutMs);
    const signals = [timeout, ...(deadline === undefined ? [] : [deadline.signal]), ...(signal === undefined ? [] : [signal])];
    try {
      return await call(signals.length === 1 ? timeout : AbortSignal.any(signals));
    } catch (err) {
      const ownLimit = timeout.aborted || deadline?.signal.aborted === true;
      // The caller's own cancellation is not an upstream failure: hand its reason back.
      if (signal?.aborted === true && !ownLimit) throw signal.reason;
      if (deadline?.signal.aborted === true && !timeout.aborted && !(err instanceof AppError)) {
        throw new AppError('UPSTREAM_FAILED', `The FHIR server did not finish ${what} within ${deadline.ms} ms (all pages)`, {
          cause: new Error('timeout'),
        });
      }
      throw fhirFailureToAppError(err, what, ctx);
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

/** fhir-kit-client's (mutable) form of search parameters; an array repeats the parameter. */
function searchParamsOf(params: FhirSearchParams): SearchParams {
  return Object.fromEntries(
    Object.entries(params).map(([key, value]) => [key, Array.isArray(value) ? [...(value as ReadonlyArray<string | number | boolean>)] : (value as string | number | boolean)]),
  );
}

/**
 * A plain copy of what fhir-kit-client returned: it hangs the fetch Request (Authorization
 * header included) and Response on the result as hidden properties, which must not travel on.
 */
function withoutHttp(value: unknown): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...value } : value;
}

interface Limits {
  readonly timeoutMs: number;
  readonly searchTimeoutMs: number;
  readonly maxResponseBytes: number;
  readonly maxSearchBytes: number;
  readonly maxSearchResults: number;
  readonly maxSearchPages: number;
}

function limitsOf(options: FhirReaderOptions): Limits {
  const d = FHIR_READER_DEFAULTS;
  const timeoutMs = options.timeoutMs ?? d.timeoutMs;
  const limits: Limits = {
    timeoutMs,
    searchTimeoutMs: options.searchTimeoutMs ?? 2 * timeoutMs,
    maxResponseBytes: options.maxResponseBytes ?? d.maxResponseBytes,
    maxSearchBytes: options.maxSearchBytes ?? d.maxSearchBytes,
    maxSearchResults: options.maxSearchResults ?? d.maxSearchResults,
    maxSearchPages: options.maxSearchPages ?? d.maxSearchPages,
  };
  for (const [name, value] of Object.entries(limits)) {
    if (!(value > 0)) throw new RangeError(`${name} must be positive`);
  }
  return limits;
}

/**
 * Creates a reader for one FHIR server and one token. Cheap: create one per CDS request, since
 * the token belongs to the request.
 *
 * @param options - base URL, token, time limits, byte caps and search caps
 * @returns The reader.
 * @throws AppError `OUTBOUND_NOT_ALLOWED` when `baseUrl` is not a plain absolute http(s) URL.
 * @throws RangeError for a limit that is not positive
 */
export function createFhirReader(options: FhirReaderOptions): FhirReader {
  const base = parseFhirBase(options.baseUrl);
  const baseUrl = base.href;
  const token = options.accessToken !== undefined && options.accessToken !== '' ? options.accessToken : undefined;
  const limits = limitsOf(options);
  // The token goes into this client once, here; nothing else in this module touches it.
  const client = createFhirKitClient(baseUrl, token);
  const ctx: FhirFailureContext = { hadToken: token !== undefined, timeoutMs: limits.timeoutMs };
  const exchange = exchangeUnder(limits.timeoutMs, ctx);
  const get = (maxBytes: number, call: (options: RequestOptions) => Promise<unknown>) => async (signal: AbortSignal) => {
    const { value, bytes } = await guardedCall({ call, signal, maxBytes });
    return { json: withoutHttp(value), bytes };
  };

  async function readChecked(ref: ParsedReference, signal?: AbortSignal): Promise<FhirResource> {
    const what = `read ${ref.resourceType}`;
    const { resourceType, id, versionId } = ref;
    const call =
      versionId === undefined
        ? (options: RequestOptions) => client.read({ resourceType, id, options })
        : (options: RequestOptions) => client.vread({ resourceType, id, version: versionId, options });
    const { json } = await exchange(what, get(limits.maxResponseBytes, call), signal);
    checkType(json, resourceType, what);
    const resource = json as FhirResource;
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
    const searchParams = searchParamsOf(params);
    const pageBytes = Math.min(limits.maxResponseBytes, limits.maxSearchBytes);
    const deadline: Deadline = { signal: AbortSignal.timeout(limits.searchTimeoutMs), ms: limits.searchTimeoutMs };
    return collectSearchPages<K>({
      resourceType,
      base,
      maxResults: Math.min(searchOptions.maxResults ?? limits.maxSearchResults, limits.maxSearchResults),
      maxPages: limits.maxSearchPages,
      maxBytes: limits.maxSearchBytes,
      pageBytes,
      fetchPage: async (url) => {
        // The first page is fhir-kit-client's search; a next page is a GET of the link checked by search.ts.
        const call = (options: RequestOptions) =>
          url === undefined ? client.search({ resourceType, searchParams, options }) : client.request(url, { options });
        const { json, bytes } = await exchange(what, get(pageBytes, call), searchOptions.signal, deadline);
        checkType(json, 'Bundle', what);
        return { bundle: json as Bundle, bytes };
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
