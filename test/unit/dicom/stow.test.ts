/**
 * STOW-RS: the multipart body, the store instances response, and the client's storeInstances
 * under the same rules as its reads (allow-list, no redirects, byte cap, retry on 5xx) against a
 * local HTTP server.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDicomWebClient } from '../../../src/dicom/index.js';
import { parseStowResponse, stowBody } from '../../../src/dicom/stow.js';

const OK_BODY = JSON.stringify({
  '00081199': { vr: 'SQ', Value: [{ '00081150': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.66.4'] }, '00081155': { vr: 'UI', Value: ['2.25.1'] } }] },
  '00081198': { vr: 'SQ', Value: [{ '00081150': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.88.33'] }, '00081155': { vr: 'UI', Value: ['2.25.2'] }, '00081197': { vr: 'US', Value: [272] } }] },
});

describe('STOW-RS body and response', () => {
  it('writes one application/dicom part per instance between boundaries', () => {
    const { body, contentType } = stowBody([Uint8Array.of(1, 2), Uint8Array.of(3)], 'b0');
    expect(contentType).toBe('multipart/related; type="application/dicom"; boundary=b0');
    expect(Buffer.from(body).toString('latin1')).toBe('--b0\r\nContent-Type: application/dicom\r\n\r\n\x01\x02\r\n--b0\r\nContent-Type: application/dicom\r\n\r\n\x03\r\n--b0--\r\n');
  });

  it('chooses another boundary when a part contains it', () => {
    const { contentType } = stowBody([new TextEncoder().encode('--b0 inside')], 'b0');
    expect(contentType).not.toMatch(/boundary=b0$/);
  });

  it('reads stored and failed instances', () => {
    expect(parseStowResponse(OK_BODY)).toEqual({
      stored: [{ sopClassUid: '1.2.840.10008.5.1.4.1.1.66.4', sopInstanceUid: '2.25.1' }],
      failed: [{ sopClassUid: '1.2.840.10008.5.1.4.1.1.88.33', sopInstanceUid: '2.25.2', reason: 272 }],
    });
    expect(parseStowResponse('')).toEqual({ stored: [], failed: [] });
    expect(() => parseStowResponse('<html>')).toThrow('STOW-RS returned a body that is not JSON.');
  });
});

describe('DicomWebClient.storeInstances', () => {
  let server: Server;
  let origin: string;
  let answer: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
  const seen: { method: string; url: string; type: string; length: number }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        seen.push({ method: req.method ?? '', url: req.url ?? '', type: req.headers['content-type'] ?? '', length: body.length });
        answer(req, res, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    seen.length = 0;
  });

  const client = (extra = {}): ReturnType<typeof createDicomWebClient> =>
    createDicomWebClient({ allowList: { isAllowed: (u) => u.startsWith(origin) }, auth: { kind: 'bearer', token: 't' }, retryBaseDelayMs: 1, ...extra });

  it('POSTs multipart/related to {root}/studies and returns what the PACS stored', async () => {
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/dicom+json' }).end(OK_BODY);
    const result = await client().storeInstances(`${origin}/dicom-web`, [Uint8Array.of(1, 2, 3)]);
    expect(result.stored).toHaveLength(1);
    expect(seen.map((r) => [r.method, r.url])).toEqual([['POST', '/dicom-web/studies']]);
    expect(seen[0]?.type).toMatch(/^multipart\/related; type="application\/dicom"; boundary=/);
  });

  it('retries a 503 (the UIDs are deterministic, so a repeat stores nothing twice)', async () => {
    let calls = 0;
    answer = (_req, res) => (++calls === 1 ? res.writeHead(503).end() : res.writeHead(200, { 'content-type': 'application/dicom+json' }).end(OK_BODY));
    await expect(client().storeInstances(`${origin}/dicom-web`, [Uint8Array.of(1)])).resolves.toMatchObject({ stored: [expect.anything()] });
    expect(seen).toHaveLength(2);
  });

  it('does not follow a redirect, and a 409 fails', async () => {
    answer = (_req, res) => res.writeHead(307, { location: 'http://example.org/steal' }).end();
    await expect(client().storeInstances(`${origin}/dicom-web`, [Uint8Array.of(1)])).rejects.toThrow(/^The PACS answered 307 .*\(a redirect, not followed\)/);
    answer = (_req, res) => res.writeHead(409).end();
    await expect(client().storeInstances(`${origin}/dicom-web`, [Uint8Array.of(1)])).rejects.toMatchObject({ code: 'UPSTREAM_FAILED' });
  });

  it('refuses an origin off the allow-list and a body over the cap before sending anything', async () => {
    await expect(client().storeInstances('http://192.0.2.1/dicom-web', [Uint8Array.of(1)])).rejects.toMatchObject({ code: 'OUTBOUND_NOT_ALLOWED' });
    await expect(client({ maxStoreBytes: 100 }).storeInstances(`${origin}/dicom-web`, [new Uint8Array(200)])).rejects.toMatchObject({ code: 'DICOM_TOO_LARGE' });
    expect(seen).toHaveLength(0);
  });
});
