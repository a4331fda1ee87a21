/**
 * HTTP/1.1 over a plain socket, so that a request can be wrong in ways an HTTP client library
 * refuses to send (odd methods, bad percent-encoding, lying lengths, broken chunking, raw
 * bytes in headers), and its curl (or nc) reproduction.
 */
import { connect } from 'node:net';

/** A request exactly as it goes on the wire. */
export interface RawRequest {
  readonly method: string;
  /** Request target as sent: path and query, not normalised. */
  readonly target: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array | undefined;
  /** Body bytes actually sent, then the write side is closed (a truncated upload). */
  readonly sendOnly?: number;
  /** When set, these bytes are sent instead of the head and body above (broken framing). */
  readonly raw?: Uint8Array;
  /** Close the write side after sending (the request is incomplete on purpose). */
  readonly closeAfterSend?: boolean;
}

export type RawResult =
  | { readonly kind: 'response'; readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly body: Buffer; readonly ms: number }
  | { readonly kind: 'closed'; readonly ms: number; readonly error?: string }
  | { readonly kind: 'timeout'; readonly ms: number };

/** The bytes of the request head and body. */
export function encodeRequest(req: RawRequest): Buffer {
  if (req.raw !== undefined) return Buffer.from(req.raw);
  const head = `${req.method} ${req.target} HTTP/1.1\r\n${req.headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  const body = req.body === undefined ? Buffer.alloc(0) : Buffer.from(req.body.subarray(0, req.sendOnly ?? req.body.byteLength));
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

interface Parsed {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly bodyStart: number;
}

function parseHead(buf: Buffer): Parsed | undefined {
  let start = 0;
  // Skip interim 1xx answers (100 Continue).
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', start);
    if (end < 0) return undefined;
    const lines = buf.subarray(start, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? NaN);
    if (status >= 100 && status < 200) {
      start = end + 4;
      continue;
    }
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    return { status, headers, bodyStart: end + 4 };
  }
}

/** Decodes a chunked body as far as it goes; `done` when the last chunk arrived. */
function dechunk(buf: Buffer): { body: Buffer; done: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return { body: Buffer.concat(parts), done: false };
    const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size)) return { body: Buffer.concat(parts), done: true };
    if (size === 0) return { body: Buffer.concat(parts), done: true };
    if (eol + 2 + size > buf.byteLength) return { body: Buffer.concat(parts), done: false };
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

function complete(buf: Buffer, method: string): { status: number; headers: Record<string, string>; body: Buffer } | undefined {
  const head = parseHead(buf);
  if (head === undefined) return undefined;
  const rest = buf.subarray(head.bodyStart);
  const noBody = method === 'HEAD' || head.status === 204 || head.status === 304;
  if (noBody) return { status: head.status, headers: head.headers, body: Buffer.alloc(0) };
  if ((head.headers['transfer-encoding'] ?? '').includes('chunked')) {
    const d = dechunk(rest);
    return d.done ? { status: head.status, headers: head.headers, body: d.body } : undefined;
  }
  const length = Number(head.headers['content-length']);
  if (Number.isInteger(length)) return rest.byteLength >= length ? { status: head.status, headers: head.headers, body: rest.subarray(0, length) } : undefined;
  return undefined;
}

/**
 * Sends one request on a new connection and reads the first answer.
 *
 * @returns the answer; `closed` when the server closed without one; `timeout` when neither
 *   happened within `timeoutMs`
 */
export function sendRaw(port: number, req: RawRequest, timeoutMs: number): Promise<RawResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = connect({ host: '127.0.0.1', port });
    const settle = (r: RawResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => { settle({ kind: 'timeout', ms: performance.now() - t0 }); }, timeoutMs);
    const finishFrom = (buf: Buffer, closed: boolean, error?: string): void => {
      const done = complete(buf, req.method);
      if (done !== undefined) {
        settle({ kind: 'response', ...done, ms: performance.now() - t0 });
        return;
      }
      if (!closed) return;
      const head = parseHead(buf);
      if (head !== undefined) settle({ kind: 'response', status: head.status, headers: head.headers, body: buf.subarray(head.bodyStart), ms: performance.now() - t0 });
      else settle({ kind: 'closed', ms: performance.now() - t0, ...(error === undefined ? {} : { error }) });
    };
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      finishFrom(Buffer.concat(chunks), false);
    });
    socket.on('end', () => { finishFrom(Buffer.concat(chunks), true); });
    socket.on('close', () => { finishFrom(Buffer.concat(chunks), true); });
    socket.on('error', (err) => { finishFrom(Buffer.concat(chunks), true, err.message); });
    socket.on('connect', () => {
      socket.write(encodeRequest(req), () => {
        if (req.sendOnly !== undefined || req.closeAfterSend === true) socket.end();
      });
    });
  });
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * A curl command for the request when curl can express it, else undefined (the raw bytes,
 * sent over bash's /dev/tcp, reproduce every case).
 */
export function curlFor(port: number, req: RawRequest, bodyFile: string | undefined): string | undefined {
  if (req.raw !== undefined || req.sendOnly !== undefined || !/^[A-Za-z]+$/.test(req.method)) return undefined;
  if (req.headers.some(([k, v]) => /[^\x20-\x7e]/.test(k + v))) return undefined;
  const parts = ['curl', '-sS', '-i', '--path-as-is', req.method === 'HEAD' ? '-I' : `-X ${req.method}`, quote(`http://127.0.0.1:${port}${req.target}`)];
  for (const [k, v] of req.headers) {
    if (['host', 'content-length', 'connection'].includes(k.toLowerCase())) continue;
    parts.push('-H', quote(`${k}: ${v}`));
  }
  if (bodyFile !== undefined) parts.push('--data-binary', quote(`@${bodyFile}`));
  return parts.join(' ');
}
