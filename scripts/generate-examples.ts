/**
 * Generates fhir-resources/examples/: one result Bundle (type `collection`, as served by
 * GET /results/ImagingStudy/:id) per sample study in test/fixtures/cxr, produced by the real
 * pipeline: demo DICOMweb server → result hook over HTTP → DICOM decode → ONNX model → templates.
 *
 * Run: `npx tsc -p tsconfig.build.json && node dist/scripts/generate-examples.js`.
 * test/integration/examples-drift.test.ts regenerates them in memory and compares, so the
 * checked-in examples cannot drift from what the service emits. Analysis times are pinned to
 * {@link EXAMPLE_INSTANT} (they are the only values that change from run to run).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Attachment, Bundle, DiagnosticReport } from 'fhir/r4.js';
import { loadConfig, PROJECT_ROOT } from '../src/config.js';
import { createLogger } from '../src/logging.js';
import { createApp } from '../src/app.js';
import { buildDependencies } from '../src/wiring.js';
import { startDemoPacs, resultHookRequest, sampleImagingStudy, wadoRsEndpoint } from '../src/cli/index.js';
import { LOCAL_DOMAIN } from '../src/http/index.js';

/** The instant every analysis-time field is set to in the examples. */
export const EXAMPLE_INSTANT = '2026-01-01T00:00:00.000Z';
export const EXAMPLES_DIR = path.join(PROJECT_ROOT, 'fhir-resources', 'examples');

const TIME_KEYS = new Set(['issued', 'recorded', 'timestamp']);

/**
 * Replaces the analysis-time instants (`issued`, `recorded`, `Bundle.timestamp`) with one value.
 *
 * @param value - any JSON
 * @param instant - the replacement
 */
export function normaliseTimestamps<T>(value: T, instant = EXAMPLE_INSTANT): T {
  if (Array.isArray(value)) return value.map((v: unknown) => normaliseTimestamps(v, instant)) as T;
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = TIME_KEYS.has(k) && typeof v === 'string' ? instant : normaliseTimestamps(v, instant);
  return out as T;
}

/** Whether a stored report still says its saliency map is being made (in its HTML narrative). */
function mapPending(bundle: Bundle): boolean {
  const reports = (bundle.entry ?? []).map((e) => e.resource).filter((r): r is DiagnosticReport => r?.resourceType === 'DiagnosticReport');
  const forms: Attachment[] = reports.flatMap((r) => r.presentedForm ?? []);
  return forms.some((f) => f.contentType?.startsWith('text/html') === true && Buffer.from(f.data ?? '', 'base64').toString('utf8').includes('still being made'));
}

/**
 * The stored results of a study once complete: the hook answers before a saliency map is made,
 * and the stored result is replaced by one with the map shortly after.
 */
async function completedResults(deps: Awaited<ReturnType<typeof buildDependencies>>, imagingStudyId: string): Promise<Bundle | undefined> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const bundle = await deps.results({ domain: LOCAL_DOMAIN, patientId: 'example-patient', imagingStudyId });
    if (bundle === undefined || !mapPending(bundle) || Date.now() > deadline) return bundle;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Runs the pipeline on every sample study.
 *
 * @returns file name → Bundle (timestamps normalised)
 */
export async function generateExampleBundles(): Promise<Map<string, Bundle>> {
  const pacs = await startDemoPacs(path.join(PROJECT_ROOT, 'test', 'fixtures', 'cxr'));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'imaging-cds-examples-'));
  const deps = await buildDependencies(loadConfig({ PORT: '0', HOST: '127.0.0.1', DICOMWEB_ALLOWLIST: pacs.root, DATA_DIR: dataDir, LOG_LEVEL: 'silent', HOOK_BUDGET_MS: '120000' }), createLogger('silent'));
  const server = createApp(deps).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const out = new Map<string, Bundle>();
  try {
    const seen = new Set<string>();
    for (const instance of pacs.instances) {
      // One study per source image: the file variants of an image share its StudyInstanceUID.
      if (seen.has(instance.info.studyInstanceUid)) continue;
      seen.add(instance.info.studyInstanceUid);
      const stem = instance.file.replace(/\.dcm$/, '');
      const study = sampleImagingStudy(instance.info, { id: `example-${out.size + 1}`, patientId: 'example-patient', endpointId: 'example-pacs', started: '2025-12-31T09:30:00Z', description: 'XR CHEST AP (sample)' });
      const res = await fetch(`${base}/cds-services/imaging-ai-result`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(resultHookRequest(study, wadoRsEndpoint('example-pacs', pacs.root))),
      });
      if (res.status !== 200) throw new Error(`result hook answered ${res.status} for ${instance.file}`);
      const bundle = await completedResults(deps, study.id ?? '');
      if (bundle === undefined) throw new Error(`no results recorded for ${instance.file}`);
      out.set(`Bundle-result-${stem}.json`, normaliseTimestamps(bundle));
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    await deps.close();
    await pacs.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return out;
}

/** Serialises an example the way it is checked in. */
export const serialise = (bundle: Bundle): string => `${JSON.stringify(bundle, null, 2)}\n`;

async function main(): Promise<void> {
  const bundles = await generateExampleBundles();
  mkdirSync(EXAMPLES_DIR, { recursive: true });
  for (const [name, bundle] of bundles) {
    writeFileSync(path.join(EXAMPLES_DIR, name), serialise(bundle));
    process.stdout.write(`wrote fhir-resources/examples/${name}\n`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
