/**
 * Mutations below JSON: paths (bad percent-encoding, traversal, odd queries), methods,
 * content-type and charset, content-encoding (real, lying, unknown, bombs), framing
 * (Content-Length lies, chunking, truncated uploads) and odd headers.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { Random } from './random.js';

/** The request as it will be framed. */
export interface Wire {
  method: string;
  target: string;
  headers: [string, string][];
  body: Uint8Array | undefined;
  /** undefined: the right Content-Length is added when there is a body; null: none at all. */
  contentLength: string | null | undefined;
  sendOnly: number | undefined;
  raw: Uint8Array | undefined;
  /** The server may close without answering (the request is incomplete or its framing broken). */
  mayClose: boolean;
  /** Close the write side after sending. */
  closeAfterSend: boolean;
}

const PATH_MUTATIONS: readonly ((t: string, r: Random) => string)[] = [
  (t) => `${t}%`,
  (t) => t.replace(/\/([^/?]*)(\?|$)/, '/%zz$1$2'),
  (t) => t.replace(/\/([^/?]*)(\?|$)/, '/$1%E0%A4%A$2'),
  (t) => t.replace(/\/([^/?]*)(\?|$)/, '/$1%00$2'),
  (t) => t.replace(/\/([^/?]*)(\?|$)/, '/%C0%AF$1$2'),
  (t) => t.replace(/\/(?=[^/]*$)/, '%2F'),
  (t) => t.replace(/^\/([^/]+)/, '/$1/%2e%2e/$1'),
  (t) => t.replace(/^\/([^/]+)/, '/$1/../$1'),
  (t) => t.replace(/^\/([^/]+)/, '/$1/./'),
  (t) => `/${t}`,
  (t) => t.toUpperCase(),
  (t) => (t.includes('?') ? t.replace('?', '/?') : `${t}/`),
  (t) => `${t};x=1`,
  (t, r) => `${t}${t.includes('?') ? '&' : '?'}${r.pick(['a=%zz', 'patient=a&patient=b', 'patient[]=x', 'patient[a]=b', '__proto__=x', 'patient=', `patient=${'a'.repeat(70)}`, 'patient=pat-cxr-4711%00', 'patient=..%2Fpat', '&&&', '=', 'patient', 'patient=%F0%9F%99%82'])}`,
  (t) => `${t}#frag`,
  (t, r) => `${t.replace(/\?.*$/, '')}/${'a'.repeat(r.pick([300, 2000, 20_000]))}`,
  (t) => t.replace(/\/([^/?]*)(\?|$)/, '/\u00e9\u00ff$1$2'),
  (t) => t.replace(/\/([^/?]*)(\?|$)/, '/a b$1$2'),
  () => '*',
  (t) => `http://127.0.0.1${t}`,
  (t) => t.replace(/^\//, ''),
  (t) => t.replace(/\/([^/?]*)(\?|$)/, '/%252e%252e$2'),
  (t) => t.replace(/\/([^/?]*)(\?|$)/, '/$1%2e$2'),
  (t) => t.replace(/\/([^/?]*)(\?|$)/, '/%2F..%2F..%2Fetc%2Fpasswd$2'),
];

export function mutatePath(w: Wire, r: Random): string {
  const before = w.target;
  w.target = r.pick(PATH_MUTATIONS)(w.target, r);
  return `path ${JSON.stringify(before.slice(0, 60))} → ${JSON.stringify(w.target.slice(0, 80))}`;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'SEARCH', 'QUERY', 'LINK', 'PURGE', 'get', 'Post', 'FOO', 'M-SEARCH', 'BREW', 'G\tET'];

export function mutateMethod(w: Wire, r: Random): string {
  w.method = r.pick(METHODS);
  if (w.method === 'OPTIONS' && r.chance(0.7)) {
    w.headers.push(['Origin', r.pick(['https://ehr.example.org', 'null', 'https://evil.example.org'])], ['Access-Control-Request-Method', r.pick(['POST', 'GET', 'DELETE', 'X'])], ['Access-Control-Request-Headers', r.pick(['authorization,content-type', 'x-evil', ''])]);
  }
  if (w.method === 'CONNECT' || w.method.includes('\t')) w.mayClose = true;
  return `method ${JSON.stringify(w.method)}`;
}

const CONTENT_TYPES = [
  'text/plain', 'application/json; charset=utf-8', 'application/json; charset=UTF-8', 'application/json; charset=latin1', 'application/json; charset=utf-16',
  'application/json; charset=utf-16le', 'application/json; charset=koi8-r', 'application/json; charset="utf-8"', 'application/json;charset=', 'application/fhir+json',
  'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', '', 'application/json, text/plain', 'APPLICATION/JSON',
  'application/json; charset=bogus', 'application/json; boundary=x; charset=utf-8; x=', 'application/*', '*/*', 'application/json\u00e9', 'application/cds-hooks+json',
];

function setHeader(w: Wire, name: string, value: string | undefined): void {
  w.headers = w.headers.filter(([k]) => k.toLowerCase() !== name.toLowerCase());
  if (value !== undefined) w.headers.push([name, value]);
}

export function mutateContentType(w: Wire, r: Random): string {
  if (r.chance(0.15)) {
    setHeader(w, 'Content-Type', undefined);
    return 'no Content-Type';
  }
  const ct = r.pick(CONTENT_TYPES);
  setHeader(w, 'Content-Type', ct);
  if (ct.includes('utf-16') && w.body !== undefined && r.chance(0.7)) w.body = Buffer.from(Buffer.from(w.body).toString('utf8'), 'utf16le');
  return `Content-Type ${JSON.stringify(ct)}`;
}

let bomb: Uint8Array | undefined;
/** gzip of a 24 MiB JSON document (mostly spaces): 24 KiB on the wire. */
function gzipBomb(): Uint8Array {
  bomb ??= gzipSync(Buffer.concat([Buffer.from('{"hook":"'), Buffer.alloc(24 * 2 ** 20, 0x20), Buffer.from('"}')]), { level: 9 });
  return bomb;
}

export function mutateEncoding(w: Wire, r: Random): string {
  const body = w.body ?? Buffer.from('{}');
  switch (r.int(7)) {
    case 0: {
      const kind = r.pick(['gzip', 'deflate', 'br']);
      w.body = kind === 'gzip' ? gzipSync(body) : kind === 'deflate' ? deflateSync(body) : brotliCompressSync(body);
      setHeader(w, 'Content-Encoding', kind);
      return `body really ${kind}-encoded`;
    }
    case 1: {
      const kind = r.pick(['gzip', 'deflate', 'br', 'GZIP']);
      setHeader(w, 'Content-Encoding', kind);
      w.body = body;
      return `Content-Encoding ${kind} on a plain body`;
    }
    case 2: {
      const kind = r.pick(['compress', 'x-foo', 'gzip, identity', 'identity', 'zstd', '', 'gzip, gzip', 'deflate, br']);
      setHeader(w, 'Content-Encoding', kind);
      w.body = kind === 'gzip, gzip' ? gzipSync(gzipSync(body)) : body;
      return `Content-Encoding ${JSON.stringify(kind)}`;
    }
    case 3:
      w.body = gzipSync(gzipSync(body));
      setHeader(w, 'Content-Encoding', 'gzip');
      return 'body gzipped twice, declared once';
    case 4:
      w.body = gzipBomb();
      setHeader(w, 'Content-Encoding', 'gzip');
      setHeader(w, 'Content-Type', 'application/json');
      return 'gzip bomb (24 MiB inflated)';
    case 5: {
      const z = gzipSync(body);
      w.body = z.subarray(0, r.between(1, Math.max(1, z.byteLength - 1)));
      setHeader(w, 'Content-Encoding', 'gzip');
      return 'truncated gzip stream';
    }
    default: {
      const z = deflateSync(body, { level: 1 });
      w.body = Buffer.concat([z, Buffer.from('garbage after the stream')]);
      setHeader(w, 'Content-Encoding', 'deflate');
      return 'deflate stream with trailing garbage';
    }
  }
}

function chunked(body: Uint8Array, r: Random): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.byteLength;) {
    const n = Math.min(body.byteLength - at, r.between(1, 4096));
    parts.push(Buffer.from(`${n.toString(16)}\r\n`), Buffer.from(body.subarray(at, at + n)), Buffer.from('\r\n'));
    at += n;
  }
  return Buffer.concat(parts);
}

export function mutateFraming(w: Wire, r: Random): string {
  const body = w.body ?? Buffer.from('{}');
  w.body = body;
  switch (r.int(9)) {
    case 0:
      w.contentLength = String(body.byteLength + r.pick([1, 100, 1_000_000]));
      w.sendOnly = body.byteLength;
      w.mayClose = true;
      return 'Content-Length larger than the body (upload then close)';
    case 1:
      w.contentLength = String(Math.max(0, body.byteLength - r.between(1, Math.max(1, body.byteLength))));
      return 'Content-Length smaller than the body (the rest arrives as a next request)';
    case 2:
      w.contentLength = r.pick(['-1', 'abc', '1e3', ' 5', '0x10', '99999999999999999999', '1,2', '']);
      return `Content-Length ${JSON.stringify(w.contentLength)}`;
    case 3:
      w.headers.push(['Content-Length', String(body.byteLength + 1)]);
      return 'two different Content-Length headers';
    case 4:
      w.contentLength = null;
      w.headers.push(['Transfer-Encoding', 'chunked']);
      w.body = Buffer.concat([chunked(body, r), Buffer.from('0\r\n\r\n')]);
      if (r.chance(0.3)) w.headers.push(['Content-Length', String(body.byteLength)]);
      return 'chunked body';
    case 5: {
      w.contentLength = null;
      w.headers.push(['Transfer-Encoding', r.pick(['chunked', 'chunked', 'gzip, chunked', 'chunked, identity', ' chunked'])]);
      const bad = r.pick(['zz\r\nabc\r\n0\r\n\r\n', 'fffffffffffffffff\r\nx\r\n', '3;ext="x\r\nabc\r\n0\r\n\r\n', '3\nabc\n0\n\n', '5\r\nab\r\n', '']);
      w.body = Buffer.concat([chunked(body.subarray(0, Math.floor(body.byteLength / 2)), r), Buffer.from(bad)]);
      w.sendOnly = w.body.byteLength;
      w.mayClose = true;
      return `malformed chunked body (${JSON.stringify(bad.slice(0, 12))})`;
    }
    case 6:
      w.sendOnly = r.int(Math.max(1, body.byteLength));
      w.mayClose = true;
      return `upload cut after ${w.sendOnly} of ${body.byteLength} bytes, then closed`;
    case 7:
      w.contentLength = null;
      return 'body without Content-Length or Transfer-Encoding';
    default:
      w.raw = Buffer.from(`${w.method} ${w.target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${r.pick(['Content-Len', 'X-Folded: a\r\n b', ''])}`, 'latin1');
      w.mayClose = true;
      w.closeAfterSend = true;
      return 'request head cut short, then closed';
  }
}

export function mutateHeaders(w: Wire, r: Random): string {
  switch (r.int(11)) {
    case 0: {
      const n = r.pick([8000, 17_000, 70_000]);
      w.headers.push(['X-Fuzz', 'a'.repeat(n)]);
      return `header of ${n} bytes`;
    }
    case 1: {
      const n = r.pick([150, 3000]);
      for (let i = 0; i < n; i++) w.headers.push([`X-H-${i}`, 'v']);
      return `${n} extra headers`;
    }
    case 2:
      w.headers.push(['X-Latin', '\u00e9\u00ff\u0080']);
      return 'non-ASCII bytes in a header value';
    case 3:
      w.headers.push(['X-Folded', 'a\r\n b']);
      return 'obs-fold header';
    case 4:
      w.headers.push(['Content-Type', r.pick(['text/plain', 'application/xml', 'application/json'])]);
      return 'second Content-Type';
    case 5:
      w.headers.push(['X-Request-Id', r.pick(['x'.repeat(100), '../../x', '', 'a b', '\u00e9'])]);
      return 'odd X-Request-Id';
    case 6:
      w.headers.push(['Expect', r.pick(['100-continue', 'bogus'])]);
      return 'Expect header';
    case 7:
      w.headers.push(['Host', r.pick(['evil.example.org', '', 'a'.repeat(3000), '127.0.0.1:1'])]);
      return 'second Host header';
    case 8:
      w.headers.push(['Connection', 'Upgrade'], ['Upgrade', r.pick(['websocket', 'h2c', 'x'])]);
      w.mayClose = true;
      return 'Upgrade request';
    case 9:
      w.headers.push(['Accept', r.pick(['application/xml', '*/*;q=bogus', 'text/html', ''])], ['Accept-Encoding', r.pick(['gzip', 'br;q=2', 'x'])]);
      return 'odd Accept headers';
    default:
      w.headers.push(['Origin', r.pick(['null', 'https://evil.example.org', 'https://ehr.example.org'])]);
      return 'Origin header';
  }
}
