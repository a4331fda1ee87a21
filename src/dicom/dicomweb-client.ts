/**
 * A DICOMweb client (PS3.18): QIDO-RS searches and WADO-RS retrieves over the global fetch.
 * Every call checks the origin allow-list first, waits for one of the origin's request slots
 * (at most `maxConcurrentPerOrigin` in flight), runs under a per-attempt timeout and a
 * response size limit, and retries only what is likely transient (5xx, connection failures).
 * Redirects are refused, never followed. Bodies are read as they stream in and the read stops
 * the moment a limit is crossed: multipart answers are parsed part by part, DICOM JSON (QIDO-RS,
 * metadata) is decoded under its own, smaller limit and time limit.
 * STOW-RS stores results back (IHE AI Results) under the same rules, with a request body cap.
 * Error messages name the operation, origin and status: never credentials, UIDs or bodies.
 */
import { AppError } from '../errors.js';
import { streamMultipart } from './multipart-stream.js';
import type { ByteBudget } from './multipart-stream.js';
import { createOriginLimiter } from './origin-limiter.js';
import { assertAllowed, authorizationHeader, checkedRoot, checkedUid, readBodyLimited, readTextLimited } from './outbound.js';
import type { AllowList, PacsAuth } from './outbound.js';
import { parseStowResponse, stowRequest } from './stow.js';
import type { StowResult } from './stow.js';
import type { DicomJsonDataset } from './types.js';

/** Client configuration; one client per PACS credential set. */
export interface DicomWebClientOptions {
  /**
   * Origins the client may call (e.g. `['https://pacs.example.org']`), or an allow-list object
   * judging whole URLs. Every request URL is checked before it is sent; anything else is refused.
   */
  readonly allowList: AllowList;
  readonly auth: PacsAuth;
  /** Limit for one attempt, connection, headers and body together. Default 4 s (see {@link DICOMWEB_CLIENT_DEFAULTS}). */
  readonly timeoutMs?: number;
  /** Limit for one QIDO-RS or metadata (DICOM JSON) attempt; never more than `timeoutMs`. Default 2 s. */
  readonly jsonTimeoutMs?: number;
  /** Most bytes one response body may have (after content decoding). Default 64 MiB. */
  readonly maxResponseBytes?: number;
  /** Most bytes of one QIDO-RS or metadata (DICOM JSON) answer; never more than `maxResponseBytes`. Default 4 MiB. */
  readonly maxJsonBytes?: number;
  /** Extra attempts after a 5xx or connection failure. Default 2. Timeouts are not retried. */
  readonly retries?: number;
  /** First backoff delay; doubles per retry, with up to 25 % jitter. Default 200 ms. */
  readonly retryBaseDelayMs?: number;
  /**
   * transfer-syntax parameter of WADO-RS instance requests. Default `*` (as stored). Asking for
   * `1.2.840.10008.1.2.1` makes a transcoding PACS send compressed images uncompressed.
   */
  readonly acceptTransferSyntax?: string;
  /** Most requests in flight at once per origin (scheme, host, port), across all calls of this client. Default 4. */
  readonly maxConcurrentPerOrigin?: number;
  /** Most bytes of one STOW-RS request body (all instances together). Default 64 MiB. */
  readonly maxStoreBytes?: number;
}

/** Search filters, e.g. `{ Modality: 'CT', includefield: '00200013' }`. */
export type QidoQuery = Readonly<Record<string, string>>;

/** The DICOMweb operations the analysis layer uses. `root` is the study Endpoint's address. */
export interface DicomWebClient {
  /** QIDO-RS `GET {root}/studies/{study}/series`. */
  searchSeries(root: string, studyUid: string, query?: QidoQuery): Promise<DicomJsonDataset[]>;
  /** QIDO-RS `GET {root}/studies/{study}/series/{series}/instances`. */
  searchInstances(root: string, studyUid: string, seriesUid: string, query?: QidoQuery): Promise<DicomJsonDataset[]>;
  /** WADO-RS `GET {root}/studies/{study}/series/{series}/metadata` (pixel data as BulkDataURI). */
  retrieveSeriesMetadata(root: string, studyUid: string, seriesUid: string): Promise<DicomJsonDataset[]>;
  /**
   * WADO-RS `GET {root}/studies/{study}/series/{series}/instances/{sop}`: one Part 10 file.
   * `budget`, when given, is charged with the bytes received (a per-study cap across instances).
   */
  retrieveInstance(root: string, studyUid: string, seriesUid: string, sopUid: string, budget?: ByteBudget): Promise<Uint8Array>;
  /** WADO-RS `GET {root}/studies/{study}/series/{series}`: every instance of the series. */
  retrieveSeriesInstances(root: string, studyUid: string, seriesUid: string, budget?: ByteBudget): Promise<Uint8Array[]>;
  /** WADO-RS `GET {root}/studies/{study}`: every instance of the study. */
  retrieveStudyInstances(root: string, studyUid: string, budget?: ByteBudget): Promise<Uint8Array[]>;
  /**
   * STOW-RS `POST {root}/studies`: stores Part 10 instances (e.g. a SEG and an SR). Retried like
   * a read on 5xx and connection failures: instances with deterministic UIDs are stored once.
   * The answer lists what was stored and what failed; a 4xx answer (409: nothing stored) throws.
   */
  storeInstances(root: string, parts: readonly Uint8Array[]): Promise<StowResult>;
}

/** Every option but the allow-list and credentials, resolved. */
type ClientSettings = Required<Omit<DicomWebClientOptions, 'allowList' | 'auth'>>;

/**
 * Defaults of {@link DicomWebClientOptions}, sized for one CDS hook, which loads one image per
 * model:
 * - 64 MiB per response holds the largest single radiographs (a 4096 × 5120 16-bit mammogram is
 *   40 MiB uncompressed; a 3000 × 3000 chest radiograph 17 MiB). A multi-instance retrieve is
 *   bounded by this too, and by the per-study {@link ByteBudget} its caller passes.
 * - 4 s per WADO-RS attempt moves 64 MiB at about 130 Mbit/s; a typical compressed radiograph
 *   (5–20 MiB) needs well under a second on a hospital LAN.
 * - 4 MiB of DICOM JSON lists about 4000 instances with the usual QIDO-RS attributes (~1 KiB
 *   each); 2 s is generous for a PACS database query.
 */
export const DICOMWEB_CLIENT_DEFAULTS: Readonly<ClientSettings> = Object.freeze({
  timeoutMs: 4000,
  jsonTimeoutMs: 2000,
  maxResponseBytes: 64 * 1024 * 1024,
  maxJsonBytes: 4 * 1024 * 1024,
  retries: 2,
  retryBaseDelayMs: 200,
  acceptTransferSyntax: '*',
  maxConcurrentPerOrigin: 4,
  maxStoreBytes: 64 * 1024 * 1024,
});
const DEFAULTS = DICOMWEB_CLIENT_DEFAULTS;
const RETRYABLE_STATUS: ReadonlySet<number> = new Set([500, 502, 503, 504]);

type Attempt<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly message: string; readonly retryable: boolean; readonly cause?: unknown };

/** One attempt's request: what, where, and under which time limit. */
interface AttemptRequest {
  readonly operation: string;
  readonly origin: string;
  readonly url: string;
  readonly accept: string;
  readonly timeoutMs: number;
  /** A POST body (STOW-RS) and its Content-Type; absent for a GET. */
  readonly body?: { readonly bytes: Uint8Array; readonly contentType: string } | undefined;
}

/** Reads a successful response; runs while the origin slot is held and under the attempt's timeout. */
type Consume<T> = (response: Response) => Promise<T>;

/**
 * Creates a client. Options are validated once here.
 *
 * @throws RangeError for a non-positive timeout/limit, a negative retry count or a concurrency cap below 1
 */
export function createDicomWebClient(options: DicomWebClientOptions): DicomWebClient {
  const config = resolveOptions(options);
  const { jsonTimeoutMs, maxJsonBytes } = config;
  // createOriginLimiter checks maxConcurrentPerOrigin (an integer ≥ 1).
  const limiter = createOriginLimiter(config.maxConcurrentPerOrigin);
  const authorization = authorizationHeader(options.auth);
  const allowList = options.allowList;
  const instanceAccept = `multipart/related; type="application/dicom"; transfer-syntax=${config.acceptTransferSyntax}`;

  async function get<T>(operation: string, url: string, accept: string, timeoutMs: number, consume: Consume<T>, body?: AttemptRequest['body']): Promise<T> {
    const origin = new URL(url).origin;
    const attempts = config.retries + 1;
    for (let n = 1; ; n++) {
      const result = await limiter.run(origin, () => attempt({ operation, origin, url, accept, timeoutMs, body }, consume));
      if (result.ok) return result.value;
      if (!result.retryable || n >= attempts) {
        const suffix = n > 1 ? ` (after ${n} attempts)` : '';
        throw new AppError('UPSTREAM_FAILED', `${result.message}${suffix}.`, { cause: result.cause });
      }
      // The slot is released while backing off, so other calls to the origin are not held up.
      const delay = config.retryBaseDelayMs * 2 ** (n - 1) * (1 + Math.random() * 0.25);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  async function attempt<T>(request: AttemptRequest, consume: Consume<T>): Promise<Attempt<T>> {
    const { operation, origin, url, accept, timeoutMs, body } = request;
    const headers: Record<string, string> = { accept };
    if (authorization !== undefined) headers['authorization'] = authorization;
    if (body !== undefined) headers['content-type'] = body.contentType;
    const where = `${operation} at ${origin}`;
    try {
      // Redirects are not followed: a Location elsewhere must not receive the PACS credentials (or a POST body).
      const init = body === undefined ? {} : { method: 'POST', body: body.bytes };
      const response = await fetch(url, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel().catch(() => undefined);
        return { ok: false, message: `The PACS answered ${statusLine(response)} (a redirect, not followed) to ${where}`, retryable: false };
      }
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        return { ok: false, message: `The PACS answered ${statusLine(response)} to ${where}`, retryable: RETRYABLE_STATUS.has(response.status) };
      }
      return { ok: true, value: await consume(response) };
    } catch (err) {
      if (err instanceof AppError) throw err; // DICOM_TOO_LARGE, malformed multipart: not transient, not wrapped
      if (errorName(err) === 'TimeoutError') {
        return { ok: false, message: `The PACS did not complete ${where} within ${timeoutMs} ms`, retryable: false, cause: err };
      }
      return { ok: false, message: `The PACS could not be reached for ${where} (${networkCode(err)})`, retryable: true, cause: err };
    }
  }

  const readJsonText: Consume<string> = async (response) => (response.status === 204 ? '' : readTextLimited(response, maxJsonBytes));

  async function json(operation: string, url: string): Promise<DicomJsonDataset[]> {
    const text = await get(operation, url, 'application/dicom+json', jsonTimeoutMs, readJsonText);
    return text === '' ? [] : parseDicomJsonArray(operation, text);
  }

  async function instances(operation: string, url: string, budget: ByteBudget | undefined): Promise<Uint8Array[]> {
    return get(operation, url, instanceAccept, config.timeoutMs, (response) => readInstanceParts(response, operation, config.maxResponseBytes, budget));
  }

  /** `{root}/studies/{uid}/…` with every UID checked, then the allow-list check on the whole URL. */
  function url(root: string, segments: readonly (readonly [string, string, string])[], tail = '', query?: QidoQuery): string {
    let out = checkedRoot(root);
    for (const [collection, uid, name] of segments) out += `/${collection}/${checkedUid(uid, name)}`;
    out += tail;
    const search = new URLSearchParams(query ?? {}).toString();
    if (search !== '') out += `?${search}`;
    assertAllowed(out, allowList);
    return out;
  }

  const study = (uid: string): readonly [string, string, string] => ['studies', uid, 'Study Instance UID'];
  const series = (uid: string): readonly [string, string, string] => ['series', uid, 'Series Instance UID'];

  // async everywhere: a refused URL (allow-list, bad UID) rejects the promise, never throws synchronously.
  return {
    searchSeries: async (root, studyUid, query) => json('QIDO-RS search series', url(root, [study(studyUid)], '/series', query)),
    searchInstances: async (root, studyUid, seriesUid, query) =>
      json('QIDO-RS search instances', url(root, [study(studyUid), series(seriesUid)], '/instances', query)),
    retrieveSeriesMetadata: async (root, studyUid, seriesUid) =>
      json('WADO-RS retrieve series metadata', url(root, [study(studyUid), series(seriesUid)], '/metadata')),
    retrieveInstance: async (root, studyUid, seriesUid, sopUid, budget) => {
      const target = url(root, [study(studyUid), series(seriesUid), ['instances', sopUid, 'SOP Instance UID']]);
      const parts = await instances('WADO-RS retrieve instance', target, budget);
      if (parts.length !== 1 || parts[0] === undefined) {
        throw new AppError('UPSTREAM_FAILED', `WADO-RS retrieve instance returned ${parts.length} parts where exactly 1 was expected.`);
      }
      return parts[0];
    },
    retrieveSeriesInstances: async (root, studyUid, seriesUid, budget) =>
      instances('WADO-RS retrieve series', url(root, [study(studyUid), series(seriesUid)]), budget),
    retrieveStudyInstances: async (root, studyUid, budget) => instances('WADO-RS retrieve study', url(root, [study(studyUid)]), budget),
    storeInstances: async (root, parts) => // the URL (allow-list) is checked before the body is built
      parseStowResponse(await get('STOW-RS store instances', url(root, [], '/studies'), 'application/dicom+json', config.timeoutMs, readJsonText, stowRequest(parts, config.maxStoreBytes))),
  };
}

/** Options over the defaults, checked; the JSON limits never above the general ones. */
function resolveOptions(options: DicomWebClientOptions): ClientSettings {
  const config = { ...DEFAULTS, ...stripUndefined(options) };
  const limitsOk = config.timeoutMs > 0 && config.jsonTimeoutMs > 0 && config.maxResponseBytes > 0 && config.maxJsonBytes > 0 && config.maxStoreBytes > 0;
  if (!limitsOk || !Number.isInteger(config.retries) || config.retries < 0 || !(config.retryBaseDelayMs >= 0)) {
    throw new RangeError('DICOMweb client options: timeouts and byte limits must be > 0, retries an integer ≥ 0, retryBaseDelayMs ≥ 0.');
  }
  return {
    ...config,
    jsonTimeoutMs: Math.min(config.jsonTimeoutMs, config.timeoutMs),
    maxJsonBytes: Math.min(config.maxJsonBytes, config.maxResponseBytes),
  };
}

/** A QIDO-RS or metadata body: a JSON array of DICOM JSON data sets, else UPSTREAM_FAILED. */
function parseDicomJsonArray(operation: string, text: string): DicomJsonDataset[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new AppError('UPSTREAM_FAILED', `${operation} returned a body that is not JSON.`, { cause: err });
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item))) {
    throw new AppError('UPSTREAM_FAILED', `${operation} returned JSON that is not an array of DICOM JSON data sets.`);
  }
  return parsed as DicomJsonDataset[];
}

/** The instances of a WADO-RS answer, read under the byte limit and the study's budget. */
async function readInstanceParts(response: Response, operation: string, maxBytes: number, budget: ByteBudget | undefined): Promise<Uint8Array[]> {
  const contentType = response.headers.get('content-type') ?? '';
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase();
  // Some servers answer a single instance as a bare application/dicom body; accept that too.
  if (mediaType === 'application/dicom') {
    const body = await readBodyLimited(response, maxBytes);
    budget?.charge(body.byteLength);
    return [body];
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new AppError('DICOM_TOO_LARGE', `The PACS response exceeds the limit of ${maxBytes} bytes.`);
  }
  const parts: Uint8Array[] = [];
  if (response.body === null) throw new AppError('UPSTREAM_FAILED', `${operation} returned an empty multipart body.`);
  for await (const part of streamMultipart(response.body, contentType, { maxBytes, budget })) {
    if (part.mediaType !== undefined && part.mediaType !== 'application/dicom') {
      throw new AppError('UPSTREAM_FAILED', `${operation} returned a ${part.mediaType} part where application/dicom was expected.`);
    }
    parts.push(part.body);
  }
  return parts;
}

/** `401 Unauthorized`; the reason phrase is the server's, trimmed to printable ASCII. */
function statusLine(response: Response): string {
  const reason = response.statusText.replace(/[^\x20-\x7e]/g, '').slice(0, 60).trim();
  return reason === '' ? String(response.status) : `${response.status} ${reason}`;
}

function errorName(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'name' in err && typeof err.name === 'string' ? err.name : undefined;
}

/** `ECONNREFUSED` and the like from undici's `fetch failed` cause, else a generic label. */
function networkCode(err: unknown): string {
  const cause = typeof err === 'object' && err !== null && 'cause' in err ? err.cause : undefined;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? cause.code : undefined;
  return typeof code === 'string' && /^[A-Z_]{2,40}$/.test(code) ? code : 'connection failed';
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
