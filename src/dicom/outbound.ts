/**
 * Guards for calls to a PACS: origin allow-list, credentials, bounded body reads. Kept apart
 * from the client so each rule is small and tested on its own.
 */
import { AppError } from '../errors.js';

/** How to authenticate to the PACS. Separate from the EHR's FHIR token, which never goes to a PACS. */
export type PacsAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'bearer'; readonly token: string };

/**
 * Judges a full request URL. The service passes src/auth's origin/path-prefix allow-list, the
 * same mechanism that guards the FHIR server, so both outbound paths follow one rule.
 */
export interface UrlAllowList {
  isAllowed(url: string): boolean;
}

/** The allow-list a DICOMweb client checks every request URL against. */
export type AllowList = UrlAllowList;

/**
 * Validates a DICOMweb root (absolute http(s), no embedded credentials, no query) and returns
 * it without a trailing slash.
 *
 * @throws AppError OUTBOUND_NOT_ALLOWED
 */
export function checkedRoot(root: string): string {
  const url = parseHttpUrl(root);
  if (url === undefined) throw new AppError('OUTBOUND_NOT_ALLOWED', 'The DICOMweb root is not an absolute http(s) URL.');
  if (url.username !== '' || url.password !== '' || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(root.trim())) {
    throw new AppError('OUTBOUND_NOT_ALLOWED', 'The DICOMweb root must not embed credentials; configure PACS auth instead.');
  }
  if (url.search !== '' || url.hash !== '') {
    throw new AppError('OUTBOUND_NOT_ALLOWED', 'The DICOMweb root must not carry a query or fragment.');
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * Throws unless the allow-list admits `url`. Called for every request URL before it is sent.
 *
 * @throws AppError OUTBOUND_NOT_ALLOWED naming the origin only (paths can carry UIDs)
 */
export function assertAllowed(url: string, allowList: AllowList): void {
  if (!allowList.isAllowed(url)) {
    const origin = parseHttpUrl(url)?.origin ?? 'of this URL';
    throw new AppError('OUTBOUND_NOT_ALLOWED', `The DICOMweb origin ${origin} is not on the allow-list.`);
  }
}

/** The Authorization header value for the PACS, or undefined for `none`. */
export function authorizationHeader(auth: PacsAuth): string | undefined {
  switch (auth.kind) {
    case 'none':
      return undefined;
    case 'basic':
      return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
    case 'bearer':
      return `Bearer ${auth.token}`;
  }
}

/** DICOM UIDs (PS3.5 9.1): digits and dots, at most 64 characters, no empty components. */
const UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

/**
 * Checks a UID before it becomes a URL path segment, so a hostile value cannot change the path.
 *
 * @param name - what the UID is, for the message (the value itself is never echoed)
 * @throws AppError DICOM_INVALID
 */
export function checkedUid(uid: string, name: string): string {
  if (uid.length > 64 || !UID.test(uid)) throw new AppError('DICOM_INVALID', `${name} is not a valid DICOM UID.`);
  return uid;
}

/**
 * Reads a response body chunk by chunk, handing each chunk to `onChunk`, and stops as soon as
 * the total exceeds `maxBytes`, cancelling the stream (the connection is dropped, not drained).
 * A declared Content-Length above the limit fails before reading; a smaller one is not trusted.
 * Bytes are counted after content decoding, which is what reaches memory.
 *
 * @returns The number of bytes read.
 * @throws AppError DICOM_TOO_LARGE; stream errors propagate to the caller
 */
async function readChunksLimited(response: Response, maxBytes: number, onChunk: (chunk: Uint8Array) => void): Promise<number> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(maxBytes);
  }
  if (response.body === null) return 0;
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return total;
      total += value.byteLength;
      if (total > maxBytes) throw tooLarge(maxBytes);
      onChunk(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    throw err;
  }
}

/**
 * Reads a response body incrementally and stops as soon as it exceeds `maxBytes`.
 *
 * @throws AppError DICOM_TOO_LARGE; stream errors propagate to the caller
 */
export async function readBodyLimited(response: Response, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const total = await readChunksLimited(response, maxBytes, (chunk) => chunks.push(chunk));
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/**
 * Reads a UTF-8 text body (a DICOM JSON answer) under `maxBytes`, decoding as it streams in so
 * the bytes and the text are never both held whole.
 *
 * @throws AppError DICOM_TOO_LARGE; stream errors propagate to the caller
 */
export async function readTextLimited(response: Response, maxBytes: number): Promise<string> {
  const decoder = new TextDecoder();
  const parts: string[] = [];
  await readChunksLimited(response, maxBytes, (chunk) => parts.push(decoder.decode(chunk, { stream: true })));
  parts.push(decoder.decode());
  return parts.join('');
}

function tooLarge(maxBytes: number): AppError {
  return new AppError('DICOM_TOO_LARGE', `The PACS response exceeds the limit of ${maxBytes} bytes.`);
}

function parseHttpUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}
