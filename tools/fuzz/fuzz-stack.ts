/**
 * The service under fuzzing, twice: unauthenticated, and authenticated with a local JWKS
 * issuer. Each is test/support/stack.ts's whole stack (a real Orthanc with the sample
 * radiographs, the medplum FHIR server describing them, the service built by src/wiring.ts)
 * served over real HTTP on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EHR_TOKEN, PATIENT_ID, startStack, type Stack } from '../../test/support/stack.js';
import { createIssuer, type Issuer } from './jwt.js';
import type { Mode, Target } from './request-build.js';

/** test/support/stack.ts configures the service with this PUBLIC_BASE_URL. */
const PUBLIC_BASE_URL = 'https://cds.example.org';

/** One service error log line (pino level ≥ 50). */
export interface ErrorLog {
  readonly requestId: string | undefined;
  readonly msg: string;
  readonly text: string;
}

export interface RunningTarget extends Target {
  readonly stack: Stack;
  /** Takes the log lines written since the last call; returns the error-level ones. */
  drainErrors(): ErrorLog[];
  /** Whether its Orthanc still answers. */
  orthancAlive(): Promise<boolean>;
  close(): Promise<void>;
}

async function listen(stack: Stack): Promise<Server> {
  const server = createServer(stack.app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { resolve(); });
  });
  return server;
}

function errorsIn(lines: readonly string[]): ErrorLog[] {
  const out: ErrorLog[] = [];
  for (const line of lines) {
    let entry: { level?: unknown; msg?: unknown; requestId?: unknown; err?: { stack?: unknown; message?: unknown } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (typeof entry.level !== 'number' || entry.level < 50) continue;
    const stack = typeof entry.err?.stack === 'string' ? entry.err.stack : typeof entry.err?.message === 'string' ? entry.err.message : '';
    out.push({ requestId: typeof entry.requestId === 'string' ? entry.requestId : undefined, msg: String(entry.msg), text: stack === '' ? line.slice(0, 2000) : stack.split('\n').slice(0, 12).join('\n') });
  }
  return out;
}

/** A frozen deep copy: a mutation that changed the stack's data in place would throw, not leak into later cases. */
function frozen<T>(value: T): T {
  const copy = structuredClone(value);
  const freeze = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return;
    Object.freeze(v);
    for (const child of Object.values(v)) freeze(child);
  };
  freeze(copy);
  return copy;
}

/** Starts one service with its own Orthanc and FHIR server (`issuer` undefined: unauthenticated). */
export async function startTarget(mode: Mode, issuer: Issuer | undefined): Promise<RunningTarget> {
  const env: Record<string, string> = issuer === undefined ? {} : { HOST: '127.0.0.1', CDS_TRUSTED_ISSUERS: issuer.trustedIssuers };
  const stack = await startStack({ env });
  const server = await listen(stack);
  const port = (server.address() as AddressInfo).port;
  return {
    mode,
    port,
    stack,
    issuer,
    publicBaseUrl: PUBLIC_BASE_URL,
    data: frozen({ patientId: PATIENT_ID, studies: stack.samples.map((s) => s.study), endpoint: stack.endpoint, fhirBaseUrl: stack.fhir.baseUrl, ehrToken: EHR_TOKEN }),
    drainErrors: () => errorsIn(stack.logs.splice(0, stack.logs.length)),
    orthancAlive: async () => {
      const auth = `Basic ${Buffer.from(`${stack.orthanc.username}:${stack.orthanc.password}`).toString('base64')}`;
      return fetch(`${stack.orthanc.baseUrl}/system`, { headers: { authorization: auth }, signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
      await stack.stop();
    },
  };
}

/** Starts both services; `close` stops them and removes the issuer's keys. */
export async function startTargets(): Promise<{ targets: Record<Mode, RunningTarget>; close: () => Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'imaging-cds-fuzz-jwks-'));
  const noauth = await startTarget('noauth', undefined);
  try {
    const auth = await startTarget('auth', createIssuer(dir));
    return {
      targets: { noauth, auth },
      async close() {
        await Promise.all([noauth.close(), auth.close()]);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await noauth.close();
    throw err;
  }
}
