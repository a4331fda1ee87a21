/**
 * Write-back: POSTs a transaction Bundle of preliminary AI results to a configured FHIR server.
 *
 * A transaction is one POST over fetch. A 3xx is refused, never followed (it could carry the
 * service's own token elsewhere), and is not retried; the answer is read under a byte cap
 * (fhir-http.ts) and the attempt under a time limit. `Prefer: return=minimal` asks the server
 * not to echo the resources back: only each entry's status and location are needed.
 * The bearer token is the service's own (WRITEBACK_BEARER_TOKEN), never a CDS client's; it is
 * used here only, and no error message or log line contains it.
 *
 * Idempotency is the Bundle's job (conditional creates keyed on deterministic ids, see
 * src/reports/result-bundle.ts), so a failed attempt can simply be tried again.
 */
import type { Bundle } from 'fhir/r4.js';
import { AppError } from '../errors.js';
import { FHIR_JSON, fhirTooLarge, parseJsonBody, readBodyCapped } from './fhir-http.js';
import { parseFhirBase } from './references.js';

/** Options of {@link createFhirWriter}. */
export interface FhirWriterOptions {
  /** FHIR server base; the caller has checked it against the allow-list. */
  readonly baseUrl: string;
  /** The service's own token for that server, when it needs one. */
  readonly bearerToken?: string | undefined;
  /** Time limit for one attempt, body included. */
  readonly timeoutMs: number;
  /** Most bytes of the server's answer, after content decoding (default 4 MiB). */
  readonly maxResponseBytes?: number | undefined;
  /** Attempts for transient failures (network, timeout, 5xx, 429); default 2. */
  readonly attempts?: number | undefined;
  /** Pause between attempts; default 250 ms. */
  readonly retryDelayMs?: number | undefined;
  /** Injected for tests; default global fetch. */
  readonly fetch?: typeof fetch | undefined;
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
  const doFetch = options.fetch ?? fetch;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_WRITE_BACK_MAX_RESPONSE_BYTES;
  if (!(options.timeoutMs > 0) || !(maxBytes > 0)) throw new RangeError('timeoutMs and maxResponseBytes must be positive');
  const headers: Record<string, string> = { 'content-type': FHIR_JSON, accept: FHIR_JSON, prefer: 'return=minimal' };
  if (options.bearerToken !== undefined && options.bearerToken !== '') headers.authorization = `Bearer ${options.bearerToken}`;

  /** Sends the POST; a failure before an answer is transient. A redirect is refused, not retried. */
  async function send(body: string): Promise<Response> {
    let res: Response;
    try {
      res = await doFetch(base, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs) });
    } catch (err) {
      // Only the error's name: messages of fetch failures can echo the request.
      throw new Transient(`the FHIR server could not be reached (${errorName(err)})`);
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => undefined);
      throw new AppError('UPSTREAM_FAILED', `the FHIR server answered ${WHAT} with a redirect (HTTP ${res.status}), which was refused`);
    }
    return res;
  }

  /** The answer's JSON (undefined when it is not JSON), read under the byte cap. */
  async function answerOf(res: Response): Promise<unknown> {
    let bytes: Uint8Array;
    try {
      bytes = await readBodyCapped(res, maxBytes, () => fhirTooLarge(WHAT, maxBytes));
    } catch (err) {
      if (err instanceof AppError) throw err; // the byte cap: another attempt would read the same
      throw new Transient(`the FHIR server's answer broke off (${errorName(err)})`);
    }
    try {
      return parseJsonBody(bytes, WHAT);
    } catch {
      return undefined;
    }
  }

  async function attempt(body: string): Promise<WriteOutcome['entries']> {
    const res = await send(body);
    if (res.status >= 500 || res.status === 429) {
      await res.body?.cancel().catch(() => undefined);
      throw new Transient(`the FHIR server answered ${res.status}`);
    }
    const json = await answerOf(res);
    const bundle = json as Bundle | undefined;
    if (!res.ok || bundle?.resourceType !== 'Bundle' || bundle.type !== 'transaction-response') {
      const got = typeof (json as { resourceType?: unknown } | undefined)?.resourceType === 'string' ? (json as { resourceType: string }).resourceType : 'no resource';
      throw new AppError('UPSTREAM_FAILED', `the FHIR server refused ${WHAT} (HTTP ${res.status}, ${got})`);
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
