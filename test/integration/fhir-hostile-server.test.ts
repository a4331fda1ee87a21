/**
 * The FHIR reader and the write-back against an allow-listed server that misbehaves on purpose
 * (real loopback HTTP): redirects to a second "canary" server, endless and compressed bodies,
 * bytes dribbled forever, a search that pages on and on. Each must end in one precise AppError,
 * with the canary never contacted and the body read no further than the cap.
 */
import { gzipSync } from 'node:zlib';
import type { ServerResponse } from 'node:http';
import { Client } from 'fhir-kit-client';
import { createFhirReader, FHIR_READER_DEFAULTS } from '../../src/fhir/fhir-client.js';
import { createFhirWriter } from '../../src/fhir/write-back.js';
import { dribble, eventually, hostileServers, pumpEndless, tally, type TestServer } from '../support/hostile-http.js';

const TOKEN = 'tok-hostile-7d1e';
const MiB = 1024 * 1024;

// A canary for redirects to point at, and servers closed after each test.
const { canary, server: fhirServer } = hostileServers((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/fhir+json' }).end('{"resourceType":"Patient","id":"p1"}');
});

function reader(server: TestServer, overrides: Partial<Parameters<typeof createFhirReader>[0]> = {}): ReturnType<typeof createFhirReader> {
  return createFhirReader({ baseUrl: `${server.origin}/fhir`, accessToken: TOKEN, timeoutMs: 2000, ...overrides });
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(JSON.stringify(body));
}

/** A searchset page with one match and a `next` link back on `origin`. */
function page(origin: string, n: number): unknown {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    link: [{ relation: 'next', url: `${origin}/fhir/ImagingStudy?patient=p1&_offset=${n + 1}` }],
    entry: [{ resource: { resourceType: 'ImagingStudy', id: `s${n}`, status: 'available', subject: { reference: 'Patient/p1' } }, search: { mode: 'match' } }],
  };
}

describe('FHIR redirects are refused, never followed', () => {
  it.each([301, 302, 303, 307, 308])('read: HTTP %i to a canary server fails UPSTREAM_FAILED and the canary hears nothing', async (status) => {
    const server = await fhirServer((req, res) => {
      res.writeHead(status, { location: `${canary().origin}${req.url ?? ''}&leak=Patient%2Fp1` }).end();
    });
    await expect(reader(server).read('Patient', 'p1')).rejects.toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: `The FHIR server answered read Patient with a redirect (HTTP ${status}), which was refused`,
    });
    expect(server.requests).toHaveLength(1);
    expect(canary().requests).toHaveLength(0);
  });

  it('search: a redirected first page fails, and the canary hears nothing', async () => {
    const server = await fhirServer((_req, res) => {
      res.writeHead(302, { location: `${canary().origin}/fhir/ImagingStudy?patient=Patient%2Fp1` }).end();
    });
    await expect(reader(server).search('ImagingStudy', { patient: 'Patient/p1' })).rejects.toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: 'The FHIR server answered search ImagingStudy with a redirect (HTTP 302), which was refused',
    });
    expect(canary().requests).toHaveLength(0);
  });

  it('paging: a next link on the server that then redirects fails the search, and the canary hears nothing', async () => {
    const server = await fhirServer((_req, res, n) => {
      if (n === 1) json(res, page(`http://${_req.headers.host ?? ''}`, 1));
      else res.writeHead(307, { location: `${canary().origin}/fhir/ImagingStudy?patient=p1&_offset=2` }).end();
    });
    await expect(reader(server).search('ImagingStudy', { patient: 'p1' })).rejects.toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: 'The FHIR server answered search ImagingStudy with a redirect (HTTP 307), which was refused',
    });
    expect(server.requests.map((r) => r.url)).toEqual(['/fhir/ImagingStudy?patient=p1', '/fhir/ImagingStudy?patient=p1&_offset=2']);
    expect(canary().requests).toHaveLength(0);
  });

  it('does not read the body of a redirect: an endless 302 fails at once', async () => {
    const body = tally();
    const server = await fhirServer((_req, res) => {
      res.writeHead(302, { location: `${canary().origin}/x`, 'content-type': 'text/html' });
      pumpEndless(res, Buffer.alloc(64 * 1024, 0x20), body);
    });
    await expect(reader(server).read('Patient', 'p1')).rejects.toMatchObject({ code: 'UPSTREAM_FAILED', message: expect.stringMatching(/redirect \(HTTP 302\)/) as unknown });
    await eventually(() => body.clientClosed);
    expect(body.written).toBeLessThan(16 * MiB);
    expect(canary().requests).toHaveLength(0);
  });

  it('write-back: a 302 is refused at once (not retried) and the canary hears nothing', async () => {
    const server = await fhirServer((_req, res) => {
      res.writeHead(302, { location: `${canary().origin}/fhir` }).end();
    });
    const writer = createFhirWriter({ baseUrl: `${server.origin}/fhir`, bearerToken: TOKEN, timeoutMs: 2000, retryDelayMs: 1 });
    await expect(writer.transaction({ resourceType: 'Bundle', type: 'transaction', entry: [] })).rejects.toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: 'the FHIR server answered the write-back transaction with a redirect (HTTP 302), which was refused',
    });
    expect(server.requests).toHaveLength(1);
    expect(canary().requests).toHaveLength(0);
  });
});

describe('write-back exchange', () => {
  it('is one fhir-kit-client POST to the base, asking for identity encoding and a minimal answer', async () => {
    const seen: Record<string, string | string[] | undefined>[] = [];
    const server = await fhirServer((req, res) => {
      seen.push({ url: req.url, accept: req.headers['accept-encoding'], prefer: req.headers.prefer, type: req.headers['content-type'] });
      json(res, { resourceType: 'Bundle', type: 'transaction-response', entry: [{ response: { status: '201 Created', location: 'Observation/o1/_history/1' } }] });
    });
    const proto = Client.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    const original = proto.request;
    let calls = 0;
    proto.request = function (this: unknown, ...args: unknown[]) {
      calls += 1;
      return original?.apply(this, args);
    };
    try {
      const writer = createFhirWriter({ baseUrl: `${server.origin}/fhir`, bearerToken: TOKEN, timeoutMs: 2000 });
      await expect(writer.transaction({ resourceType: 'Bundle', type: 'transaction', entry: [] })).resolves.toEqual({
        entries: [{ status: '201 Created', location: 'Observation/o1/_history/1' }],
        attempts: 1,
      });
    } finally {
      if (original !== undefined) proto.request = original;
    }
    expect(calls).toBe(1);
    expect(server.requests.map((r) => [r.method, r.authorization])).toEqual([['POST', `Bearer ${TOKEN}`]]);
    expect(seen).toEqual([{ url: '/fhir', accept: 'identity', prefer: 'return=minimal', type: 'application/fhir+json' }]);
  });
});

describe('FHIR answers are read under a byte cap', () => {
  it('stops reading an endless 200 body at the cap and drops the connection', async () => {
    const body = tally();
    const server = await fhirServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      res.write('{"resourceType":"Patient","id":"p1","text":"');
      pumpEndless(res, Buffer.alloc(64 * 1024, 0x61), body);
    });
    await expect(reader(server, { maxResponseBytes: MiB }).read('Patient', 'p1')).rejects.toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: "The FHIR server's answer to read Patient exceeds the limit of 1048576 bytes",
    });
    await eventually(() => body.clientClosed);
    // What the server could push into socket buffers before the hang-up, not what was read.
    expect(body.written).toBeLessThan(16 * MiB);
  });

  it('applies the default cap (4 MiB) when none is given', async () => {
    const body = tally();
    const server = await fhirServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      pumpEndless(res, Buffer.alloc(64 * 1024, 0x20), body);
    });
    await expect(reader(server).search('ImagingStudy', { patient: 'p1' })).rejects.toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: `The FHIR server's answer to search ImagingStudy exceeds the limit of ${4 * MiB} bytes`,
    });
    await eventually(() => body.clientClosed);
    expect(body.written).toBeLessThan(32 * MiB);
  });

  it('refuses a declared Content-Length above the cap before reading the body', async () => {
    const server = await fhirServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-length': String(200 * MiB) });
      res.write('{');
    });
    await expect(reader(server, { maxResponseBytes: MiB }).read('Patient', 'p1')).rejects.toMatchObject({
      code: 'UPSTREAM_FAILED',
      message: "The FHIR server's answer to read Patient exceeds the limit of 1048576 bytes",
    });
  });

  it('asks for identity encoding and refuses a compressed answer: a small gzip body that would inflate past the cap is never inflated', async () => {
    const inflated = Buffer.concat([Buffer.from('{"resourceType":"Patient","id":"p1","text":"'), Buffer.alloc(64 * MiB, 0x61), Buffer.from('"}')]);
    const compressed = gzipSync(inflated);
    expect(compressed.length).toBeLessThan(MiB);
    const acceptEncoding: (string | undefined)[] = [];
    const server = await fhirServer((req, res) => {
      acceptEncoding.push(req.headers['accept-encoding']);
      res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-encoding': 'gzip', 'content-length': String(compressed.length) }).end(compressed);
    });
    const refused = {
      code: 'UPSTREAM_FAILED',
      message: 'The FHIR server answered read Patient with a content-encoded body, which was refused (identity was asked for)',
    };
    await expect(reader(server, { maxResponseBytes: MiB }).read('Patient', 'p1')).rejects.toMatchObject(refused);
    expect(acceptEncoding).toEqual(['identity']);
  });

  it('refuses even a small, harmless compressed answer (bytes are counted as they arrive, so they must be the bytes that reach memory)', async () => {
    const compressed = gzipSync('{"resourceType":"Patient","id":"p1"}');
    const server = await fhirServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-encoding': 'gzip' }).end(compressed);
    });
    await expect(reader(server).read('Patient', 'p1')).rejects.toMatchObject({ code: 'UPSTREAM_FAILED', message: expect.stringMatching(/content-encoded body, which was refused/) as unknown });
  });

  it('write-back: stops reading an endless answer at its cap, without another attempt', async () => {
    const body = tally();
    const server = await fhirServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      pumpEndless(res, Buffer.alloc(64 * 1024, 0x20), body);
    });
    const writer = createFhirWriter({ baseUrl: `${server.origin}/fhir`, timeoutMs: 2000, maxResponseBytes: MiB, retryDelayMs: 1 });
    await expect(writer.transaction({ resourceType: 'Bundle', type: 'transaction', entry: [] })).rejects.toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: "The FHIR server's answer to the write-back transaction exceeds the limit of 1048576 bytes",
    });
    await eventually(() => body.clientClosed);
    expect(server.requests).toHaveLength(1);
  });

  it('stops a search before the pages together could pass maxSearchBytes, and says so', async () => {
    let served = 0;
    const server = await fhirServer((req, res, n) => {
      const text = JSON.stringify(page(`http://${req.headers.host ?? ''}`, n));
      served += Buffer.byteLength(text);
      res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(text);
    });
    const result = await reader(server, { maxResponseBytes: 1024, maxSearchBytes: 3000 }).search('ImagingStudy', { patient: 'p1' });
    expect(result.truncated).toBe('max-bytes');
    expect(result.pages).toBe(server.requests.length);
    expect(result.resources).toHaveLength(result.pages);
    // Another page (up to 1024 bytes) was not fetched because it could have passed 3000.
    expect(served).toBeLessThanOrEqual(3000);
    expect(served + 1024).toBeGreaterThan(3000);
  });
});

describe('FHIR time limits cover the whole body', () => {
  it('gives up on a body dribbled a byte at a time, within timeoutMs', async () => {
    const body = tally();
    const server = await fhirServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      dribble(res, '{"resourceType":"Patient",      ', body);
    });
    await expect(reader(server, { timeoutMs: 300 }).read('Patient', 'p1')).rejects.toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: 'The FHIR server did not answer read Patient within 300 ms',
    });
    await eventually(() => body.clientClosed);
    expect(body.written).toBeGreaterThan(0);
  });

  it('bounds a search that pages on and on by searchTimeoutMs, all pages together', async () => {
    const server = await fhirServer((req, res, n) => {
      setTimeout(() => {
        json(res, page(`http://${req.headers.host ?? ''}`, n));
      }, 60);
    });
    await expect(reader(server, { timeoutMs: 1000, searchTimeoutMs: 400 }).search('ImagingStudy', { patient: 'p1' })).rejects.toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: 'The FHIR server did not finish search ImagingStudy within 400 ms (all pages)',
    });
    expect(server.requests.length).toBeGreaterThan(1);
    expect(server.requests.length).toBeLessThan(50);
  });

  it('has defaults that fit a CDS hook', () => {
    expect(FHIR_READER_DEFAULTS).toEqual({ timeoutMs: 1500, maxResponseBytes: 4 * MiB, maxSearchBytes: 16 * MiB, maxSearchResults: 1000, maxSearchPages: 50 });
  });
});
