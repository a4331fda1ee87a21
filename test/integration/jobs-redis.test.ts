/**
 * The shared job queue with everything real: redis-server, Orthanc, the FHIR server, two fronts
 * (the service built by the production wiring with REDIS_URL) and one worker process
 * (`src/worker.ts`) that loads the models. The fronts hold no state: what one queued the worker
 * runs, and what the worker stored every front answers.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Express } from 'express';
import { Queue } from 'bullmq';
import type { OperationOutcome } from 'fhir/r4.js';
import { createOpsApp } from '../../src/app.js';
import { validateCdsResponse } from '../../src/cds-hooks/response-schema.js';
import type { CdsResponse } from '../../src/cds-hooks/types.js';
import { parseDicom } from '../../src/dicom/parse.js';
import { QUEUE_NAME } from '../../src/jobs/redis-store.js';
import { buildWorkerEntry, removeWorkerBuild, startRedis, startWorkerProcess, type RedisServer, type WorkerProcess } from '../support/redis.js';
import { FIXTURES, PATIENT_BIRTH_DATE, PATIENT_ID, PINNED_MODELS, imagingStudyFor, sampleFiles, startStack, type Stack, resultHookBody } from '../support/stack.js';

const PREFIX = `test-${randomUUID().slice(0, 8)}`;

/** A sample the model evaluation calls clearly positive, and another one. */
function chosenFiles(): [string, string] {
  const expected = (JSON.parse(readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as { files: { file: string; interpretation: string; needsReview: boolean }[] }).files;
  const positive = sampleFiles().find((f) => expected.some((e) => e.file === f && e.interpretation === 'positive' && !e.needsReview));
  const other = sampleFiles().find((f) => f !== positive);
  if (positive === undefined || other === undefined) throw new Error('the fixtures need a clearly positive sample and another one');
  return [positive, other];
}

let redis: RedisServer;
let stack: Stack;
let frontB: Express;
let frontBDeps: Awaited<ReturnType<Stack['restart']>>['deps'];
let entry: string | undefined;
let worker: WorkerProcess | undefined;
let queue: Queue;

beforeAll(async () => {
  redis = await startRedis();
  entry = buildWorkerEntry();
  stack = await startStack({
    files: chosenFiles(),
    // A budget of 0: a hook only looks whether the result is there, it never waits for it.
    env: { REDIS_URL: redis.url, REDIS_PREFIX: PREFIX, HOOK_BUDGET_MS: '0', JOB_QUEUE_CAPACITY: '1' },
  });
  ({ app: frontB, deps: frontBDeps } = await stack.restart());
  queue = new Queue(QUEUE_NAME, { connection: { url: redis.url }, prefix: PREFIX });
  worker = await startWorkerProcess(entry, {
    REDIS_URL: redis.url,
    REDIS_PREFIX: PREFIX,
    MODELS_DIR: path.resolve('models'),
    TEMPLATES_DIR: path.resolve('templates'),
    MODELS: PINNED_MODELS,
    DICOMWEB_ALLOWLIST: stack.orthanc.baseUrl,
    DICOMWEB_AUTH: 'basic',
    DICOMWEB_USERNAME: stack.orthanc.username,
    DICOMWEB_PASSWORD: stack.orthanc.password,
    DICOMWEB_TIMEOUT_MS: '5000',
    ORT_INTRA_OP_THREADS: '1',
    OPS_PORT: '0',
    JOB_CONCURRENCY: '1',
    LOG_LEVEL: 'info',
  });
  // The queue holds jobs until the tests have seen them wait: nothing runs before resume().
  await queue.pause();
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await queue.close();
  await stack.stop();
  await redis.stop();
  if (entry !== undefined) removeWorkerBuild(entry);
});

const hook = (app: Express, studyId: string, prefetch?: unknown): request.Test => request(app).post('/cds-services/imaging-ai-result').send(resultHookBody(stack.fhir.baseUrl, studyId, prefetch));

function cards(res: request.Response): CdsResponse['cards'] {
  expect(res.status).toBe(200);
  expect(validateCdsResponse(res.body)).toEqual([]);
  return (res.body as CdsResponse).cards;
}

const started = (): Record<string, unknown>[] => worker?.lines().filter((l) => l['msg'] === 'analysis job started') ?? [];
const ended = (): Record<string, unknown>[] => worker?.lines().filter((l) => l['msg'] === 'analysis job done' || l['msg'] === 'analysis job failed') ?? [];

describe('fronts and a worker sharing Redis', () => {
  const positive = (): string => stack.samples[0]?.studyId ?? '';
  const other = (): string => stack.samples[1]?.studyId ?? '';

  it('answers "AI analysis in progress" within a tiny budget, from either front, and queues one job for both', async () => {
    const a = cards(await hook(stack.app, positive()));
    const b = cards(await hook(frontB, positive()));
    for (const answer of [a, b]) {
      expect(answer).toHaveLength(1);
      expect(answer[0]).toMatchObject({ indicator: 'info', summary: expect.stringMatching(/^AI analysis in progress/) as string });
      expect(answer[0]?.detail).toContain('not a finding');
    }
    expect(a[0]?.uuid).toBe(b[0]?.uuid);
    expect(await queue.getJobCounts('waiting', 'paused', 'active', 'completed')).toMatchObject({ active: 0, completed: 0 });
    expect(await queue.count()).toBe(1);
  });

  it('sheds a new study while the queue is full: 503 INFERENCE_BUSY with Retry-After and an OperationOutcome', async () => {
    const res = await hook(frontB, other());
    expect(res.status).toBe(503);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect((res.body as OperationOutcome).issue[0]?.diagnostics).toMatch(/^INFERENCE_BUSY: /);
    expect(await queue.count()).toBe(1);
  });

  it('the worker analyses the study once, and the next hook on either front answers the findings from the store', async () => {
    await queue.resume();
    await worker?.waitFor((l) => l['msg'] === 'analysis job done');
    const b = cards(await hook(frontB, positive()));
    const a = cards(await hook(stack.app, positive()));
    expect(b.map((c) => c.summary)).toEqual(a.map((c) => c.summary));
    expect(b.find((c) => /^Preliminary AI: possible pneumonia/.test(c.summary))?.indicator).toBe('warning');
    expect(b.some((c) => /in progress/.test(c.summary))).toBe(false);
    expect(started()).toHaveLength(1);
    expect(ended()).toHaveLength(1);
    // Submitted from both fronts again: no new job, the result is there.
    expect(await queue.count()).toBe(0);
  });

  it('stores an undecodable image as a final failure with its reason: answered 422 by both fronts, never analysed again', async () => {
    const sample = stack.samples[1];
    if (sample === undefined) throw new Error('no sample');
    const auth = `Basic ${Buffer.from(`${stack.orthanc.username}:${stack.orthanc.password}`).toString('base64')}`;
    const lookup = await fetch(`${stack.orthanc.baseUrl}/tools/lookup`, { method: 'POST', headers: { authorization: auth }, body: sample.info.sopInstanceUid });
    const id = ((await lookup.json()) as { ID: string }[])[0]?.ID ?? '';
    const uid = (n: number): string => `2.25.${Date.now()}${n}`;
    const modified = await fetch(`${stack.orthanc.baseUrl}/instances/${id}/modify`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ Replace: { Rows: '4000', StudyInstanceUID: uid(1), SeriesInstanceUID: uid(2), SOPInstanceUID: uid(3) }, Force: true }),
    });
    const bytes = new Uint8Array(await modified.arrayBuffer());
    await stack.orthanc.upload(bytes);
    const study = imagingStudyFor('bad-rows-study', parseDicom(bytes).info, 1);
    const prefetch = { imagingStudy: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: study }, { resource: stack.endpoint, search: { mode: 'include' } }] } };
    cards(await hook(stack.app, 'bad-rows-study', prefetch));
    await worker?.waitFor((l) => l['msg'] === 'analysis job failed');
    for (const app of [stack.app, frontB, stack.app]) {
      const res = await hook(app, 'bad-rows-study', prefetch);
      expect(res.status).toBe(422);
      expect((res.body as OperationOutcome).issue[0]?.diagnostics).toMatch(/^DICOM_INVALID: /);
    }
    expect(worker?.lines().find((l) => l['msg'] === 'analysis job failed')).toMatchObject({ code: 'DICOM_INVALID' });
    expect(started()).toHaveLength(2);
    expect(await queue.count()).toBe(0);
  });

  it('a front that never saw the study serves its results and a stored final answer from Redis', async () => {
    const sample = stack.samples[0];
    if (sample === undefined) throw new Error('no sample');
    const prefetch = {
      imagingStudy: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: sample.study }, { resource: stack.endpoint, search: { mode: 'include' } }] },
      patient: { resourceType: 'Patient', id: PATIENT_ID, birthDate: PATIENT_BIRTH_DATE },
    };
    // Its own job (the birth date is part of the key), then the map after the findings: ask
    // until the answer is final.
    const final = (answer: CdsResponse['cards']): boolean => !answer.some((c) => /in progress/.test(c.summary) || (c.detail ?? '').includes('still being made'));
    let first = cards(await hook(stack.app, positive(), prefetch));
    while (!final(first)) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      first = cards(await hook(stack.app, positive(), prefetch));
    }
    const { app: frontC, deps: frontCDeps } = await stack.restart();
    const results = await request(frontC).get(`/results/ImagingStudy/${positive()}?patient=${PATIENT_ID}`);
    expect(results.status).toBe(200);
    expect(results.text).toContain('"resourceType":"DiagnosticReport"');
    expect((await request(frontC).get(`/results/ImagingStudy/${positive()}?patient=someone-else`)).status).toBe(404);
    const again = await hook(frontC, positive(), prefetch);
    expect(again.status).toBe(200);
    expect((again.body as CdsResponse).cards.map((c) => c.summary)).toEqual(first.map((c) => c.summary));
    expect((await request(createOpsApp(frontCDeps)).get('/metrics')).text).toMatch(/cds_stored_answers_total\{service="imaging-ai-result"\} 1/);
  });

  it('counts results served ready, in progress and failed, jobs shed and the queue depth in the fronts\' metrics; a front is ready once a worker registered its models', async () => {
    const a = (await request(createOpsApp(stack.deps)).get('/metrics')).text;
    expect(a).toMatch(/analysis_results_served_total\{state="in-progress"\} [1-9]/);
    expect(a).toMatch(/analysis_results_served_total\{state="ready"\} [1-9]/);
    expect(a).toMatch(/analysis_results_served_total\{state="failed"\} [1-9]/);
    expect(a).toMatch(/analysis_queue_depth \d+/);
    const b = (await request(createOpsApp(frontBDeps)).get('/metrics')).text;
    expect(b).toMatch(/analysis_jobs_shed_total 1/);
    const ready = await request(createOpsApp(stack.deps)).get('/readyz');
    expect(ready.status).toBe(200);
    expect((ready.body as { models: { id: string }[] }).models.map((m) => m.id).sort()).toEqual(PINNED_MODELS.split(',').sort());
  });
});
