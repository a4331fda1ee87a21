/**
 * The DICOMweb client against an allow-listed PACS that misbehaves on purpose (real loopback
 * HTTP): redirects to a "canary" server, endless DICOM JSON and multipart bodies, bytes
 * dribbled forever. Each must end in one precise AppError, with the canary never contacted,
 * nothing retried that should not be, and the body read no further than its limit.
 */
import { createOriginAllowList } from '../../src/auth/outbound-allow-list.js';
import { createDicomWebClient, createDicomWebImageSource, DICOMWEB_CLIENT_DEFAULTS } from '../../src/dicom/index.js';
import type { DicomWebClient, DicomWebClientOptions } from '../../src/dicom/index.js';
import { dribble, eventually, hostileServers, pumpEndless, tally, type TestServer } from '../support/hostile-http.js';

const MiB = 1024 * 1024;
const STUDY = '1.2.826.0.1.3680043.8.498.10';
const SERIES = `${STUDY}.1`;
const SOP = `${STUDY}.1.1`;
const MULTIPART = 'multipart/related; type="application/dicom"; boundary=b';

// A canary for redirects to point at, and servers closed after each test.
const { canary, server: pacs } = hostileServers((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/dicom+json' }).end('[]');
});

/** A client allowed to call `server` and, to show the redirect is refused on its own merits, the canary too. */
function client(server: TestServer, overrides: Partial<DicomWebClientOptions> = {}): DicomWebClient {
  return createDicomWebClient({
    allowList: createOriginAllowList([server.origin, canary().origin]),
    auth: { kind: 'bearer', token: 'pacs-secret' },
    retries: 2,
    retryBaseDelayMs: 1,
    ...overrides,
  });
}

describe('DICOMweb redirects are refused, never followed', () => {
  const calls: readonly [string, string, (c: DicomWebClient, root: string) => Promise<unknown>][] = [
    ['QIDO-RS search series', 'QIDO-RS search series', (c, root) => c.searchSeries(root, STUDY)],
    ['QIDO-RS search instances', 'QIDO-RS search instances', (c, root) => c.searchInstances(root, STUDY, SERIES)],
    ['WADO-RS metadata', 'WADO-RS retrieve series metadata', (c, root) => c.retrieveSeriesMetadata(root, STUDY, SERIES)],
    ['WADO-RS instance', 'WADO-RS retrieve instance', (c, root) => c.retrieveInstance(root, STUDY, SERIES, SOP)],
    ['WADO-RS study', 'WADO-RS retrieve study', (c, root) => c.retrieveStudyInstances(root, STUDY)],
  ];

  it.each(calls)('%s: a 302 to the canary fails UPSTREAM_FAILED, once, and the canary hears nothing', async (_name, operation, call) => {
    const server = await pacs((req, res) => {
      res.writeHead(302, { location: `${canary().origin}${req.url ?? ''}` }).end();
    });
    await expect(call(client(server), server.origin)).rejects.toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: `The PACS answered 302 Found (a redirect, not followed) to ${operation} at ${server.origin}.`,
    });
    expect(server.requests).toHaveLength(1);
    expect(canary().requests).toHaveLength(0);
  });

  it('does not read the body of a redirect: an endless 307 fails at once', async () => {
    const body = tally();
    const server = await pacs((_req, res) => {
      res.writeHead(307, { location: `${canary().origin}/studies` });
      pumpEndless(res, Buffer.alloc(64 * 1024, 0x20), body);
    });
    await expect(client(server).searchSeries(server.origin, STUDY)).rejects.toMatchObject({
      code: 'UPSTREAM_FAILED',
      message: `The PACS answered 307 Temporary Redirect (a redirect, not followed) to QIDO-RS search series at ${server.origin}.`,
    });
    await eventually(() => body.clientClosed);
    expect(body.written).toBeLessThan(16 * MiB);
    expect(canary().requests).toHaveLength(0);
  });
});

describe('DICOMweb answers are read under byte limits', () => {
  it('stops an endless QIDO-RS answer at the JSON limit (default 4 MiB), not at the instance limit', async () => {
    const body = tally();
    const server = await pacs((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      res.write('[');
      pumpEndless(res, Buffer.from('{"00080018":{"vr":"UI","Value":["1.2.3"]}},'.repeat(1000)), body);
    });
    await expect(client(server).searchInstances(server.origin, STUDY, SERIES)).rejects.toMatchObject({
      name: 'AppError',
      code: 'DICOM_TOO_LARGE',
      message: `The PACS response exceeds the limit of ${4 * MiB} bytes.`,
    });
    await eventually(() => body.clientClosed);
    expect(body.written).toBeLessThan(32 * MiB);
    expect(server.requests).toHaveLength(1); // not retried
  });

  it('holds the JSON limit below the instance limit when both are set', async () => {
    const server = await pacs((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      pumpEndless(res, Buffer.alloc(64 * 1024, 0x20), tally());
    });
    await expect(client(server, { maxResponseBytes: 100_000, maxJsonBytes: 8 * MiB }).searchSeries(server.origin, STUDY)).rejects.toMatchObject({
      code: 'DICOM_TOO_LARGE',
      message: 'The PACS response exceeds the limit of 100000 bytes.',
    });
  });

  it('stops an endless WADO-RS instance at the instance limit (default 64 MiB)', async () => {
    const body = tally();
    const server = await pacs((_req, res) => {
      res.writeHead(200, { 'content-type': MULTIPART });
      res.write('--b\r\nContent-Type: application/dicom\r\n\r\n');
      pumpEndless(res, Buffer.alloc(256 * 1024, 0x00), body);
    });
    // A generous time limit: this is about the byte cap, and 64 MiB on a loaded machine may take
    // longer than the default timeout (which would answer UPSTREAM_FAILED instead).
    await expect(client(server, { timeoutMs: 120_000 }).retrieveInstance(server.origin, STUDY, SERIES, SOP)).rejects.toMatchObject({
      name: 'AppError',
      code: 'DICOM_TOO_LARGE',
      message: `The PACS response exceeds the limit of ${64 * MiB} bytes.`,
    });
    await eventually(() => body.clientClosed);
    expect(body.written).toBeLessThan(128 * MiB);
  });

  it('decodes a QIDO-RS answer whose multi-byte characters straddle chunks', async () => {
    const name = 'Müller^Zoë';
    const text = JSON.stringify([{ '00100010': { vr: 'PN', Value: [{ Alphabetic: name }] } }]);
    const bytes = Buffer.from(text);
    const server = await pacs((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      // One byte per write: every multi-byte character is split.
      let i = 0;
      const next = (): void => {
        if (i >= bytes.length) {
          res.end();
          return;
        }
        res.write(bytes.subarray(i, i + 1), next);
        i += 1;
      };
      next();
    });
    const [found] = await client(server).searchSeries(server.origin, STUDY);
    expect(found?.['00100010']?.Value).toEqual([{ Alphabetic: name }]);
  });
});

describe('DICOMweb time limits cover the whole body', () => {
  it('gives up on a QIDO-RS answer dribbled a byte at a time within jsonTimeoutMs, without retrying', async () => {
    const body = tally();
    const server = await pacs((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      dribble(res, '[{"00080018":{"vr":"UI"', body);
    });
    await expect(client(server, { timeoutMs: 5000, jsonTimeoutMs: 300 }).searchSeries(server.origin, STUDY)).rejects.toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: `The PACS did not complete QIDO-RS search series at ${server.origin} within 300 ms.`,
    });
    await eventually(() => body.clientClosed);
    expect(server.requests).toHaveLength(1);
  });

  it('gives up on a WADO-RS instance dribbled a byte at a time within timeoutMs', async () => {
    const body = tally();
    const server = await pacs((_req, res) => {
      res.writeHead(200, { 'content-type': MULTIPART });
      dribble(res, '--b\r\nContent-Type: application/dicom\r\n\r\nDICM', body);
    });
    await expect(client(server, { timeoutMs: 400 }).retrieveInstance(server.origin, STUDY, SERIES, SOP)).rejects.toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: `The PACS did not complete WADO-RS retrieve instance at ${server.origin} within 400 ms.`,
    });
    await eventually(() => body.clientClosed);
    expect(server.requests).toHaveLength(1);
  });

  it('the JSON time limit is never above timeoutMs', async () => {
    const server = await pacs((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      dribble(res, '[ ', tally());
    });
    await expect(client(server, { timeoutMs: 250, jsonTimeoutMs: 5000 }).searchSeries(server.origin, STUDY)).rejects.toMatchObject({
      message: `The PACS did not complete QIDO-RS search series at ${server.origin} within 250 ms.`,
    });
  });

  it('the image source passes the JSON limits on', async () => {
    const server = await pacs((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      pumpEndless(res, Buffer.alloc(64 * 1024, 0x20), tally());
    });
    const source = createDicomWebImageSource({ allowList: createOriginAllowList([server.origin]), auth: { kind: 'none' }, maxJsonBytes: 200_000 });
    await expect(source.listInstances(server.origin, STUDY, SERIES)).rejects.toMatchObject({
      code: 'DICOM_TOO_LARGE',
      message: 'The PACS response exceeds the limit of 200000 bytes.',
    });
  });

  it('has defaults that fit a CDS hook and a large radiograph', () => {
    expect(DICOMWEB_CLIENT_DEFAULTS).toMatchObject({ timeoutMs: 4000, jsonTimeoutMs: 2000, maxResponseBytes: 64 * MiB, maxJsonBytes: 4 * MiB });
  });
});
