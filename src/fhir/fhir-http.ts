/**
 * The FHIR layer's HTTP exchange: the global fetch with redirects refused and every response
 * body read under a byte cap, aborted the moment the cap is crossed.
 *
 * Why the reader does not let fhir-kit-client make the request (it did until this module):
 * - fhir-kit-client's HttpClient reads every answer with `response.text()`, so a 200 MiB body
 *   from an allow-listed server was read whole before anything could look at its size. No
 *   option of its `Client` reaches that read.
 * - Its fetch is the global one. Node 20's `Request` does keep an undici `dispatcher` passed
 *   through `requestOptions`, and a dispatcher could count bytes; but it counts them on the
 *   wire, before content decoding (a 4 MiB gzip body can inflate to gigabytes inside
 *   `response.text()`), and building one needs undici internals Node does not export. Wrapping
 *   the global `fetch` would change it for every module of the process, not just this client.
 * - Redirect refusal alone could be passed through (`redirect: 'manual'`), but it would still
 *   read the 3xx body whole.
 * What fhir-kit-client still offered the reader (URL building for read, vread and search) is a
 * few lines here, on ids and type names references.ts has already checked. So the reader and
 * write-back both use this module, and count bytes after content decoding, which is what
 * reaches memory.
 */
import { AppError } from '../errors.js';
import { fhirStatusToAppError, type FhirFailureContext } from './fhir-errors.js';

/** The FHIR JSON media type (R4). */
export const FHIR_JSON = 'application/fhir+json';

/**
 * Reads a response body chunk by chunk and stops as soon as it passes `maxBytes`, cancelling
 * the stream (so the connection is dropped rather than drained). A declared Content-Length
 * above the cap fails before any byte is read; a smaller one is not trusted.
 *
 * @param response - a fetch Response whose body has not been touched
 * @param maxBytes - most bytes to accept (after content decoding)
 * @param tooLarge - the error to throw when the cap is crossed
 * @returns The body (empty when there is none).
 * @throws what `tooLarge` returns; stream errors (abort, reset) propagate as they are
 */
export async function readBodyCapped(response: Response, maxBytes: number, tooLarge: () => Error): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (response.body === null) return new Uint8Array(0);
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) throw tooLarge();
      chunks.push(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    throw err;
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/**
 * Parses a JSON body; an empty body is `undefined` (the caller's type check then refuses it).
 *
 * @throws AppError UPSTREAM_FAILED for a body that is not JSON
 */
export function parseJsonBody(body: Uint8Array, what: string): unknown {
  if (body.byteLength === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(body)) as unknown;
  } catch {
    throw new AppError('UPSTREAM_FAILED', `The FHIR server answered ${what} with a body that is not JSON`, { cause: new Error('not JSON') });
  }
}

/** The byte-cap error for a FHIR answer (no URL, no ids: messages reach the caller). */
export function fhirTooLarge(what: string, maxBytes: number): AppError {
  return new AppError('UPSTREAM_FAILED', `The FHIR server's answer to ${what} exceeds the limit of ${maxBytes} bytes`, {
    cause: new Error('response too large'),
  });
}

/** One GET of {@link getFhirJson}. */
export interface FhirGet {
  /** Absolute URL, already checked to be on the server. */
  readonly url: string;
  /** The interaction, for messages, e.g. `read Patient` (never ids). */
  readonly what: string;
  /** Accept and, when there is a token, Authorization. */
  readonly headers: Readonly<Record<string, string>>;
  /** Ends the exchange, body included (timeouts and the caller's cancellation). */
  readonly signal: AbortSignal;
  readonly maxBytes: number;
}

/**
 * GETs one FHIR JSON answer. A 3xx is never followed: nothing is sent to its Location, and it
 * fails as `UPSTREAM_FAILED` saying the redirect was refused (the bearer token is the EHR
 * user's, and the allow-list names the server, not wherever it points).
 *
 * @returns The parsed JSON of a 2xx answer (`undefined` for an empty body), and the body's size.
 * @throws AppError for a 3xx, a non-2xx status (see {@link fhirStatusToAppError}), a body over
 *   `maxBytes` or a body that is not JSON; fetch failures (abort, timeout, network) propagate
 *   unmapped for the caller, which knows which of its signals fired.
 */
export async function getFhirJson(get: FhirGet, ctx: FhirFailureContext): Promise<{ readonly json: unknown; readonly bytes: number }> {
  const response = await fetch(get.url, { method: 'GET', headers: get.headers, redirect: 'manual', signal: get.signal });
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw fhirStatusToAppError(response.status, get.what, ctx);
  }
  const body = await readBodyCapped(response, get.maxBytes, () => fhirTooLarge(get.what, get.maxBytes));
  return { json: parseJsonBody(body, get.what), bytes: body.byteLength };
}
