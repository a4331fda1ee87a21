/**
 * The FHIR layer's HTTP exchange: fhir-kit-client makes every request, and an undici dispatcher
 * passed through its request options guards the answer on its way in.
 *
 * fhir-kit-client builds `new Request(url, { ...requestOptions, ...perCallOptions })`, calls the
 * global `fetch(request)` and reads the answer whole with `response.text()`. Node's `Request`
 * keeps a `dispatcher` given in its init, and fetch hands the connection to it, so each call
 * passes a dispatcher (the shared undici Agent composed with {@link ExchangeGuard}) that sees the
 * status, headers and every body chunk before fetch does:
 * - a 3xx is refused as soon as its headers arrive: the connection is dropped, its body is not
 *   read, and nothing is sent to its Location (`redirect: 'manual'` keeps fetch from following);
 * - the request asks for `accept-encoding: identity` and an answer that is content-encoded
 *   anyway is refused, so the bytes the guard counts on the wire are the bytes that reach memory
 *   (a few KiB of gzip can inflate to gigabytes inside `response.text()`);
 * - a declared Content-Length above the cap is refused before any body byte, and the body is
 *   counted chunk by chunk: the chunk that crosses the cap aborts the exchange and drops the
 *   connection, so `response.text()` fails instead of reading on.
 * The guard records why it refused in the call's {@link ExchangeRecord}, and {@link guardedCall}
 * rethrows fetch's failure as an {@link ExchangeRefused} saying so: the abort reason itself does
 * not survive fetch reliably (fetch wraps it, and replaces an Error of another realm, such as a
 * test's vm context, by its string).
 */
import { Client, type RequestOptions } from 'fhir-kit-client';
import { Agent, type Dispatcher } from 'undici';
import { AppError } from '../errors.js';

/** The FHIR JSON media type (R4). */
export const FHIR_JSON = 'application/fhir+json';

/** Why the guard ended an exchange. */
export type Refusal =
  | { readonly kind: 'redirect'; readonly status: number }
  | { readonly kind: 'too-large'; readonly maxBytes: number }
  | { readonly kind: 'encoded' };

/** The abort reason of a guarded exchange (never carries the URL, headers or body). */
export class ExchangeRefused extends Error {
  constructor(readonly refusal: Refusal) {
    super(`FHIR answer refused (${refusal.kind})`);
    this.name = 'ExchangeRefused';
  }
}

/** The {@link Refusal} of an error thrown by {@link guardedCall} (or found in its cause chain), if any. */
export function refusalOf(err: unknown): Refusal | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    if (current instanceof ExchangeRefused) return current.refusal;
    current = 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

/** What the guard saw of one exchange. */
export interface ExchangeRecord {
  /** Bytes of the answer's body that the guard let through. */
  bytes: number;
  /** Why the guard ended the exchange, if it did. */
  refusal?: Refusal | undefined;
}

/** Every value of a header, each list split at commas (fetch joins repeated headers the same way). */
function headerValues(rawHeaders: readonly Buffer[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toString('latin1').toLowerCase() !== name) continue;
    values.push(...(rawHeaders[i + 1]?.toString('latin1') ?? '').split(',').map((v) => v.trim().toLowerCase()));
  }
  return values;
}

/**
 * Wraps fetch's dispatch handler: refuses redirects and encoded bodies when the headers arrive,
 * and counts body bytes, aborting the exchange (connection dropped) the moment `maxBytes` is
 * crossed. Every other callback is passed on unchanged.
 */
export class ExchangeGuard implements Dispatcher.DispatchHandlers {
  #abort: ((err?: Error) => void) | undefined;
  #refused = false;

  constructor(
    private readonly inner: Dispatcher.DispatchHandlers,
    private readonly maxBytes: number,
    private readonly record: ExchangeRecord,
  ) {}

  #refuse(refusal: Refusal): false {
    this.#refused = true;
    this.record.refusal = refusal;
    const err = new ExchangeRefused(refusal);
    if (this.#abort === undefined) throw err; // undici aborts the request with what a handler throws
    this.#abort(err);
    return false;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    this.inner.onConnect?.(abort);
  }

  onError(err: Error): void {
    this.inner.onError?.(err);
  }

  onUpgrade(statusCode: number, headers: Buffer[] | string[] | null, socket: Parameters<NonNullable<Dispatcher.DispatchHandlers['onUpgrade']>>[2]): void {
    this.inner.onUpgrade?.(statusCode, headers, socket);
  }

  onResponseStarted(): void {
    this.inner.onResponseStarted?.();
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode >= 300 && statusCode < 400) return this.#refuse({ kind: 'redirect', status: statusCode });
    if (statusCode >= 200) {
      if (headerValues(headers, 'content-encoding').some((c) => c !== '' && c !== 'identity')) return this.#refuse({ kind: 'encoded' });
      if (headerValues(headers, 'content-length').some((v) => Number(v) > this.maxBytes)) return this.#refuse({ kind: 'too-large', maxBytes: this.maxBytes });
    }
    return this.inner.onHeaders?.(statusCode, headers, resume, statusText) ?? true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#refused) return false;
    this.record.bytes += chunk.byteLength;
    if (this.record.bytes > this.maxBytes) return this.#refuse({ kind: 'too-large', maxBytes: this.maxBytes });
    return this.inner.onData?.(chunk) ?? true;
  }

  onComplete(trailers: string[] | null): void {
    this.inner.onComplete?.(trailers);
  }

  onBodySent(chunkSize: number, totalBytesSent: number): void {
    this.inner.onBodySent?.(chunkSize, totalBytesSent);
  }
}

/** One connection pool for every FHIR exchange of the process (created on first use). */
let sharedAgent: Agent | undefined;

/**
 * A dispatcher for one exchange: the shared Agent, with every answer passing {@link ExchangeGuard}.
 * Cheap (a wrapper around the shared pool), so each call gets its own cap and record.
 */
export function guardedDispatcher(maxBytes: number, record: ExchangeRecord): Dispatcher {
  sharedAgent ??= new Agent();
  return sharedAgent.compose((dispatch) => (opts, handler) => dispatch(opts, new ExchangeGuard(handler, maxBytes, record)));
}

/**
 * A fhir-kit-client Client for one server: no redirect is followed, identity encoding is asked
 * for, and the token (when there is one) is its bearer token.
 */
export function createFhirKitClient(baseUrl: string, bearerToken: string | undefined): Client {
  return new Client({
    baseUrl,
    customHeaders: { accept: FHIR_JSON, 'accept-encoding': 'identity' },
    requestOptions: { redirect: 'manual' },
    ...(bearerToken === undefined ? {} : { bearerToken }),
  });
}

/** One guarded fhir-kit-client call. */
export interface GuardedCall<T> {
  /** Makes the request with the options it is given (they carry the dispatcher and the signal). */
  readonly call: (options: RequestOptions) => Promise<T>;
  /** Ends the exchange, body included (timeouts and the caller's cancellation). */
  readonly signal: AbortSignal;
  /** Most body bytes to accept. */
  readonly maxBytes: number;
  /** Extra request headers (merged over the client's). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * Runs one fhir-kit-client call with the guard in place.
 *
 * @returns What fhir-kit-client returned, and the size of the answer's body.
 * @throws ExchangeRefused when the guard refused the answer (see {@link refusalOf}); else
 *   whatever fhir-kit-client or fetch rejected with
 */
export async function guardedCall<T>(guarded: GuardedCall<T>): Promise<{ readonly value: T; readonly bytes: number }> {
  const record: ExchangeRecord = { bytes: 0 };
  const options: RequestOptions = {
    redirect: 'manual',
    signal: guarded.signal,
    // npm undici's Dispatcher, where the type names Node's bundled one: Node's fetch only calls
    // its dispatch() (same handler API in undici 6), it never checks the class.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
    dispatcher: guardedDispatcher(guarded.maxBytes, record),
    ...(guarded.headers === undefined ? {} : { headers: { ...guarded.headers } }),
  };
  try {
    const value = await guarded.call(options);
    return { value, bytes: record.bytes };
  } catch (err) {
    if (record.refusal !== undefined) throw new ExchangeRefused(record.refusal);
    throw err;
  }
}

/** The byte-cap error for a FHIR answer (no URL, no ids: messages reach the caller). */
export function fhirTooLarge(what: string, maxBytes: number): AppError {
  return new AppError('UPSTREAM_FAILED', `The FHIR server's answer to ${what} exceeds the limit of ${maxBytes} bytes`, {
    cause: new Error('response too large'),
  });
}

/** The error for an answer content-encoded although identity was asked for. */
export function fhirEncoded(what: string): AppError {
  return new AppError('UPSTREAM_FAILED', `The FHIR server answered ${what} with a content-encoded body, which was refused (identity was asked for)`, {
    cause: new Error('content-encoded response'),
  });
}
