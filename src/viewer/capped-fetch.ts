/**
 * Reads the authorization server's JSON documents (OpenID discovery, JWK Set): only from
 * allow-listed origins, without following redirects (a redirect could lead anywhere), within a
 * time limit, and never more than a byte cap, however large the answer claims or turns out to be.
 */
import type { OriginAllowList } from '../auth/index.js';
import { AppError } from '../errors.js';

export interface FetchLimits {
  readonly allowList: OriginAllowList;
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

const unavailable = (reason: string, cause?: unknown): AppError =>
  new AppError('SMART_AUTH_SERVER_UNAVAILABLE', reason, cause === undefined ? {} : { cause });

async function readCapped(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw unavailable(`the authorization server's answer is larger than ${maxBytes} bytes (SMART_FETCH_MAX_BYTES)`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/**
 * GETs a JSON document.
 *
 * @param url - absolute URL; refused unless on the allow-list
 * @param limits - allow-list, timeout, byte cap
 * @throws AppError `SMART_AUTH_SERVER_UNAVAILABLE` for a URL off the list, a redirect, an error
 *   status, a timeout, an oversized or non-JSON answer (the message names the origin at most)
 */
export async function fetchJson(url: string, limits: FetchLimits): Promise<unknown> {
  if (!limits.allowList.isAllowed(url)) throw unavailable('the authorization server names a URL that is not on the allow-list (SMART_AUTH_ALLOWLIST)');
  const origin = new URL(url).origin;
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'manual', headers: { accept: 'application/json' }, signal: AbortSignal.timeout(limits.timeoutMs) });
  } catch (err) {
    throw unavailable(`${origin} could not be reached or did not answer in time`, err);
  }
  if (res.status !== 200 || res.body === null) {
    await res.body?.cancel();
    throw unavailable(`${origin} answered HTTP ${res.status}${res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : ''}`);
  }
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > limits.maxBytes) {
    await res.body.cancel();
    throw unavailable(`the authorization server's answer is larger than ${limits.maxBytes} bytes (SMART_FETCH_MAX_BYTES)`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await readCapped(res.body, limits.maxBytes);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw unavailable(`${origin} did not answer in time`, err);
  }
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch {
    throw unavailable(`${origin} answered with something that is not JSON`);
  }
}
