/**
 * Failures of the shared queue, with everything real (redis-server with its append-only file,
 * Orthanc behind a proxy that can hold WADO-RS retrieves, the service built with REDIS_URL,
 * worker processes): a worker killed with SIGKILL mid-job loses nothing (another completes the
 * job, once), and a Redis restart neither crashes the front nor loses an accepted job.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { OperationOutcome } from 'fhir/r4.js';
import { Queue } from 'bullmq';
import { jobKey } from '../../src/jobs/key.js';
import { QUEUE_NAME } from '../../src/jobs/redis-store.js';
import { LOCAL_DOMAIN } from '../../src/http/trust-domain.js';
import type { StudyAnalysis } from '../../src/analysis/types.js';
import { parseDicom } from '../../src/dicom/parse.js';
import { childSampleFiles, withChildBirthDate } from '../support/child-sample.js';
import { startGatedProxy, type GatedProxy } from '../support/gated-proxy.js';
import { buildWorkerEntry, removeWorkerBuild, startRedis, startWorkerProcess, type RedisServer, type WorkerProcess } from '../support/redis.js';
import { FIXTURES, PINNED_MODELS, startStack, type Stack } from '../support/stack.js';

const PREFIX = `test-${randomUUID().slice(0, 8)}`;
const SECRET = randomBytes(24).toString('hex');

/**
 * A sample as a new study of a 3-year-old (born 1996-06-01, imaged on the samples' 2000-01-01):
 * the PACS trigger knows the age only from the image, and the chest models refuse unknown ages.
 */
function studyOf(file: string, n: number): { bytes: Buffer; studyUid: string } {
  const bytes = withChildBirthDate(readFileSync(path.join(FIXTURES, file)));
  // A new StudyInstanceUID of the same length, so no element length changes.
  const old = parseDicom(bytes).info.studyInstanceUid;
  const fresh = `${old.slice(0, -4)}${String(9000 + n)}`;
  const i = bytes.indexOf(Buffer.from(old, 'latin1'));
  Buffer.from(fresh, 'latin1').copy(bytes, i);
  return { bytes, studyUid: fresh };
}

const files = childSampleFiles();

let redis: RedisServer;
let stack: Stack;
let proxy: GatedProxy;
let entry: string | undefined;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  redis = await startRedis({ durable: true });
  entry = buildWorkerEntry();
  // WADO-RS instance retrieves wait at the gate while it is closed; QIDO-RS passes.
  proxy = await startGatedProxy(() => stack.orthanc.baseUrl, (req) => /\/instances\/[^/?]+/.test(req.url ?? ''));
  stack = await startStack({
    files: [],
    env: { REDIS_URL: redis.url, REDIS_PREFIX: PREFIX, HOOK_BUDGET_MS: '0', PACS_TRIGGER_SECRET: SECRET, JOB_QUEUE_CAPACITY: '4' },
    envFor: ({ dicomWebRoot }) => ({ DICOMWEB_ALLOWLIST: `${new URL(dicomWebRoot).origin},${proxy.baseUrl}`, PACS_TRIGGER_DICOMWEB_ROOT: `${proxy.baseUrl}/dicom-web` }),
  });
}, 180_000);

afterAll(async () => {
  for (const w of workers) await w.stop();
  proxy.open();
  await proxy.stop();
  await stack.stop();
  await redis.stop();
  if (entry !== undefined) removeWorkerBuild(entry);
});

async function startWorker(): Promise<WorkerProcess> {
  if (entry === undefined) throw new Error('no worker build');
  const worker = await startWorkerProcess(entry, {
    REDIS_URL: redis.url,
    REDIS_PREFIX: PREFIX,
    MODELS_DIR: path.resolve('models'),
    TEMPLATES_DIR: path.resolve('templates'),
    MODELS: PINNED_MODELS,
    DICOMWEB_ALLOWLIST: `${stack.orthanc.baseUrl},${proxy.baseUrl}`,
    DICOMWEB_AUTH: 'basic',
    DICOMWEB_USERNAME: stack.orthanc.username,
    DICOMWEB_PASSWORD: stack.orthanc.password,
    DICOMWEB_TIMEOUT_MS: '60000',
    DICOMWEB_JSON_TIMEOUT_MS: '5000',
    ORT_INTRA_OP_THREADS: '1',
    OPS_PORT: '0',
    JOB_CONCURRENCY: '1',
    // A dead worker's job goes to another within about twice this.
    JOB_LOCK_MS: '2000',
    LOG_LEVEL: 'info',
  });
  workers.push(worker);
  return worker;
}

const trigger = (studyUid: string): request.Test =>
  request(stack.app).post('/triggers/pacs/stable-study').set('authorization', `Bearer ${SECRET}`).send({ StudyInstanceUID: studyUid });

/** The stored outcome of a PACS-triggered study, as every front reads it. */
async function outcomeOf(studyUid: string): ReturnType<Stack['deps']['jobs']['wait']> {
  const models = PINNED_MODELS.split(',').map((id) => ({ id, version: '1.0.0' }));
  const key = jobKey({ study: { domain: LOCAL_DOMAIN, studyInstanceUid: studyUid, series: [] }, pacsRoot: `${proxy.baseUrl}/dicom-web` }, models);
  return stack.deps.jobs.wait(key, 0);
}

const doneLines = (w: WorkerProcess): Record<string, unknown>[] => w.lines().filter((l) => l['msg'] === 'analysis job done');

async function waitUntil(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 100));
}

describe('the shared queue when things fail', () => {
  it('a worker killed with SIGKILL mid-job: another worker completes the job, once, and every front reads the result', async () => {
    const a = await startWorker();
    const study = studyOf(files[0] ?? '', 1);
    await stack.orthanc.upload(study.bytes);
    const accepted = await trigger(study.studyUid);
    expect(accepted.status).toBe(202);
    // Worker A has started the job and waits for the image at the gate: it dies there.
    await a.waitFor((l) => l['msg'] === 'analysis job started');
    await waitUntil(() => proxy.held() >= 1);
    await a.kill();
    const b = await startWorker();
    proxy.open();
    await b.waitFor((l) => l['msg'] === 'analysis job done');
    expect(doneLines(a)).toHaveLength(0);
    expect(doneLines(b)).toHaveLength(1);
    const outcome = await outcomeOf(study.studyUid);
    expect(outcome.state).toBe('done');
    const analysis = (outcome as { analysis: StudyAnalysis }).analysis;
    expect(analysis.results.map((r) => r.model.id)).toEqual(['pneumonia-cxr-28']);
    // The same event again: known, not queued; nothing runs again.
    expect((await trigger(study.studyUid)).body).toMatchObject({ issue: [{ diagnostics: '0 analysis job(s) queued, 1 already queued, running or done' }] });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(doneLines(b)).toHaveLength(1);
  }, 120_000);

  it('Redis stopped: the front answers 503 with Retry-After and stays up; when Redis is back, the job accepted before finishes and nothing is lost', async () => {
    const worker = workers[workers.length - 1];
    if (worker === undefined) throw new Error('no worker');
    const before = doneLines(worker).length;
    proxy.close();
    const heldBefore = proxy.held();
    const study = studyOf(files[1] ?? files[0] ?? '', 2);
    await stack.orthanc.upload(study.bytes);
    expect((await trigger(study.studyUid)).status).toBe(202);
    // Accepted and running (held at the gate) when Redis goes away.
    await waitUntil(() => proxy.held() > heldBefore);
    await redis.halt();
    const down = await trigger(`${study.studyUid}1`);
    expect(down.status).toBe(503);
    expect(Number(down.headers['retry-after'])).toBeGreaterThan(0);
    expect((down.body as OperationOutcome).issue[0]?.diagnostics).toMatch(/^JOB_STORE_UNAVAILABLE: /);
    expect((await request(stack.app).get('/healthz')).status).toBe(200);
    expect(doneLines(worker).length).toBe(before);
    await redis.resume();
    proxy.open();
    // The front reconnects by itself; the worker finishes (or, if its lock lapsed, retakes) the job.
    await waitUntil(async () => (await outcomeOf(study.studyUid).catch(() => ({ state: 'pending' as const }))).state === 'done');
    // New work is accepted again once the front's queue connection is back (ioredis reconnects).
    await waitUntil(async () => (await trigger(`${study.studyUid}2`)).status === 202);
    const again = await trigger(study.studyUid);
    expect(again.status).toBe(202);
    expect((again.body as OperationOutcome).issue[0]?.diagnostics).toBe('0 analysis job(s) queued, 1 already queued, running or done');
    await waitUntil(() => worker.lines().some((l) => l['msg'] === 'analysis job failed'));
    expect(doneLines(worker).length).toBe(before + 1);
  }, 120_000);

  it('a flood of triggers is shed: what the queue cannot hold gets 503 INFERENCE_BUSY with Retry-After, every accepted job runs, no refused one does', async () => {
    const worker = workers[workers.length - 1] ?? (await startWorker());
    const queue = new Queue(QUEUE_NAME, { connection: { url: redis.url }, prefix: PREFIX });
    await queue.pause();
    const finished = (): number => worker.lines().filter((l) => l['msg'] === 'analysis job done' || l['msg'] === 'analysis job failed').length;
    const before = finished();
    // Studies the PACS does not have: each accepted job ends quickly as a stored failure.
    const uids = Array.from({ length: 20 }, (_, i) => `2.25.${BigInt(`0x${randomBytes(10).toString('hex')}`).toString()}${i}`);
    const answers = await Promise.all(uids.map((uid) => trigger(uid)));
    const accepted = answers.filter((r) => r.status === 202).length;
    const refused = answers.filter((r) => r.status === 503);
    expect(accepted + refused.length).toBe(uids.length);
    expect(accepted).toBeGreaterThanOrEqual(4);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
      expect((r.body as OperationOutcome).issue[0]?.diagnostics).toMatch(/^INFERENCE_BUSY: /);
    }
    await queue.resume();
    await waitUntil(() => finished() === before + accepted);
    // Refused triggers left nothing behind: only the accepted jobs ever ran.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(finished()).toBe(before + accepted);
    expect(await queue.count()).toBe(0);
    await queue.close();
  }, 120_000);

  it('runs jobs a hook waits for before background work (triggers), and moves a queued trigger job ahead when a hook waits for it', async () => {
    const worker = workers[workers.length - 1] ?? (await startWorker());
    const queue = new Queue(QUEUE_NAME, { connection: { url: redis.url }, prefix: PREFIX });
    await queue.pause();
    const uid = (): string => `2.25.${BigInt(`0x${randomBytes(10).toString('hex')}`).toString()}`;
    const [first, second, third] = [uid(), uid(), uid()];
    const models = PINNED_MODELS.split(',').map((id) => ({ id, version: '1.0.0' }));
    const job = (studyUid: string, urgent: boolean): Parameters<Stack['deps']['jobs']['submit']>[0] => ({ study: { domain: LOCAL_DOMAIN, studyInstanceUid: studyUid, series: [] }, pacsRoot: `${proxy.baseUrl}/dicom-web`, urgent });
    for (const u of [first, second]) expect((await trigger(u)).status).toBe(202);
    // A hook now waits for the second trigger's study, and for a study of its own.
    expect((await stack.deps.jobs.submit(job(second, true))).queued).toBe(false);
    expect((await stack.deps.jobs.submit(job(third, true))).queued).toBe(true);
    const keys = [first, second, third].map((u) => jobKey(job(u, false), models));
    const startedBefore = worker.lines().filter((l) => l['msg'] === 'analysis job started').length;
    await queue.resume();
    await waitUntil(() => worker.lines().filter((l) => l['msg'] === 'analysis job started').length >= startedBefore + 3);
    const order = worker.lines().filter((l) => l['msg'] === 'analysis job started').slice(startedBefore).map((l) => keys.indexOf(String(l['job'])));
    expect(order).toEqual([1, 2, 0]);
    await queue.close();
  }, 120_000);
});
