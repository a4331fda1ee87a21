/**
 * A tiny read-only DICOMweb server for the demo: it serves a folder of DICOM files over the
 * WADO-RS and QIDO-RS routes the service uses, on loopback, so `npm run demo` needs no PACS.
 * Not for production and not used by tests (tests use a real Orthanc).
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseDicom } from '../dicom/index.js';
import type { DicomImageInfo } from '../dicom/index.js';

export interface DemoInstance {
  readonly file: string;
  readonly info: DicomImageInfo;
  readonly bytes: Buffer;
  readonly studyDescription: string | undefined;
}

export interface DemoPacs {
  readonly root: string;
  readonly instances: readonly DemoInstance[];
  close(): Promise<void>;
}

/**
 * Starts the demo PACS on 127.0.0.1 (random port).
 *
 * @param dir - folder of `.dcm` files
 */
export async function startDemoPacs(dir: string): Promise<DemoPacs> {
  const instances: DemoInstance[] = readdirSync(dir)
    .filter((f) => f.endsWith('.dcm'))
    .sort()
    .map((file) => {
      const bytes = readFileSync(path.join(dir, file));
      const parsed = parseDicom(bytes);
      return { file, info: parsed.info, bytes, studyDescription: parsed.info.studyDescription };
    });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = /^\/dicom-web\/studies\/([\d.]+)\/series\/([\d.]+)\/instances(?:\/([\d.]+))?$/.exec(url.pathname);
    const study = m?.[1];
    const series = m?.[2];
    const matches = instances.filter((i) => i.info.studyInstanceUid === study && i.info.seriesInstanceUid === series && (m?.[3] === undefined || i.info.sopInstanceUid === m[3]));
    if (m === null || matches.length === 0) {
      res.writeHead(404).end();
      return;
    }
    if (m[3] === undefined) {
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      res.end(JSON.stringify(matches.map((i) => ({ '00080018': { vr: 'UI', Value: [i.info.sopInstanceUid] } }))));
      return;
    }
    const boundary = randomUUID();
    const instance = matches[0];
    if (instance === undefined) return;
    res.writeHead(200, { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` });
    res.end(Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), instance.bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    root: `http://127.0.0.1:${port}/dicom-web`,
    instances,
    close: () => new Promise((resolve, reject) => server.close((err) => { if (err === undefined) resolve(); else reject(err); })),
  };
}
