/**
 * The whole system for integration tests: a real Orthanc (DICOMweb) and a real FHIR server
 * started on loopback, the real sample radiographs uploaded and described in FHIR, and the
 * service built by the same wiring as production (real models, templates, DICOMweb client,
 * FHIR client). Only the clock and the log destination are the test's.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Endpoint, ImagingStudy, Patient } from 'fhir/r4.js';
import type { Express } from 'express';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logging.js';
import { createApp } from '../../src/app.js';
import { buildDependencies, type RunningDeps } from '../../src/wiring.js';
import { randomUUID } from 'node:crypto';
import { IMAGINGSTUDY_AVAILABLE_HOOK } from '../../src/terminology.js';
import { parseDicom } from '../../src/dicom/parse.js';
import { sampleImagingStudy, wadoRsEndpoint } from '../../src/cli/sample-fhir.js';
import type { DicomImageInfo } from '../../src/dicom/types.js';
import { startOrthanc, type OrthancServer, type StartOrthancOptions } from './orthanc.js';
import { startFhirServer, type TestFhirServer } from './fhir-server.js';

export const FIXTURES = path.resolve('test/fixtures/cxr');
export const EHR_TOKEN = 'ehr-access-token-7f3a9c';
export const PATIENT_ID = 'pat-cxr-4711';
/**
 * The test patient is a child of 3 at every sample study: the chest models were validated on
 * children aged 1–5 only (manifest `accepts.patientAge`) and refuse anyone else.
 */
export const PATIENT_BIRTH_DATE = '2023-05-02';
/** A second patient, aged 40 at the sample studies' dates, for the models validated on adults. */
export const ADULT_PATIENT_ID = 'pat-adult-0815';
export const ADULT_BIRTH_DATE = '1986-05-02';
export const NOW = new Date('2026-11-23T12:00:00Z');
export const DEAD_PACS = 'http://127.0.0.1:9';
/** The models the integration suites run. */
export const PINNED_MODELS = 'pneumonia-cxr-28,breast-us-28,retina-dr-28,retina-vessels-drive';

export interface SampleStudy {
  readonly file: string;
  readonly info: DicomImageInfo;
  /** ImagingStudy.id in the FHIR server. */
  readonly studyId: string;
  readonly study: ImagingStudy;
}

export interface Stack {
  readonly orthanc: OrthancServer;
  readonly fhir: TestFhirServer;
  readonly app: Express;
  readonly deps: RunningDeps;
  readonly samples: readonly SampleStudy[];
  readonly endpoint: Endpoint;
  /** Every log line the service wrote. */
  readonly logs: string[];
  readonly dataDir: string;
  /** Builds another app on the same servers and data directory (a restart). */
  restart(): Promise<{ app: Express; deps: RunningDeps }>;
  stop(): Promise<void>;
}

/** ImagingStudy for one sample file, `started` days before NOW. */
export function imagingStudyFor(id: string, info: DicomImageInfo, daysAgo: number, endpointId = 'orthanc'): ImagingStudy {
  return sampleImagingStudy(info, { id, patientId: PATIENT_ID, endpointId, started: new Date(NOW.getTime() - daysAgo * 86_400_000).toISOString(), description: 'XR CHEST AP' });
}

/** The sample files: one study per source image (the MONOCHROME2 8-bit variant). */
export function sampleFiles(): string[] {
  return readdirSync(FIXTURES).filter((f) => f.endsWith('.dcm')).sort();
}

export interface StackOptions {
  /** Extra environment for the service config (e.g. trusted issuers). */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra environment that needs the started servers' URLs (applied after `env`). */
  readonly envFor?: (servers: { readonly fhirBaseUrl: string; readonly dicomWebRoot: string }) => Readonly<Record<string, string>>;
  /** Which fixture files to upload (default: all). */
  readonly files?: readonly string[];
  /** Orthanc's options (e.g. a Lua script and its settings). */
  readonly orthanc?: StartOrthancOptions;
}

/**
 * Starts Orthanc and the FHIR server, uploads and describes the samples, builds the service.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const [orthanc, fhir] = await Promise.all([startOrthanc(options.orthanc), startFhirServer({ token: EHR_TOKEN })]);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'imaging-cds-test-'));
  const logs: string[] = [];
  try {
    const endpoint = wadoRsEndpoint('orthanc', orthanc.dicomWebRoot);
    const patient: Patient = { resourceType: 'Patient', id: PATIENT_ID, name: [{ family: 'Sample', given: ['Cxr'] }], birthDate: PATIENT_BIRTH_DATE };
    const adult: Patient = { resourceType: 'Patient', id: ADULT_PATIENT_ID, name: [{ family: 'Sample', given: ['Adult'] }], birthDate: ADULT_BIRTH_DATE };
    const samples: SampleStudy[] = [];
    let n = 0;
    for (const file of options.files ?? sampleFiles()) {
      const bytes = readFileSync(path.join(FIXTURES, file));
      await orthanc.upload(bytes);
      const info = parseDicom(bytes).info;
      n += 1;
      const studyId = `cxr-${n}`;
      samples.push({ file, info, studyId, study: imagingStudyFor(studyId, info, 40 + n) });
    }
    await fhir.seed([patient, adult, endpoint, ...samples.map((s) => s.study)]);

    const build = async (): Promise<{ app: Express; deps: RunningDeps }> => {
      const config = loadConfig({
        PORT: '8080',
        PUBLIC_BASE_URL: 'https://cds.example.org',
        FHIR_SERVER_ALLOWLIST: fhir.baseUrl,
        // Port 9 (discard) on loopback: allow-listed but dead, for "PACS down" tests.
        DICOMWEB_ALLOWLIST: `${orthanc.baseUrl},${DEAD_PACS}`,
        DICOMWEB_AUTH: 'basic',
        DICOMWEB_USERNAME: orthanc.username,
        DICOMWEB_PASSWORD: orthanc.password,
        DICOMWEB_TIMEOUT_MS: '5000',
        FHIR_TIMEOUT_MS: '3000',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'debug',
        BODY_LIMIT: '1mb',
        // Pinned: the sample radiographs' expected probabilities (fixtures/cxr/expected.json) are
        // pneumonia-cxr-28's, which ships switched off now that pneumonia-cxr-224 is the default.
        MODELS: PINNED_MODELS,
        // The result hook waits for its analysis as long as a cold CPU analysis may take on a busy
        // test machine, so these suites see the finding cards; the in-progress answer under the
        // default budget is tested in the jobs suites.
        HOOK_BUDGET_MS: '120000',
        ...options.env,
        ...options.envFor?.({ fhirBaseUrl: fhir.baseUrl, dicomWebRoot: orthanc.dicomWebRoot }),
      });
      const sink = new PassThrough();
      sink.on('data', (chunk: Buffer) => logs.push(...chunk.toString('utf8').split('\n').filter((l) => l !== '')));
      const deps = await buildDependencies(config, createLogger('debug', sink), { now: () => NOW });
      return { app: createApp(deps), deps };
    };
    const first = await build();
    const running: RunningDeps[] = [first.deps];
    return {
      orthanc,
      fhir,
      app: first.app,
      deps: first.deps,
      samples,
      endpoint,
      logs,
      dataDir,
      async restart() {
        const next = await build();
        running.push(next.deps);
        return next;
      },
      async stop() {
        for (const d of running) await d.close().catch(() => undefined);
        await Promise.all([orthanc.stop(), fhir.stop()]);
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all([orthanc.stop(), fhir.stop()]);
    throw err;
  }
}

/**
 * A result-hook request for a study of the stack: the service reads the ImagingStudy (and what
 * `prefetch` does not carry) from the stack's FHIR server with the EHR's token.
 */
export function resultHookBody(fhirBaseUrl: string, imagingStudyId: string, prefetch?: unknown, patientId = PATIENT_ID): Record<string, unknown> {
  return {
    hook: IMAGINGSTUDY_AVAILABLE_HOOK,
    hookInstance: randomUUID(),
    fhirServer: fhirBaseUrl,
    fhirAuthorization: { access_token: EHR_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'imaging-cds' },
    context: { patientId, imagingStudyId },
    ...(prefetch === undefined ? {} : { prefetch }),
  };
}
