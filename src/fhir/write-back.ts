/**
 * Write-back: POSTs a transaction Bundle of preliminary AI results to a configured FHIR server.
 *
 * A transaction is one POST to the server base, made by fhir-kit-client under the guard of
 * fhir-http.ts: a 3xx is refused, never followed (it could carry the service's own token
 * elsewhere), and is not retried; the answer is read under a byte cap, and the attempt under a
 * time limit. `Prefer: return=minimal` asks the server not to echo the resources back: only each
 * entry's status and location are needed.
 * The bearer token is the service's own (WRITEBACK_BEARER_TOKEN), never a CDS client's; it is
 * used here only, and no error message or log line contains it.
 *
 * Idempotency is the Bundle's job (conditional creates keyed on deterministic ids, see
 * src/reports/result-bundle.ts), so a failed attempt can simply be tried again.
 */
import type { Bundle } from 'fhir/r4.js';
import { Client, type FhirResource, type RequestOptions } from 'fhir-kit-client';
import { AppError } from '../errors.js';
import { createFhirKitClient, FHIR_JSON, fhirEncoded, fhirTooLarge, guardedCall, refusalOf } from './fhir-http.js';
import { parseFhirBase } from './references.js';

/** Options of {@link createFhirWriter}. */
export interface FhirWriterOptions {
  /** FHIR server base; the caller has checked it against the allow-list. */
  readonly baseUrl: string;
  /** The service's own token for that server, when it needs one. */
  readonly bearerToken?: string | undefined;
  /** Time limit for one attempt, body included. */
  readonly timeoutMs: number;
  /** Most bytes of the server's answer (default 4 MiB). */
  readonly maxResponseBytes?: number | undefined;
  /** Attempts for transient failures (network, timeout, 5xx, 429); default 2. */
  readonly attempts?: number | undefined;
  /** Pause between attempts; default 250 ms. */
  readonly retryDelayMs?: number | undefined;
}

/** What the server did with each entry. */
export interface WriteOutcome {
  /** `Type/id` as the server stored it, with the entry's HTTP status (201 created, 200 matched). */
  readonly entries: readonly { readonly status: string; readonly location: string | undefined }[];
  readonly attempts: number;
}

/** Writes transaction Bundles to one FHIR server. */
export interface FhirWriter {
  /**
   * Sends one transaction Bundle.
   *
   * @param bundle - a `transaction` Bundle
   * @throws AppError `UPSTREAM_FAILED` when every attempt failed or the server refused the Bundle
   */
  transaction(bundle: Bundle): Promise<WriteOutcome>;
}

class Transient extends Error {}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : 'error';
}

/** Default of {@link FhirWriterOptions.maxResponseBytes}: a transaction-response is small, even one that echoes resources. */
export const DEFAULT_WRITE_BACK_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const WHAT = 'the write-back transaction';

/** The status and parsed body fhir-kit-client attaches to the error of a non-2xx or unparsable answer. */
function answerOf(err: unknown): { readonly status: number; readonly data: unknown } | undefined {
  if (typeof err !== 'object' || err === null || !('response' in err)) return undefined;
  const response: unknown = err.response;
  if (typeof response !== 'object' || response === null || !('status' in response) || typeof response.status !== 'number') return undefined;
  return { status: response.status, data: 'data' in response ? response.data : undefined };
}

function resourceTypeOf(data: unknown): string {
  return typeof data === 'object' && data !== null && 'resourceType' in data && typeof data.resourceType === 'string' ? data.resourceType : 'no resource';
}

/**
 * Turns what an attempt rejected with into the error to throw: a refusal by the guard or a
 * refused Bundle is final (an AppError), a failure that another attempt may not meet is Transient.
 */
function attemptFailure(err: unknown, maxBytes: number): Error {
  const refusal = refusalOf(err);
  if (refusal?.kind === 'redirect') {
    return new AppError('UPSTREAM_FAILED', `the FHIR server answered ${WHAT} with a redirect (HTTP ${refusal.status}), which was refused`);
  }
  // The byte cap and the encoding: another attempt would read the same.
  if (refusal?.kind === 'too-large') return fhirTooLarge(WHAT, maxBytes);
  if (refusal?.kind === 'encoded') return fhirEncoded(WHAT);
  const answer = answerOf(err);
  if (answer !== undefined && (answer.status >= 500 || answer.status === 429)) return new Transient(`the FHIR server answered ${answer.status}`);
  if (answer !== undefined) {
    const got = typeof answer.data === 'string' ? 'no resource' : resourceTypeOf(answer.data);
    return new AppError('UPSTREAM_FAILED', `the FHIR server refused ${WHAT} (HTTP ${answer.status}, ${got})`);
  }
  // Network failure, timeout, a body that broke off. Only the error's name: messages of fetch
  // failures can echo the request.
  return new Transient(`the FHIR server could not be reached or its answer broke off (${errorName(err)})`);
}

/**
 * Creates a writer for one server.
 *
 * @param options - base URL, token, timeout, retries
 * @throws AppError `OUTBOUND_NOT_ALLOWED` when `baseUrl` is not a plain absolute http(s) URL
 */
export function createFhirWriter(options: FhirWriterOptions): FhirWriter {
  const base = parseFhirBase(options.baseUrl).href;
  const attempts = Math.max(1, options.attempts ?? 2);
  const delayMs = options.retryDelayMs ?? 250;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_WRITE_BACK_MAX_RESPONSE_BYTES;
  if (!(options.timeoutMs > 0) || !(maxBytes > 0)) throw new RangeError('timeoutMs and maxResponseBytes must be positive');
  const token = options.bearerToken !== undefined && options.bearerToken !== '' ? options.bearerToken : undefined;
  const client = createFhirKitClient(base, token);
  const headers = { 'content-type': FHIR_JSON, prefer: 'return=minimal' };

  async function attempt(body: string): Promise<WriteOutcome['entries']> {
    let json: unknown;
    try {
      // To the base URL itself (fhir-kit-client's transaction() would POST to `base/`).
      const call = (requestOptions: RequestOptions) => client.request(base, { method: 'POST', body, options: requestOptions });
      ({ value: json } = await guardedCall({ call, signal: AbortSignal.timeout(options.timeoutMs), maxBytes, headers }));
    } catch (err) {
      throw attemptFailure(err, maxBytes);
    }
    const bundle = json as Bundle | undefined;
    if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'transaction-response') {
      const status = Client.httpFor(json as FhirResource).response?.status ?? 200;
      throw new AppError('UPSTREAM_FAILED', `the FHIR server refused ${WHAT} (HTTP ${status}, ${resourceTypeOf(json)})`);
    }
    const entries = (bundle.entry ?? []).map((e) => ({ status: e.response?.status ?? '', location: e.response?.location }));
    const failed = entries.find((e) => !/^2\d\d/.test(e.status));
    if (failed !== undefined) throw new AppError('UPSTREAM_FAILED', `the FHIR server answered an entry of ${WHAT} with ${failed.status}`);
    return entries;
  }

  return {
    async transaction(bundle) {
      if (bundle.type !== 'transaction') throw new TypeError('write-back needs a transaction Bundle');
      const body = JSON.stringify(bundle);
      let last: Error | undefined;
      for (let n = 1; n <= attempts; n += 1) {
        try {
          return { entries: await attempt(body), attempts: n };
        } catch (err) {
          if (!(err instanceof Transient)) throw err;
          last = err;
          if (n < attempts) await new Promise((resolve) => setTimeout(resolve, delayMs));
        }
      }
      throw new AppError('UPSTREAM_FAILED', `write-back failed after ${attempts} attempt(s): ${last?.message ?? 'unknown'}`);
    },
  };
}
