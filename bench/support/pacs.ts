/**
 * A PACS for a bench: Debian's Orthanc with its DICOMweb plugin on loopback, basic auth with a
 * random password, storage in the bench's temporary folder. Studies are made by uploading a
 * sample file and re-identified copies of it (Orthanc's `/instances/{id}/modify`).
 * ORTHANC_BIN names another binary; `scripts/provision-test-deps.sh` installs Debian's.
 */
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { freePort, launch, waitUntil } from './processes.js';

const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

export interface BenchPacs {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** `<baseUrl>/dicom-web`, as an Endpoint names it */
  readonly dicomWebRoot: string;
  readonly username: string;
  readonly password: string;
  readonly version: string;
  readonly pid: number | undefined;
  /** Stores a Part 10 file; returns Orthanc's instance id. */
  store(file: Uint8Array): Promise<string>;
  /** A copy of a stored instance with these attributes replaced (not stored). */
  modified(instanceId: string, replace: Readonly<Record<string, string>>): Promise<Uint8Array>;
  /** Retrieves a whole study over WADO-RS once (fills Orthanc's and the OS's caches). */
  retrieveStudy(studyInstanceUid: string): Promise<number>;
  stop(): Promise<void>;
}

function orthancBinary(): string {
  for (const c of [process.env['ORTHANC_BIN'], '/usr/sbin/Orthanc', ...(process.env['PATH'] ?? '').split(path.delimiter).map((d) => path.join(d, 'Orthanc'))]) {
    if (c === undefined || c === '') continue;
    try {
      accessSync(c, constants.X_OK);
      accessSync(DICOMWEB_PLUGIN, constants.R_OK);
      return c;
    } catch {
      // next candidate
    }
  }
  throw new Error(`Orthanc or its DICOMweb plugin (${DICOMWEB_PLUGIN}) is missing: run scripts/provision-test-deps.sh (Debian packages orthanc, orthanc-dicomweb)`);
}

/** A new DICOM UID under the 2.25 root (a UUID as a decimal integer). */
export const newUid = (): string => `2.25.${BigInt(`0x${randomUUID().replaceAll('-', '')}`).toString()}`;

/** Starts Orthanc in `dir` and waits until its REST API answers as this instance. */
export async function startBenchPacs(dir: string): Promise<BenchPacs> {
  const bin = orthancBinary();
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const name = `bench-${randomBytes(4).toString('hex')}`;
  const username = 'bench';
  const password = randomBytes(16).toString('hex');
  const config = path.join(dir, 'orthanc.json');
  writeFileSync(config, JSON.stringify({
    Name: name,
    HttpPort: port,
    DicomServerEnabled: false,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [username]: password },
    StorageDirectory: path.join(dir, 'storage'),
    IndexDirectory: path.join(dir, 'index'),
    Plugins: [DICOMWEB_PLUGIN],
    DicomWeb: { Enable: true, Root: '/dicom-web/' },
    SaveJobs: false,
  }));
  const proc = launch('Orthanc', bin, [config], { env: {}, cwd: dir, logFile: path.join(dir, 'orthanc.log') });
  const baseUrl = `http://127.0.0.1:${port}`;
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  let version = '?';
  try {
    await waitUntil('Orthanc answering /system', async () => {
      try {
        const res = await fetch(`${baseUrl}/system`, { headers: { authorization }, signal: AbortSignal.timeout(1000) });
        if (!res.ok) {
          await res.body?.cancel();
          return false;
        }
        const system = (await res.json()) as { Name?: string; Version?: string };
        version = system.Version ?? '?';
        return system.Name === name;
      } catch {
        return false;
      }
    }, proc, 30_000, 100);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const rest = async (method: string, route: string, body: Uint8Array | string, contentType: string): Promise<Response> => {
    const res = await fetch(`${baseUrl}${route}`, { method, headers: { authorization, 'content-type': contentType }, body });
    if (!res.ok) throw new Error(`Orthanc ${method} ${route}: ${res.status} ${(await res.text()).slice(0, 300)}`);
    return res;
  };
  return {
    baseUrl,
    dicomWebRoot: `${baseUrl}/dicom-web`,
    username,
    password,
    version,
    pid: proc.pid,
    async store(file) {
      return ((await (await rest('POST', '/instances', file, 'application/dicom')).json()) as { ID: string }).ID;
    },
    async modified(instanceId, replace) {
      const res = await rest('POST', `/instances/${instanceId}/modify`, JSON.stringify({ Replace: replace, Force: true }), 'application/json');
      return new Uint8Array(await res.arrayBuffer());
    },
    async retrieveStudy(studyInstanceUid) {
      const res = await fetch(`${baseUrl}/dicom-web/studies/${studyInstanceUid}`, { headers: { authorization, accept: 'multipart/related; type="application/dicom"' } });
      const bytes = await res.arrayBuffer();
      if (!res.ok) throw new Error(`WADO-RS study ${studyInstanceUid}: ${res.status}`);
      return bytes.byteLength;
    },
    stop: () => proc.stop(),
  };
}
