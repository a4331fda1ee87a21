/**
 * `npm run demo`: the whole flow on bundled real sample data, with nothing else running.
 * Starts a demo DICOMweb server over test/fixtures/cxr and the service itself on loopback,
 * calls the result hook over HTTP with the ImagingStudy and Endpoint in prefetch (so no FHIR
 * server is needed), and prints, per study, its cards, their suggestions and the preliminary
 * DiagnosticReport's conclusion.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DiagnosticReport } from 'fhir/r4.js';
import { loadConfig, PROJECT_ROOT } from '../config.js';
import { createLogger } from '../logging.js';
import { createApp } from '../app.js';
import { buildDependencies } from '../wiring.js';
import type { CdsResponse } from '../cds-hooks/index.js';
import { startDemoPacs } from './demo-pacs.js';
import { resultHookRequest, sampleImagingStudy, wadoRsEndpoint } from './sample-fhir.js';

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** One card as a physician would skim it: summary, detail, what the suggestions would do. */
function printCard(card: CdsResponse['cards'][number]): void {
  say(`[${card.indicator.toUpperCase()}] ${card.summary}\n\n${card.detail ?? ''}`);
  for (const suggestion of card.suggestions ?? []) {
    say(`  suggestion: "${suggestion.label}"${suggestion.isRecommended === true ? ' (recommended)' : ''}`);
    for (const action of suggestion.actions ?? []) say(`    - ${action.type} ${action.resource?.resourceType ?? ''}: ${action.description}`);
  }
  const report = card.suggestions?.flatMap((x) => x.actions ?? []).find((a) => a.resource?.resourceType === 'DiagnosticReport')?.resource as DiagnosticReport | undefined;
  if (report?.conclusion !== undefined) say(`  DiagnosticReport (${report.status}) conclusion: ${report.conclusion}`);
}

async function main(): Promise<void> {
  say('demo: starting a DICOMweb server over the sample radiographs in test/fixtures/cxr …');
  const pacs = await startDemoPacs(path.join(PROJECT_ROOT, 'test', 'fixtures', 'cxr'));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'imaging-cds-demo-'));
  // A generous hook budget: the demo shows each study's findings in one call (a CDS client gets
  // "analysis in progress" after 400 ms by default, and the findings on its next call).
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', OPS_PORT: '0', DICOMWEB_ALLOWLIST: pacs.root, DATA_DIR: dataDir, LOG_LEVEL: 'warn', HOOK_BUDGET_MS: '60000' });
  say('demo: loading the AI models (ONNX Runtime, CPU) …');
  const t0 = performance.now();
  const deps = await buildDependencies(config, createLogger('warn'));
  const models = deps.readiness().models;
  say(`demo: ${models.filter((m) => m.status === 'ready').map((m) => m.id).join(', ')} ready in ${((performance.now() - t0) / 1000).toFixed(1)} s; calling the result hook once per study`);
  const server = createApp(deps).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const seen = new Set<string>();
    let n = 0;
    for (const instance of pacs.instances) {
      // One call per study (variants of the same image share nothing but pixels).
      if (seen.has(instance.info.studyInstanceUid)) continue;
      seen.add(instance.info.studyInstanceUid);
      n += 1;
      const endpoint = wadoRsEndpoint('demo-pacs', pacs.root);
      const study = sampleImagingStudy(instance.info, { id: `demo-study-${n}`, patientId: 'demo-patient', endpointId: 'demo-pacs', description: 'XR CHEST AP (sample)' });
      const started = performance.now();
      const res = await fetch(`${base}/cds-services/imaging-ai-result`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(resultHookRequest(study, endpoint)),
      });
      const ms = performance.now() - started;
      const body = (await res.json()) as CdsResponse;
      say(`\n=== study ${n}: ${instance.file} — HTTP ${res.status} in ${ms.toFixed(0)} ms ===`);
      if (res.status !== 200) {
        say(JSON.stringify(body, null, 2));
        continue;
      }
      for (const card of body.cards) printCard(card);
    }
    say(`\ndemo: ${n} studies analysed. AI output is preliminary decision support, not a diagnosis.`);
  } finally {
    server.close();
    await deps.close();
    await pacs.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
