/**
 * Hook → cards latency through the real service and a real Orthanc.
 *
 * cold:     each call is a study the service has never seen (a re-identified copy of a real
 *           sample radiograph, new Study/Series/SOP UIDs via Orthanc's /modify), so the call
 *           pays WADO-RS retrieval, DICOM parsing, pixel decoding, preprocessing and inference.
 * repeated: the same study again: answered from the result cache.
 * The EHR prefetches the ImagingStudy and Endpoint (as a real EHR would), so no FHIR server.
 *
 *   npm run bench            (builds, provisions Orthanc if missing, prints p50/p95 and the ratio)
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../src/config.js';
import { createLogger } from '../src/logging.js';
import { createApp } from '../src/app.js';
import { buildDependencies } from '../src/wiring.js';
import { parseDicom } from '../src/dicom/index.js';
import { resultHookRequest, sampleImagingStudy, wadoRsEndpoint } from '../src/cli/index.js';
import { startOrthanc, type OrthancServer } from '../test/support/orthanc.js';

const COLD = Number(process.env.BENCH_COLD ?? 30);
const REPEATED = Number(process.env.BENCH_REPEATED ?? 100);

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

function summary(ms: number[]): { p50: number; p95: number; mean: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p95: percentile(s, 95), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

async function reidentified(orthanc: OrthancServer, instanceId: string): Promise<Uint8Array> {
  const auth = `Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}`;
  const uid = (): string => `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
  const res = await fetch(`${orthanc.baseUrl}/instances/${instanceId}/modify`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ Replace: { StudyInstanceUID: uid(), SeriesInstanceUID: uid(), SOPInstanceUID: uid() }, Force: true }),
  });
  if (!res.ok) throw new Error(`Orthanc /modify answered ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

function hookBody(bytes: Uint8Array, root: string): object {
  const study = sampleImagingStudy(parseDicom(bytes).info, { id: 'bench', patientId: 'bench', endpointId: 'pacs' });
  return resultHookRequest(study, wadoRsEndpoint('pacs', root));
}

async function main(): Promise<void> {
  const orthanc = await startOrthanc();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'imaging-cds-bench-'));
  const fixtures = path.join(PROJECT_ROOT, 'test', 'fixtures', 'cxr');
  const files = readdirSync(fixtures).filter((f) => f.endsWith('.dcm')).sort();
  // A normal radiograph (one model run) and a pneumonia one (flagged: the saliency map adds ~170 runs).
  const file = files.find((f) => f.startsWith('normal'));
  const flaggedFile = files.find((f) => f.startsWith('pneumonia'));
  if (file === undefined || flaggedFile === undefined) throw new Error('no normal and pneumonia sample radiographs in test/fixtures/cxr');
  const original = await orthanc.upload(readFileSync(path.join(fixtures, file)));
  const flaggedOriginal = await orthanc.upload(readFileSync(path.join(fixtures, flaggedFile)));
  const config = loadConfig({ PORT: '0', DICOMWEB_ALLOWLIST: orthanc.baseUrl, DICOMWEB_AUTH: 'basic', DICOMWEB_USERNAME: orthanc.username, DICOMWEB_PASSWORD: orthanc.password, DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const deps = await buildDependencies(config, createLogger('silent'));
  const server = createApp(deps).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cds-services/imaging-ai-result`;
  const call = async (body: object): Promise<number> => {
    const t0 = performance.now();
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as { cards?: unknown[] };
    const ms = performance.now() - t0;
    if (res.status !== 200 || json.cards?.length !== 1) throw new Error(`unexpected answer ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
    return ms;
  };
  try {
    // Prepare the cold studies first, so their upload is not timed.
    const cold: object[] = [];
    for (let i = 0; i < COLD + 1; i += 1) {
      const bytes = await reidentified(orthanc, original.ID);
      await orthanc.upload(bytes);
      cold.push({ ...hookBody(bytes, orthanc.dicomWebRoot) });
    }
    await call(cold.pop() ?? {}); // warm-up: JIT, connection pool; not counted
    const coldMs: number[] = [];
    for (const body of cold) coldMs.push(await call({ ...body, hookInstance: randomUUID() }));
    const repeatedMs: number[] = [];
    const again = cold[0] ?? {};
    for (let i = 0; i < REPEATED; i += 1) repeatedMs.push(await call({ ...again, hookInstance: randomUUID() }));
    const flaggedMs: number[] = [];
    for (let i = 0; i < COLD; i += 1) {
      const bytes = await reidentified(orthanc, flaggedOriginal.ID);
      await orthanc.upload(bytes);
      flaggedMs.push(await call({ ...hookBody(bytes, orthanc.dicomWebRoot), hookInstance: randomUUID() }));
    }
    const c = summary(coldMs);
    const f = summary(flaggedMs);
    const r = summary(repeatedMs);
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    process.stdout.write(`machine: ${availableParallelism()} cores (${cpu}), Node ${process.version}, ORT providers ${config.ortProviders.join(',')}\n`);
    process.stdout.write(`sample: ${file} (real radiograph, re-identified copies served by Orthanc over WADO-RS)\n`);
    process.stdout.write(`cold hook → cards      n=${coldMs.length}  p50 ${c.p50.toFixed(1)} ms  p95 ${c.p95.toFixed(1)} ms  mean ${c.mean.toFixed(1)} ms\n`);
    process.stdout.write(`repeated (cache) call  n=${repeatedMs.length}  p50 ${r.p50.toFixed(1)} ms  p95 ${r.p95.toFixed(1)} ms  mean ${r.mean.toFixed(1)} ms\n`);
    process.stdout.write(`cold, flagged finding   n=${flaggedMs.length}  p50 ${f.p50.toFixed(1)} ms  p95 ${f.p95.toFixed(1)} ms  mean ${f.mean.toFixed(1)} ms  (${flaggedFile}: finding positive, saliency map made, SALIENCY=${config.saliency})\n`);
    process.stdout.write(`ratio cold/repeated p50: ${(c.p50 / r.p50).toFixed(1)}x; flagged/cold p50: ${(f.p50 / c.p50).toFixed(1)}x\n`);
  } finally {
    server.close();
    await deps.close();
    await orthanc.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
