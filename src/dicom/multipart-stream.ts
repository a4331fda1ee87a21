/**
 * An incremental `multipart/related` parser (RFC 2046 5.1): bytes go in chunk by chunk, parts
 * come out as soon as their closing delimiter has arrived. It holds only the bytes of the part
 * being received (plus a delimiter's length of look-behind), so a WADO-RS study answer never
 * sits in memory twice, and a byte limit stops reading the moment it is crossed.
 */
import { AppError } from '../errors.js';
import { malformed, parseContentType, parseHeaders } from './multipart.js';
import type { MultipartPart } from './multipart.js';

/** Counts bytes against a limit shared by several responses (e.g. every instance of a study). */
export interface ByteBudget {
  /**
   * Records `bytes` more.
   *
   * @throws AppError DICOM_TOO_LARGE once the total exceeds the limit
   */
  charge(bytes: number): void;
  /** Bytes charged so far. */
  readonly used: number;
}

/**
 * A byte budget, e.g. one per study retrieval.
 *
 * @param maxBytes - most bytes in total
 * @param what - what is limited, for the error message (e.g. 'The study')
 * @throws RangeError for a non-positive limit
 */
export function createByteBudget(maxBytes: number, what: string): ByteBudget {
  if (!(maxBytes > 0)) throw new RangeError(`A byte budget must be positive, not ${maxBytes}.`);
  let used = 0;
  return {
    charge(bytes) {
      used += bytes;
      if (used > maxBytes) throw new AppError('DICOM_TOO_LARGE', `${what} exceeds the limit of ${maxBytes} bytes.`);
    },
    get used() {
      return used;
    },
  };
}

type State = 'preamble' | 'delimiter' | 'headers' | 'body' | 'done';

/**
 * The parsing state machine. `push` returns the parts completed by a chunk; their bodies are
 * views into the scanner's buffer, valid until the next `push` (callers that keep them copy).
 */
export class MultipartScanner {
  private readonly dashBoundary: Buffer;
  private readonly delimiter: Buffer;
  private buf: Buffer = Buffer.alloc(0);
  /** The buffer may be written to (it is ours, not a caller's chunk). */
  private owned = false;
  private start = 0;
  private end = 0;
  private state: State = 'preamble';
  private headers = new Map<string, string>();
  private bodyStart = 0;
  private openingChecked = false;

  /**
   * @param contentType - the response's Content-Type (multipart/*, with a boundary)
   * @param maxBytes - most bytes the buffer may grow to (the caller's byte limit)
   * @throws AppError UPSTREAM_FAILED when the content type is not multipart or has no valid boundary
   */
  constructor(contentType: string, private readonly maxBytes = Number.MAX_SAFE_INTEGER) {
    const { mediaType, params } = parseContentType(contentType);
    if (!mediaType.startsWith('multipart/')) throw malformed(`expected a multipart response, got ${mediaType}`);
    const boundary = params.get('boundary');
    // RFC 2046 5.1.1: 1 to 70 characters, not ending with a space.
    if (boundary === undefined || boundary.length === 0 || boundary.length > 70 || boundary.endsWith(' ')) {
      throw malformed('the multipart boundary parameter is missing or invalid');
    }
    this.dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  /** True once the close delimiter has been read (the rest is epilogue). */
  get complete(): boolean {
    return this.state === 'done';
  }

  /**
   * Adds bytes and returns the parts they complete.
   *
   * @throws AppError UPSTREAM_FAILED for a malformed body
   */
  push(chunk: Uint8Array): MultipartPart[] {
    if (this.state === 'done' || chunk.byteLength === 0) return [];
    this.append(chunk);
    const parts: MultipartPart[] = [];
    for (;;) {
      const part = this.step();
      if (part === 'more') return parts;
      if (part !== undefined) parts.push(part);
    }
  }

  /**
   * Declares the end of the body.
   *
   * @throws AppError UPSTREAM_FAILED when the body ended before its close delimiter
   */
  finish(): void {
    if (this.state === 'done') return;
    if (this.state === 'preamble') throw malformed('the multipart body has no boundary delimiter');
    if (this.state === 'headers') throw malformed('the multipart body ends inside part headers');
    throw malformed('the multipart body ends before its close delimiter');
  }

  private append(chunk: Uint8Array): void {
    // Everything before `keep` is consumed; in a body, its bytes from bodyStart are still needed.
    const keep = this.state === 'body' ? Math.min(this.bodyStart, this.start) : this.start;
    const pending = this.end - keep;
    if (pending === 0 && !this.owned) {
      // Nothing buffered: look at the caller's bytes in place (no copy for a whole body at once).
      this.buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    } else {
      const needed = pending + chunk.byteLength;
      if (!this.owned || needed > this.buf.byteLength) {
        // Grow geometrically, but never past the caller's byte limit.
        const capacity = Math.max(needed, Math.min(Math.max(2 * this.buf.byteLength, 64 * 1024), this.maxBytes));
        const next = Buffer.allocUnsafe(capacity);
        this.buf.copy(next, 0, keep, this.end);
        this.buf = next;
        this.owned = true;
      } else if (keep > 0) {
        this.buf.copyWithin(0, keep, this.end);
      }
      this.buf.set(chunk, pending);
    }
    this.start -= keep;
    this.bodyStart -= keep;
    this.end = pending + chunk.byteLength;
  }

  /** One transition; a completed part, undefined when a transition made no part, 'more' when bytes are needed. */
  private step(): MultipartPart | undefined | 'more' {
    const { buf, start, end } = this;
    switch (this.state) {
      case 'preamble': {
        // The first delimiter may open the body (no preceding CRLF) or follow a preamble.
        if (!this.openingChecked) {
          if (end - start < this.dashBoundary.length) return 'more';
          this.openingChecked = true;
          if (buf.subarray(start, start + this.dashBoundary.length).equals(this.dashBoundary)) {
            this.start = start + this.dashBoundary.length;
            this.state = 'delimiter';
            return undefined;
          }
        }
        const first = buf.subarray(0, end).indexOf(this.delimiter, start);
        if (first < 0) {
          // Keep only what could be the start of a delimiter: the preamble is discarded as it streams.
          this.start = Math.max(start, end - this.delimiter.length + 1);
          return 'more';
        }
        this.start = first + this.delimiter.length;
        this.state = 'delimiter';
        return undefined;
      }
      case 'delimiter': {
        let pos = start;
        while (pos < end && (buf[pos] === 0x20 || buf[pos] === 0x09)) pos++; // transport padding
        if (pos === start && end - pos >= 2 && buf[pos] === 0x2d && buf[pos + 1] === 0x2d) {
          this.state = 'done';
          return 'more';
        }
        if (end - pos < 2) return 'more';
        if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) throw malformed('a boundary delimiter is not followed by CRLF');
        this.start = pos + 2;
        this.state = 'headers';
        return undefined;
      }
      case 'headers': {
        if (end - start < 2) return 'more';
        if (buf[start] === 0x0d && buf[start + 1] === 0x0a) {
          this.headers = new Map(); // no header fields
          this.bodyStart = start + 2;
        } else {
          const headerEnd = buf.subarray(0, end).indexOf('\r\n\r\n', start, 'latin1');
          if (headerEnd < 0) return 'more';
          this.headers = parseHeaders(buf.toString('latin1', start, headerEnd));
          this.bodyStart = headerEnd + 4;
        }
        this.start = this.bodyStart - 2; // the CRLF ending the headers may start an empty body's delimiter
        this.state = 'body';
        return undefined;
      }
      case 'body': {
        const next = buf.subarray(0, end).indexOf(this.delimiter, start);
        if (next < 0) {
          // Resume the search where a delimiter could still begin.
          this.start = Math.max(start, end - this.delimiter.length + 1);
          return 'more';
        }
        const contentType = this.headers.get('content-type');
        const part: MultipartPart = {
          headers: this.headers,
          mediaType: contentType === undefined ? undefined : parseContentType(contentType).mediaType,
          body: buf.subarray(Math.min(this.bodyStart, next), next),
        };
        this.start = next + this.delimiter.length;
        this.state = 'delimiter';
        return part;
      }
      case 'done':
        return 'more';
    }
  }
}

/** Options for {@link streamMultipart}. */
export interface StreamMultipartOptions {
  /** Most bytes to read from the stream; reading stops (and the stream is cancelled) beyond it. */
  readonly maxBytes: number;
  /** Shared limit across responses, charged as bytes arrive. */
  readonly budget?: ByteBudget | undefined;
}

/**
 * Reads a multipart body from a stream and yields each part as soon as it is complete. Part
 * bodies are copies the caller owns. The stream is cancelled on any error, on a limit, and
 * when the caller stops iterating early.
 *
 * @throws AppError DICOM_TOO_LARGE past `maxBytes` or the budget; UPSTREAM_FAILED for a malformed
 *   or truncated body; stream errors propagate
 */
export async function* streamMultipart(body: ReadableStream<Uint8Array>, contentType: string, options: StreamMultipartOptions): AsyncGenerator<MultipartPart> {
  const scanner = new MultipartScanner(contentType, options.maxBytes);
  const reader = body.getReader();
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > options.maxBytes) throw new AppError('DICOM_TOO_LARGE', `The PACS response exceeds the limit of ${options.maxBytes} bytes.`);
      options.budget?.charge(value.byteLength);
      for (const part of scanner.push(value)) yield { ...part, body: part.body.slice() };
      if (scanner.complete) break; // the epilogue is not worth reading
    }
    scanner.finish();
  } finally {
    // On an error, a limit, an early stop by the caller, or an epilogue still in flight: stop reading.
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
