/**
 * Hook → cards latency of the result hook, the service running as its own process exactly as
 * deployed (`node dist/src/main.js`, configured by environment), over loopback HTTP:
 *
 *   - the client is this process; the service, the FHIR server, a real Orthanc and the bare
 *     express reference are four other processes;
 *   - every call carries a fresh ES384 client JWT (new jti), verified by the service against a
 *     trusted issuer's JWK Set file; all tokens of a phase are signed before that phase is timed;
 *   - no prefetch: the service reads the ImagingStudy and its Endpoint from the FHIR server
 *     (test/support/fhir-server.ts, with the EHR's bearer token), lists the series' instances
 *     with QIDO-RS (the ImagingStudy names no instances, and each copy's SOP Instance UID is new
 *     and random, so only QIDO-RS can tell it) and retrieves the pixels with WADO-RS from
 *     Orthanc (test/support/orthanc.ts), with basic auth;
 *   - LOG_LEVEL=info, the service's stdout and stderr written to a file in the bench's temporary
 *     folder (its size is printed at the end).
 *
 * Phases (each prints n, p50, p95, p99):
 *   start       the service started BENCH_STARTS times, each time with an empty data folder:
 *               spawn → /readyz answers 200 (models loaded and warmed up at load), then the first
 *               call, on a study never seen: includes the first JWT verification (key import),
 *               first FHIR and DICOMweb connections, JIT, the first inference on a real image
 *   cold        calls on studies the service has never seen (re-identified copies of a real
 *               sample radiograph): FHIR reads, QIDO-RS, WADO-RS, parsing, decoding,
 *               preprocessing, inference, rendering, validation
 *   repeated    the same study again: FHIR reads, then the result cache; alternated in rounds
 *               with a bare express app (its own process) that answers the same bytes, and the
 *               ratio per round (median, min–max)
 *   flagged     cold calls on a pneumonia radiograph: positive finding + occlusion saliency map
 *
 *   npm run bench            (builds, provisions Orthanc if missing)
 *   env: BENCH_STARTS (5), BENCH_COLD (30), BENCH_REPEATED (100 per side), BENCH_ROUNDS (5),
 *        BENCH_FLAGGED (20), BENCH_SERVICE_ENV (JSON object of extra service settings),
 *        BENCH_KEEP=1 (keep the temporary folder with the service logs)
 *
 * A call the service answers with an "analysis in progress" card (where it has a hook budget and
 * the analysis outlives it) is timed as answered and counted as such; the study is then asked
 * again, untimed, until its result is there, so that the next timed call finds an idle service.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { PROJECT_ROOT } from '../src/config.js';
import { parseDicom } from '../src/dicom/index.js';
import { resultHookRequest, sampleImagingStudy, wadoRsEndpoint } from '../src/cli/index.js';
import { startOrthanc, type OrthancServer } from '../test/support/orthanc.js';
import { startChild, type BenchChild } from './hook/children.js';
import { formatSpread, median, quantile, spread, table } from './stats.js';
import { freePort } from '../test/support/free-port.js';

const STARTS = Number(process.env['BENCH_STARTS'] ?? 5);
const COLD = Number(process.env['BENCH_COLD'] ?? 30);
const REPEATED = Number(process.env['BENCH_REPEATED'] ?? 100);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const FLAGGED = Number(process.env['BENCH_FLAGGED'] ?? 20);

const PUBLIC_BASE_URL = 'https://cds.bench.invalid';
const HOOK_PATH = '/cds-services/imaging-ai-result';
const ISSUER = 'https://ehr.bench.invalid';
const KID = 'bench-hook-es384';
const EHR_TOKEN = `ehr-${randomUUID()}`;
const PATIENT_ID = 'bench-patient';
const ENDPOINT_ID = 'orthanc';

interface Study {
  readonly id: string;
  readonly resource: object;
}

interface Timed {
  readonly ms: number;
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}


const uid = (): string => `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;

/** A copy of an instance with new Study, Series and SOP Instance UIDs (Orthanc's /modify). */
async function reidentified(orthanc: OrthancServer, instanceId: string): Promise<Uint8Array> {
  const auth = `Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}`;
  const res = await fetch(`${orthanc.baseUrl}/instances/${instanceId}/modify`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ Replace: { StudyInstanceUID: uid(), SeriesInstanceUID: uid(), SOPInstanceUID: uid() }, Force: true }),
  });
  if (!res.ok) throw new Error(`Orthanc /modify answered ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Uploads `count` never-seen copies of `instanceId` and describes each as an ImagingStudy whose
 * series names no instances (so the service asks QIDO-RS), without storing it yet.
 */
async function makeStudies(orthanc: OrthancServer, instanceId: string, prefix: string, count: number): Promise<Study[]> {
  const out: Study[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = await reidentified(orthanc, instanceId);
    await orthanc.upload(bytes);
    const id = `${prefix}-${i + 1}`;
    const study = sampleImagingStudy(parseDicom(bytes).info, { id, patientId: PATIENT_ID, endpointId: ENDPOINT_ID, description: 'XR CHEST AP' });
    const series = (study.series ?? []).map(({ instance: _listed, ...rest }) => rest);
    out.push({ id, resource: { ...study, series } });
  }
  return out;
}

/** One client JWT as a CDS client makes it: ES384, kid, 5-minute lifetime, fresh jti. */
function signToken(key: CryptoKey): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES384', kid: KID, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(`${PUBLIC_BASE_URL}${HOOK_PATH}`)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 300)
    .setJti(randomUUID())
    .sign(key);
}

const signTokens = (key: CryptoKey, n: number): Promise<string[]> => Promise.all(Array.from({ length: n }, () => signToken(key)));

/** One call, timed from before the request to the last byte of the answer. */
async function call(url: string, token: string, body: string): Promise<Timed> {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
  const bytes = Buffer.from(await res.arrayBuffer());
  const ms = performance.now() - t0;
  return { ms, status: res.status, contentType: res.headers.get('content-type') ?? '', body: bytes };
}

interface HookAnswer {
  cards?: {
    summary?: string;
    suggestions?: { actions?: { resource?: { resourceType?: string; interpretation?: { coding?: { code?: string }[] }[]; presentedForm?: { contentType?: string }[] } }[] }[];
  }[];
}

/** What a 200 answer says: a model's result (with its finding), or that the analysis is still running. */
type Outcome = { readonly kind: 'analysed'; readonly positive: boolean; readonly saliency: boolean } | { readonly kind: 'in-progress' };

/**
 * Reads an answer (after timing): a model result is a card suggesting the AI Observation (its
 * interpretation NEG or not) and DiagnosticReport; an "in progress" card is an analysis that
 * outlived the service's hook budget, where the service has one. Anything else stops the bench.
 */
function outcome(t: Timed, what: string): Outcome {
  const text = t.body.toString('utf8');
  if (t.status !== 200) throw new Error(`${what}: answered ${t.status}: ${text.slice(0, 400)}`);
  const cards = (JSON.parse(text) as HookAnswer).cards ?? [];
  const resources = cards.flatMap((c) => (c.suggestions ?? []).flatMap((s) => (s.actions ?? []).map((a) => a.resource ?? {})));
  const observations = resources.filter((r) => r.resourceType === 'Observation');
  if (observations.length > 0 && resources.some((r) => r.resourceType === 'DiagnosticReport')) {
    const positive = observations.some((o) => (o.interpretation ?? []).some((i) => (i.coding ?? []).some((c) => c.code !== undefined && c.code !== 'NEG')));
    const saliency = resources.some((r) => r.resourceType === 'DiagnosticReport' && (r.presentedForm ?? []).some((f) => f.contentType === 'image/png'));
    return { kind: 'analysed', positive, saliency };
  }
  if (cards.some((c) => /in progress/i.test(c.summary ?? ''))) return { kind: 'in-progress' };
  throw new Error(`${what}: neither a model result nor an analysis in progress: ${text.slice(0, 600)}`);
}

interface Service {
  readonly url: string;
  readonly pid: number | undefined;
  readonly logFile: string;
  /** Spawn → /readyz 200, ms. */
  readonly readyMs: number;
  stop(): Promise<void>;
}

/** `node dist/src/main.js` with `env`; resolves when its /readyz answers 200. */
async function startService(env: Record<string, string>, logFile: string): Promise<Service> {
  const port = await freePort();
  const opsPort = await freePort();
  const log = openSync(logFile, 'a');
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'src', 'main.js')], {
    env: { PATH: process.env['PATH'] ?? '', ...env, PORT: String(port), HOST: '127.0.0.1', OPS_PORT: String(opsPort), OPS_HOST: '127.0.0.1' },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const state = { exited: false };
  const exit = new Promise<void>((resolve) => child.once('exit', () => { state.exited = true; resolve(); }));
  const stop = async (): Promise<void> => {
    if (state.exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exit;
    clearTimeout(timer);
  };
  const deadline = t0 + 120_000;
  for (;;) {
    if (state.exited || performance.now() > deadline) {
      await stop();
      throw new Error(`the service did not become ready; its log (${logFile}):\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${opsPort}/readyz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { url: `http://127.0.0.1:${port}${HOOK_PATH}`, pid: child.pid, logFile, readyMs: performance.now() - t0, stop };
}

function machine(): string[] {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const gpu = existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia') ? 'an NVIDIA device is present but not used (ORT_PROVIDERS=cpu)' : 'no GPU';
  let ortVersion = '?';
  try {
    ortVersion = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // reported as '?'
  }
  return [
    `machine: ${cpu}, ${cpus().length} logical CPUs (${availableParallelism()} available), ${Math.round(totalmem() / 2 ** 30)} GiB, ${gpu}; load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`,
    `node ${process.version}, onnxruntime-node ${ortVersion} (CPU execution provider, ORT's default thread count)`,
  ];
}

function row(name: string, ms: readonly number[]): string[] {
  const f = (v: number): string => v.toFixed(1);
  return [name, String(ms.length), f(quantile(ms, 0.5)), f(quantile(ms, 0.95)), f(quantile(ms, 0.99)), f(Math.min(...ms)), f(Math.max(...ms))];
}

async function main(): Promise<void> {
  const header = machine();
  process.stdout.write(`${header.join('\n')}\n`);
  const tmp = mkdtempSync(path.join(tmpdir(), 'imaging-cds-hook-bench-'));
  const cleanups: (() => Promise<void>)[] = [];
  const progress = (s: string): void => {
    process.stderr.write(`${s}\n`);
  };
  try {
    // ------------------------------------------------------------ set-up (nothing timed)
    const orthanc = await startOrthanc();
    cleanups.push(() => orthanc.stop());
    const fhir = await startChild('fhir', { token: EHR_TOKEN });
    cleanups.push(() => fhir.stop());
    const { privateKey, publicKey } = await generateKeyPair('ES384');
    const jwksFile = path.join(tmp, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: KID, alg: 'ES384', use: 'sig' }] }));

    const fixtures = path.join(PROJECT_ROOT, 'test', 'fixtures', 'cxr');
    const files = readdirSync(fixtures).filter((f) => f.endsWith('.dcm')).sort();
    // The MONOCHROME2 8-bit variants, as the integration tests use them.
    const pick = (prefix: string): string | undefined => files.find((f) => f.startsWith(prefix) && f.endsWith('-mono2-8bit.dcm')) ?? files.find((f) => f.startsWith(prefix));
    const normalFile = pick('normal');
    const flaggedFile = pick('pneumonia');
    if (normalFile === undefined || flaggedFile === undefined) throw new Error('no normal and pneumonia sample radiographs in test/fixtures/cxr');
    const normal = await orthanc.upload(readFileSync(path.join(fixtures, normalFile)));
    const flaggedSource = await orthanc.upload(readFileSync(path.join(fixtures, flaggedFile)));
    progress('uploading re-identified copies to Orthanc…');
    const firstStudies = await makeStudies(orthanc, normal.ID, 'first', STARTS);
    const coldStudies = await makeStudies(orthanc, normal.ID, 'cold', COLD);
    const flaggedStudies = await makeStudies(orthanc, flaggedSource.ID, 'flagged', FLAGGED);
    const endpoint = wadoRsEndpoint(ENDPOINT_ID, orthanc.dicomWebRoot);
    await fhir.ask({
      kind: 'seed',
      resources: [{ resourceType: 'Patient', id: PATIENT_ID, name: [{ family: 'Bench' }] }, endpoint, ...[...firstStudies, ...coldStudies, ...flaggedStudies].map((s) => s.resource)],
    });
    const hook = String(resultHookRequest(sampleImagingStudy(parseDicom(readFileSync(path.join(fixtures, normalFile))).info, { id: 'x', patientId: PATIENT_ID, endpointId: ENDPOINT_ID }), endpoint)['hook']);
    const bodyFor = (study: Study): string =>
      JSON.stringify({
        hook,
        hookInstance: randomUUID(),
        fhirServer: fhir.url,
        fhirAuthorization: { access_token: EHR_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'imaging-cds' },
        context: { patientId: PATIENT_ID, imagingStudyId: study.id },
      });

    const serviceEnv = (dataDir: string): Record<string, string> => ({
      PUBLIC_BASE_URL,
      LOG_LEVEL: 'info',
      CDS_TRUSTED_ISSUERS: JSON.stringify([{ iss: ISSUER, jwksFile }]),
      FHIR_SERVER_ALLOWLIST: fhir.url,
      DICOMWEB_ALLOWLIST: orthanc.baseUrl,
      DICOMWEB_AUTH: 'basic',
      DICOMWEB_USERNAME: orthanc.username,
      DICOMWEB_PASSWORD: orthanc.password,
      DATA_DIR: dataDir,
      ORT_PROVIDERS: 'cpu',
      // Extra service settings for an experiment, e.g. BENCH_SERVICE_ENV='{"SALIENCY":"never"}'.
      ...(JSON.parse(process.env['BENCH_SERVICE_ENV'] ?? '{}') as Record<string, string>),
    });

    /**
     * One timed call on a never-seen study. When the service answers "in progress" (its hook
     * budget ran out), the same study is asked again, untimed, until its result is there, so
     * that no analysis runs in the background while the next call is timed.
     */
    const counts = new Map<string, { analysed: number; inProgress: number; saliency: number }>();
    const coldCall = async (url: string, study: Study, phase: string, positive: boolean): Promise<number> => {
      const [token] = await signTokens(privateKey, 1);
      const body = bodyFor(study);
      const t = await call(url, token ?? '', body);
      let o = outcome(t, `${phase} ${study.id}`);
      const c = counts.get(phase) ?? { analysed: 0, inProgress: 0, saliency: 0 };
      counts.set(phase, c);
      if (o.kind === 'in-progress') c.inProgress += 1;
      else c.analysed += 1;
      const deadline = performance.now() + 120_000;
      while (o.kind === 'in-progress') {
        if (performance.now() > deadline) throw new Error(`${phase} ${study.id}: still in progress after 120 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        o = outcome(await call(url, (await signTokens(privateKey, 1))[0] ?? '', bodyFor(study)), `${phase} ${study.id} (again)`);
      }
      if (o.positive !== positive) throw new Error(`${phase} ${study.id}: expected a ${positive ? 'positive' : 'negative'} finding`);
      if (o.saliency) c.saliency += 1;
      return t.ms;
    };

    // ------------------------------------------------------------ start → first call
    const readyMs: number[] = [];
    const firstMs: number[] = [];
    let service: Service | undefined;
    for (let k = 0; k < STARTS; k++) {
      const study = firstStudies[k];
      if (study === undefined) throw new Error('no study');
      const dataDir = path.join(tmp, `data-${k + 1}`);
      mkdirSync(dataDir);
      service = await startService(serviceEnv(dataDir), path.join(tmp, `service-${k + 1}.log`));
      const ms = await coldCall(service.url, study, 'first', false);
      readyMs.push(service.readyMs);
      firstMs.push(ms);
      progress(`start ${k + 1}/${STARTS}: ready after ${service.readyMs.toFixed(0)} ms, first call ${ms.toFixed(1)} ms`);
      if (k < STARTS - 1) await service.stop();
    }
    if (service === undefined) throw new Error('BENCH_STARTS must be at least 1');
    const running = service;
    cleanups.push(() => running.stop());
    await fhir.ask({ kind: 'requests' });

    // ------------------------------------------------------------ cold
    const coldMs: number[] = [];
    for (const study of coldStudies) coldMs.push(await coldCall(running.url, study, 'cold', false));
    const coldReads = await fhir.ask({ kind: 'requests' });
    progress(`cold: ${coldMs.length} calls`);

    // ------------------------------------------------------------ repeated vs bare express
    const again = coldStudies[0] ?? firstStudies[0];
    if (again === undefined) throw new Error('no study to repeat');
    const sample = await call(running.url, (await signTokens(privateKey, 1))[0] ?? '', bodyFor(again));
    if (outcome(sample, 'repeated call (recorded for the bare app)').kind !== 'analysed') throw new Error('the repeated call is not answered from the cache');
    const bare = await startChild('bare', { body: sample.body.toString('base64'), contentType: sample.contentType, route: HOOK_PATH });
    cleanups.push(() => bare.stop());
    const bareUrl = `${bare.url}${HOOK_PATH}`;
    const perRound = Math.max(1, Math.round(REPEATED / ROUNDS));
    const repeated: number[][] = [];
    const bareMs: number[][] = [];
    // One untimed call to the bare app so that both sides have an open connection.
    await call(bareUrl, (await signTokens(privateKey, 1))[0] ?? '', bodyFor(again));
    await fhir.ask({ kind: 'requests' });
    for (let r = 0; r < ROUNDS; r++) {
      const tokens = await signTokens(privateKey, 2 * perRound);
      const bodies = Array.from({ length: 2 * perRound }, () => bodyFor(again));
      const sides = r % 2 === 0 ? (['service', 'bare'] as const) : (['bare', 'service'] as const);
      const got: Record<'service' | 'bare', number[]> = { service: [], bare: [] };
      let j = 0;
      for (const side of sides) {
        for (let i = 0; i < perRound; i++, j++) {
          const t = await call(side === 'service' ? running.url : bareUrl, tokens[j] ?? '', bodies[j] ?? '');
          if (side === 'service' && outcome(t, `repeated call ${i + 1}`).kind !== 'analysed') throw new Error('a repeated call was not answered from the cache');
          if (side === 'bare' && (t.status !== 200 || !t.body.equals(sample.body))) throw new Error(`bare app answered ${t.status}`);
          got[side].push(t.ms);
        }
      }
      repeated.push(got.service);
      bareMs.push(got.bare);
    }
    const repeatedReads = await fhir.ask({ kind: 'requests' });
    progress(`repeated: ${ROUNDS} rounds of ${perRound} calls per side`);

    // ------------------------------------------------------------ flagged (saliency)
    const flaggedMs: number[] = [];
    for (const study of flaggedStudies) flaggedMs.push(await coldCall(running.url, study, 'flagged', true));
    progress(`flagged: ${flaggedMs.length} calls`);

    // ------------------------------------------------------------ report
    const ratio = spread(repeated.map((s, i) => median(s) / median(bareMs[i] ?? [])));
    const inProgress = (phase: string): string => {
      const c = counts.get(phase);
      return c === undefined || c.inProgress === 0 ? '' : ` [${c.inProgress} of ${c.inProgress + c.analysed} "in progress"]`;
    };
    const out: string[] = [];
    out.push(`load average at the end ${loadavg().map((v) => v.toFixed(2)).join(' ')} (the machine is shared with other work: read medians and spreads)`);
    out.push(`sample: ${normalFile} (normal) and ${flaggedFile} (pneumonia), real radiographs; never-seen studies are re-identified copies in Orthanc`);
    out.push('each call: fresh ES384 JWT verified against a JWK Set file, ImagingStudy + Endpoint read from the FHIR server (no prefetch), QIDO-RS + WADO-RS from Orthanc');
    out.push(`service: node dist/src/main.js, its own process, LOG_LEVEL=info to a file; client: this process (fetch, keep-alive); times in ms, request to last byte`);
    out.push('');
    out.push(table([
      ['', 'n', 'p50', 'p95', 'p99', 'min', 'max'],
      ...([
        ['start → /readyz 200 (models loaded + warmed)', readyMs],
        [`first call after start (never-seen study)${inProgress('first')}`, firstMs],
        [`cold call, never-seen study${inProgress('cold')}`, coldMs],
        ['repeated call (result cache)', repeated.flat()],
        ['bare express, same answer bytes', bareMs.flat()],
        [`cold, pneumonia: finding + saliency map${inProgress('flagged')}`, flaggedMs],
      ] as const).filter(([, ms]) => ms.length > 0).map(([name, ms]) => row(name, ms)),
    ]));
    out.push(`answers: ${[...counts].map(([phase, c]) => `${phase} ${c.analysed} with the result${c.inProgress > 0 ? `, ${c.inProgress} "in progress" (budget ran out; its result then fetched untimed)` : ''}${c.saliency > 0 ? `, ${c.saliency} with a saliency map` : ''}`).join('; ')}`);
    out.push('');
    out.push(`repeated / bare express, per round (${ROUNDS} rounds × ${perRound} calls a side, order alternated): ${formatSpread(ratio, 1)}`);
    out.push(`cold / repeated p50: ${(median(coldMs) / median(repeated.flat())).toFixed(1)}×; first call / cold p50: ${(median(firstMs) / median(coldMs)).toFixed(1)}×` +
      (flaggedMs.length > 0 ? `; flagged / cold p50: ${(median(flaggedMs) / median(coldMs)).toFixed(1)}×` : ''));
    const reads = (m: Awaited<ReturnType<BenchChild['ask']>>): string =>
      m.kind === 'requests' ? Object.entries(m.byRoute).map(([k, v]) => `${k} ×${v}`).join(', ') : '?';
    out.push(`FHIR server saw, cold phase: ${reads(coldReads)}; repeated phase: ${reads(repeatedReads)}`);
    const logs = readdirSync(tmp).filter((f) => f.startsWith('service-')).map((f) => path.join(tmp, f));
    const lines = logs.reduce((n, f) => n + readFileSync(f, 'utf8').split('\n').filter((l) => l !== '').length, 0);
    out.push(`service logs: ${lines} lines, ${(logs.reduce((n, f) => n + statSync(f).size, 0) / 1024).toFixed(0)} KiB over ${logs.length} starts (written to files, not read during the run)`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    if (process.env['BENCH_KEEP'] === '1') process.stderr.write(`kept ${tmp} (service logs, JWK Set)\n`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
