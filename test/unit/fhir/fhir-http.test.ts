import type { Dispatcher } from 'undici';
import { ExchangeGuard, ExchangeRefused, fhirEncoded, fhirTooLarge, refusalOf, type ExchangeRecord } from '../../../src/fhir/fhir-http.js';

/** An inner handler (fetch's, in the service) that records what reached it. */
function recorder(): { handler: Dispatcher.DispatchHandlers; seen: string[]; bytes: () => number } {
  const seen: string[] = [];
  let bytes = 0;
  const handler: Dispatcher.DispatchHandlers = {
    onConnect: () => seen.push('connect'),
    onHeaders: (status) => {
      seen.push(`headers ${status}`);
      return true;
    },
    onData: (chunk) => {
      bytes += chunk.byteLength;
      return true;
    },
    onComplete: () => seen.push('complete'),
    onError: (err) => seen.push(`error ${err.name}`),
  };
  return { handler, seen, bytes: () => bytes };
}

const raw = (headers: Record<string, string>): Buffer[] => Object.entries(headers).flatMap(([k, v]) => [Buffer.from(k), Buffer.from(v)]);

/** A guard after onConnect, with the abort it was given recorded. */
function guard(maxBytes: number): { guard: ExchangeGuard; inner: ReturnType<typeof recorder>; aborted: () => unknown; record: ExchangeRecord } {
  const inner = recorder();
  const record: ExchangeRecord = { bytes: 0 };
  const g = new ExchangeGuard(inner.handler, maxBytes, record);
  let reason: unknown;
  g.onConnect((err) => {
    reason = err;
  });
  return { guard: g, inner, aborted: () => reason, record };
}

const noop = (): void => undefined;

describe('ExchangeGuard', () => {
  it('passes an answer within the cap through unchanged, and counts its bytes', () => {
    const { guard: g, inner, aborted, record } = guard(2500);
    expect(g.onHeaders(200, raw({ 'content-type': 'application/fhir+json', 'content-length': '2000' }), noop, 'OK')).toBe(true);
    for (let i = 0; i < 2; i++) expect(g.onData(Buffer.alloc(1000))).toBe(true);
    g.onComplete(null);
    expect(inner.seen).toEqual(['connect', 'headers 200', 'complete']);
    expect(inner.bytes()).toBe(2000);
    expect(record.bytes).toBe(2000);
    expect(aborted()).toBeUndefined();
    expect(record.refusal).toBeUndefined();
  });

  it('aborts on the chunk that crosses the cap, which never reaches the inner handler', () => {
    const { guard: g, inner, aborted, record } = guard(2500);
    g.onHeaders(200, raw({}), noop, 'OK');
    const results = [0, 1, 2].map(() => g.onData(Buffer.alloc(1000)));
    expect(results).toEqual([true, true, false]);
    expect(inner.bytes()).toBe(2000);
    expect(aborted()).toBeInstanceOf(ExchangeRefused);
    expect(refusalOf(aborted())).toEqual({ kind: 'too-large', maxBytes: 2500 });
    expect(record.refusal).toEqual({ kind: 'too-large', maxBytes: 2500 });
    // Anything undici might still deliver is dropped.
    expect(g.onData(Buffer.alloc(10))).toBe(false);
    expect(inner.bytes()).toBe(2000);
  });

  it('refuses a declared Content-Length above the cap before any body byte, and does not trust a small one', () => {
    const big = guard(2500);
    expect(big.guard.onHeaders(200, raw({ 'Content-Length': '5000' }), noop, 'OK')).toBe(false);
    expect(refusalOf(big.aborted())).toEqual({ kind: 'too-large', maxBytes: 2500 });
    expect(big.inner.seen).toEqual(['connect']);

    const small = guard(2500);
    small.guard.onHeaders(200, raw({ 'content-length': '10' }), noop, 'OK');
    small.guard.onData(Buffer.alloc(2000));
    small.guard.onData(Buffer.alloc(2000));
    expect(refusalOf(small.aborted())).toEqual({ kind: 'too-large', maxBytes: 2500 });
  });

  it.each([301, 302, 303, 307, 308])('refuses a redirect (HTTP %i) at its headers, before the inner handler sees it', (status) => {
    const { guard: g, inner, aborted } = guard(2500);
    expect(g.onHeaders(status, raw({ location: 'http://elsewhere.example/x' }), noop, 'Found')).toBe(false);
    expect(refusalOf(aborted())).toEqual({ kind: 'redirect', status });
    expect(inner.seen).toEqual(['connect']);
  });

  it.each(['gzip', 'br', 'deflate', 'x-gzip', 'identity, gzip'])('refuses a body with content-encoding %s', (coding) => {
    const { guard: g, aborted } = guard(2500);
    expect(g.onHeaders(200, raw({ 'content-encoding': coding }), noop, 'OK')).toBe(false);
    expect(refusalOf(aborted())).toEqual({ kind: 'encoded' });
  });

  it('refuses an encoding given in a second content-encoding header', () => {
    const { guard: g, aborted } = guard(2500);
    const headers = [...raw({ 'content-encoding': 'identity' }), ...raw({ 'Content-Encoding': 'gzip' })];
    expect(g.onHeaders(200, headers, noop, 'OK')).toBe(false);
    expect(refusalOf(aborted())).toEqual({ kind: 'encoded' });
  });

  it('accepts identity or no content-encoding, and passes 4xx/5xx answers on (their bodies capped too)', () => {
    const cases: Record<string, string>[] = [{ 'content-encoding': 'identity' }, { 'Content-Encoding': 'IDENTITY' }, {}];
    for (const headers of cases) {
      const { guard: g, aborted } = guard(2500);
      expect(g.onHeaders(200, raw(headers), noop, 'OK')).toBe(true);
      expect(aborted()).toBeUndefined();
    }
    const notFound = guard(100);
    expect(notFound.guard.onHeaders(404, raw({}), noop, 'Not Found')).toBe(true);
    expect(notFound.guard.onData(Buffer.alloc(101))).toBe(false);
    expect(refusalOf(notFound.aborted())).toEqual({ kind: 'too-large', maxBytes: 100 });
  });

  it('throws the refusal when it has no abort (undici then aborts the request with it)', () => {
    const g = new ExchangeGuard(recorder().handler, 10, { bytes: 0 });
    expect(() => g.onHeaders(302, raw({}), noop, 'Found')).toThrow(ExchangeRefused);
  });
});

describe('refusalOf', () => {
  it('finds the refusal where fetch puts it, and nothing elsewhere', () => {
    const refused = new ExchangeRefused({ kind: 'redirect', status: 307 });
    expect(refusalOf(new TypeError('fetch failed', { cause: refused }))).toEqual({ kind: 'redirect', status: 307 });
    expect(refusalOf(new TypeError('terminated', { cause: refused }))).toEqual({ kind: 'redirect', status: 307 });
    expect(refusalOf(new TypeError('fetch failed', { cause: new Error('ECONNRESET') }))).toBeUndefined();
    expect(refusalOf('weird')).toBeUndefined();
  });
});

describe('error wording', () => {
  it('names the interaction and the limit, never a URL', () => {
    expect(fhirTooLarge('read Patient', 2500)).toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: "The FHIR server's answer to read Patient exceeds the limit of 2500 bytes",
    });
    expect(fhirEncoded('search ImagingStudy')).toMatchObject({
      code: 'UPSTREAM_FAILED',
      message: 'The FHIR server answered search ImagingStudy with a content-encoded body, which was refused (identity was asked for)',
    });
  });
});
