/**
 * Starts a real Orthanc (Debian's, with the DICOMweb and GDCM plugins) on loopback for a test
 * suite, and stops it. Each call gets its own temp directory, free port, unique name and random
 * password, so suites in parallel jest workers never share or mistake each other's server.
 * If Orthanc is missing or does not start, this throws with Orthanc's own output: a suite that
 * needs a PACS must fail, never silently pass.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './free-port.js';

const PLUGINS = ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so', '/usr/share/orthanc/plugins/libOrthancGdcm.so'];
const OUTPUT_TAIL = 16_000;

/** What Orthanc answers to `POST /instances`. */
export interface OrthancUpload {
  readonly ID: string;
  readonly ParentPatient: string;
  readonly ParentStudy: string;
  readonly ParentSeries: string;
  readonly Path: string;
  readonly Status: string;
}

/** A running Orthanc. */
export interface OrthancServer {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** `http://127.0.0.1:<port>/dicom-web` */
  readonly dicomWebRoot: string;
  readonly username: string;
  readonly password: string;
  /** Stores one Part 10 file (REST `POST /instances`). */
  upload(file: Uint8Array): Promise<OrthancUpload>;
  /** SIGTERM, wait for exit (SIGKILL after 10 s), remove the temp directory. Idempotent. */
  stop(): Promise<void>;
}

/** Options for {@link startOrthanc}. */
export interface StartOrthancOptions {
  /** How long to wait for `/system` to answer. Default 20 s. */
  readonly startTimeoutMs?: number;
  /** Further configuration merged into Orthanc's (e.g. LuaScripts, StableAge). */
  readonly config?: Readonly<Record<string, unknown>>;
}

/**
 * Starts Orthanc and waits until its REST API answers as this instance.
 *
 * @throws Error naming the binary or quoting Orthanc's output when it cannot be started
 */
export async function startOrthanc(options: StartOrthancOptions = {}): Promise<OrthancServer> {
  const binary = findOrthanc();
  const missing = PLUGINS.filter((p) => !isReadable(p));
  if (missing.length > 0) throw new Error(`Orthanc plugins missing: ${missing.join(', ')}. Run scripts/provision-test-deps.sh.`);
  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  let lastError: Error | undefined;
  // A free port can be taken between our probe and Orthanc's bind (parallel workers): retry.
  for (let tries = 0; tries < 4 && Date.now() < deadline; tries++) {
    try {
      return await startOnce(binary, deadline, options.config ?? {});
    } catch (err) {
      lastError = err instanceof Error ? err : new Error(String(err));
      if (!(err instanceof PortTakenError)) break;
    }
  }
  throw lastError ?? new Error('Orthanc did not start before the deadline.');
}

async function startOnce(binary: string, deadline: number, extra: Readonly<Record<string, unknown>>): Promise<OrthancServer> {
  const dir = mkdtempSync(join(tmpdir(), 'orthanc-test-'));
  const port = await freePort();
  const name = `test-${randomBytes(6).toString('hex')}`;
  const username = 'tester';
  const password = randomBytes(12).toString('hex');
  const configPath = join(dir, 'orthanc.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      Name: name,
      HttpPort: port,
      DicomServerEnabled: false,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: true,
      RegisteredUsers: { [username]: password },
      StorageDirectory: join(dir, 'storage'),
      IndexDirectory: join(dir, 'index'),
      Plugins: PLUGINS,
      DicomWeb: { Enable: true, Root: '/dicom-web/' },
      SaveJobs: false,
      ...extra,
    }),
  );
  const child = spawn(binary, [configPath], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited = false;
  let spawnError: Error | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  child.once('error', (err) => {
    spawnError = err;
    exited = true;
  });
  // A jest worker that dies without calling stop() must not leave Orthanc running.
  const killOnExit = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const baseUrl = `http://127.0.0.1:${port}`;
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    await terminate(child, () => exited, exit);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitUntilReady(baseUrl, authorization, name, deadline, () => exited);
  } catch (err) {
    await stop();
    const why = spawnError !== undefined ? `could not be spawned (${spawnError.message})` : err instanceof Error ? err.message : String(err);
    const message = `Orthanc (${binary}) on port ${port} ${why}.\n--- Orthanc output ---\n${output}`;
    const taken = /already in use/.test(output) || (err instanceof Error && err.message.startsWith('port answered'));
    throw taken ? new PortTakenError(message) : new Error(message);
  }

  return {
    baseUrl,
    dicomWebRoot: `${baseUrl}/dicom-web`,
    username,
    password,
    async upload(file: Uint8Array): Promise<OrthancUpload> {
      const res = await fetch(`${baseUrl}/instances`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/dicom' },
        body: file,
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`Orthanc refused the upload: ${res.status} ${text.slice(0, 500)}`);
      return JSON.parse(text) as OrthancUpload;
    },
    stop,
  };
}

/** The probed port was taken by someone else before Orthanc bound it; worth another try. */
class PortTakenError extends Error {}

async function waitUntilReady(baseUrl: string, authorization: string, name: string, deadline: number, hasExited: () => boolean): Promise<void> {
  for (;;) {
    if (hasExited()) throw new Error('exited before it was ready (port in use, or a bad config?)');
    if (Date.now() > deadline) throw new Error('did not answer /system before the deadline');
    try {
      const res = await fetch(`${baseUrl}/system`, { headers: { authorization }, signal: AbortSignal.timeout(1000) });
      if (res.ok) {
        const system = (await res.json()) as { Name?: string };
        // Another worker's Orthanc on this port would answer 401 (other password) or another Name.
        if (system.Name === name) return;
        throw new Error(`port answered as another server (${String(system.Name)})`);
      }
      await res.body?.cancel();
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('port answered')) throw err;
      // Not listening yet: poll again.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function terminate(child: ChildProcess, hasExited: () => boolean, exit: Promise<void>): Promise<void> {
  if (hasExited() || child.pid === undefined) return;
  child.kill('SIGTERM');
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => {
      resolve('timeout');
    }, 10_000).unref());
  if ((await Promise.race([exit.then(() => 'exited' as const), timer])) === 'timeout') {
    child.kill('SIGKILL');
    await exit;
  }
}


function findOrthanc(): string {
  const candidates = [
    process.env['ORTHANC_BIN'],
    '/usr/sbin/Orthanc',
    ...(process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, 'Orthanc')),
  ].filter((c): c is string => c !== undefined && c !== '');
  const found = candidates.find((c) => isExecutable(c));
  if (found === undefined) {
    throw new Error('Orthanc is not installed (looked for $ORTHANC_BIN, /usr/sbin/Orthanc and Orthanc on PATH). Run scripts/provision-test-deps.sh.');
  }
  return found;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isReadable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
