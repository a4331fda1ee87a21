/**
 * Analysis before any hook asks, with everything real: Orthanc runs the shipped Lua script
 * (deploy/orthanc/imaging-cds-trigger.lua), which posts each stable study to the service
 * listening on loopback; the FHIR server's Subscription notifications (R4 Backport IG, id-only
 * and full-resource) arrive at the rest-hook endpoint. A later hook is answered from the store
 * without running a model again. Each trigger is authenticated and idempotent.
 */
import { once } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import request from 'supertest';
import type { Bundle, OperationOutcome } from 'fhir/r4.js';
import { createOpsApp } from '../../src/app.js';
import { validateCdsResponse } from '../../src/cds-hooks/response-schema.js';
import type { CdsResponse } from '../../src/cds-hooks/types.js';
import { parseDicom } from '../../src/dicom/parse.js';
import { IMAGINGSTUDY_AVAILABLE_TOPIC } from '../../src/terminology.js';
import { childSampleFiles, withChildBirthDate } from '../support/child-sample.js';
import { freePort } from '../support/free-port.js';
import { EHR_TOKEN, FIXTURES, PATIENT_ID, imagingStudyFor, sampleFiles, startStack, type Stack, resultHookBody } from '../support/stack.js';

const PACS_SECRET = randomBytes(24).toString('hex');
const SUBSCRIPTION_SECRET = randomBytes(24).toString('hex');

/** A little-endian sample the model evaluation calls clearly positive, and another one. */
function chosenFiles(): [string, string] {
  const expected = (JSON.parse(readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as { files: { file: string; interpretation: string; needsReview: boolean }[] }).files;
  const positive = childSampleFiles().find((f) => expected.some((e) => e.file === f && e.interpretation === 'positive' && !e.needsReview));
  const other = sampleFiles().find((f) => f !== positive);
  if (positive === undefined || other === undefined) throw new Error('the fixtures need a clearly positive sample and another one');
  return [positive, other];
}

let stack: Stack;
let server: Server;
const [positiveFile, otherFile] = chosenFiles();

beforeAll(async () => {
  const port = await freePort();
  stack = await startStack({
    // Nothing in Orthanc yet: each test stores its study once the service listens.
    files: [],
    orthanc: {
      config: {
        StableAge: 1,
        LuaScripts: [path.resolve('deploy/orthanc/imaging-cds-trigger.lua')],
        ImagingCdsTrigger: { Url: `http://127.0.0.1:${port}/triggers/pacs/stable-study`, Secret: PACS_SECRET },
      },
    },
    env: { PACS_TRIGGER_SECRET: PACS_SECRET, SUBSCRIPTION_SECRET, SUBSCRIPTION_FHIR_TOKEN: EHR_TOKEN },
    envFor: ({ fhirBaseUrl, dicomWebRoot }) => ({ PACS_TRIGGER_DICOMWEB_ROOT: dicomWebRoot, SUBSCRIPTION_FHIR_SERVER: fhirBaseUrl }),
  });
  server = stack.app.listen(port, '127.0.0.1');
  await once(server, 'listening');
}, 180_000);

afterAll(async () => {
  server.close();
  await stack.stop();
});

/** The service's Prometheus text. */
const metrics = async (): Promise<string> => (await request(createOpsApp(stack.deps)).get('/metrics')).text;

/** Sum of a metric's samples whose labels contain `labels` (e.g. `outcome="done"`). */
function total(text: string, name: string, labels = ''): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(name) && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Polls the metrics until `done` holds (the suite's timeout bounds it). */
async function until(done: (text: string) => boolean): Promise<string> {
  for (;;) {
    const text = await metrics();
    if (done(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const jobsDone = (text: string): number => total(text, 'analysis_job_run_seconds_count', 'outcome="done"');
const modelRuns = (text: string): number => total(text, 'inference_duration_seconds_count');

const hook = (studyId: string): request.Test => request(stack.app).post('/cds-services/imaging-ai-result').send(resultHookBody(stack.fhir.baseUrl, studyId));

function summaries(res: request.Response): string[] {
  expect(res.status).toBe(200);
  expect(validateCdsResponse(res.body)).toEqual([]);
  return (res.body as CdsResponse).cards.map((c) => c.summary);
}

const pacsTrigger = (body: unknown, secret: string | null = PACS_SECRET): request.Test => {
  const req = request(stack.app).post('/triggers/pacs/stable-study');
  return (secret === null ? req : req.set('authorization', `Bearer ${secret}`)).send(body as object);
};

const diagnostics = (res: request.Response): string => (res.body as OperationOutcome).issue[0]?.diagnostics ?? '';

describe('the PACS trigger (Orthanc OnStableStudy)', () => {
  it('analyses a study stored in Orthanc before any hook; the hook then answers from the store without running a model', async () => {
    const before = await metrics();
    const bytes = withChildBirthDate(readFileSync(path.join(FIXTURES, positiveFile)));
    await stack.orthanc.upload(bytes);
    // Orthanc's Lua script posts the study once it is stable; the analysis runs in the background.
    const analysed = await until((t) => total(t, 'analysis_triggers_total', 'trigger="pacs",outcome="queued"') >= 1 && jobsDone(t) > jobsDone(before));
    expect(modelRuns(analysed)).toBeGreaterThan(modelRuns(before));
    const info = parseDicom(bytes).info;
    await stack.fhir.seed(imagingStudyFor('pacs-triggered', info, 1));
    const cards = summaries(await hook('pacs-triggered'));
    expect(cards.some((s) => /^Preliminary AI: possible pneumonia/.test(s))).toBe(true);
    expect(modelRuns(await metrics())).toBe(modelRuns(analysed));
    const line = stack.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'study analysed' && l['fromCache'] === true);
    expect(line).toBeDefined();
    // The same event again (Orthanc re-sends when a study changes): nothing new is queued.
    const again = await pacsTrigger({ StudyInstanceUID: info.studyInstanceUid });
    expect(again.status).toBe(202);
    expect(diagnostics(again)).toBe('0 analysis job(s) queued, 1 already queued, running or done');
  }, 120_000);

  it('refuses a missing or wrong secret (401) before reading the body, and a malformed body (400), with an OperationOutcome', async () => {
    for (const secret of [null, 'not-the-secret', `${PACS_SECRET}x`]) {
      const res = await pacsTrigger({ StudyInstanceUID: '1.2.3' }, secret);
      expect(res.status).toBe(401);
      expect(diagnostics(res)).toMatch(/^TRIGGER_REJECTED: /);
    }
    for (const body of [{}, { StudyInstanceUID: 'not a uid' }, { StudyInstanceUID: `1.${'2'.repeat(70)}` }, [1, 2], { StudyInstanceUID: 12 }]) {
      const res = await pacsTrigger(body);
      expect(res.status).toBe(400);
      expect(diagnostics(res)).toMatch(/^TRIGGER_BAD_REQUEST: /);
    }
    const text = await request(stack.app).post('/triggers/pacs/stable-study').set('authorization', `Bearer ${PACS_SECRET}`).set('content-type', 'application/json').send('{"StudyInstanceUID":');
    expect(text.status).toBe(400);
    const huge = await pacsTrigger({ StudyInstanceUID: '1.2.3', padding: 'x'.repeat(300_000) });
    expect(huge.status).toBe(400);
    expect(diagnostics(huge)).toBe('TRIGGER_BAD_REQUEST: the body is larger than 256kb');
  });

  it('stores a study the PACS does not have as a failure with its reason, and answers the next trigger for it as known', async () => {
    const uid = `2.25.${BigInt(`0x${randomBytes(12).toString('hex')}`).toString()}`;
    const before = await metrics();
    expect((await pacsTrigger({ StudyInstanceUID: uid })).status).toBe(202);
    await until((t) => total(t, 'analysis_job_run_seconds_count', 'outcome="failed"') > total(before, 'analysis_job_run_seconds_count', 'outcome="failed"'));
    const line = stack.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'analysis job failed' && l['code'] === 'DATA_UNAVAILABLE');
    expect(line).toBeDefined();
    expect(diagnostics(await pacsTrigger({ StudyInstanceUID: uid }))).toBe('0 analysis job(s) queued, 1 already queued, running or done');
  }, 60_000);
});

/** A notification Bundle (R4 Backport IG): its SubscriptionStatus, then the focus entries. */
function notification(type: string, focus: readonly string[], resources: readonly unknown[] = [], topic: string | null = IMAGINGSTUDY_AVAILABLE_TOPIC): Bundle {
  const status = {
    resourceType: 'Parameters',
    meta: { profile: ['http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4'] },
    parameter: [
      { name: 'subscription', valueReference: { reference: `${stack.fhir.baseUrl}/Subscription/imaging-cds` } },
      ...(topic === null ? [] : [{ name: 'topic', valueCanonical: topic }]),
      { name: 'status', valueCode: 'active' },
      { name: 'type', valueCode: type },
      { name: 'events-since-subscription-start', valueString: String(focus.length) },
      ...focus.map((reference, i) => ({
        name: 'notification-event',
        part: [
          { name: 'event-number', valueString: String(i + 1) },
          { name: 'focus', valueReference: { reference } },
        ],
      })),
    ],
  };
  return {
    resourceType: 'Bundle',
    type: 'history',
    timestamp: new Date().toISOString(),
    entry: [
      { fullUrl: `urn:uuid:${randomUUID()}`, resource: status, request: { method: 'GET', url: `${stack.fhir.baseUrl}/Subscription/imaging-cds/$status` }, response: { status: '200' } },
      ...focus.map((fullUrl, i) => ({ fullUrl, ...(resources[i] === undefined ? {} : { resource: resources[i] as never }), request: { method: 'PUT' as const, url: fullUrl }, response: { status: '201' } })),
    ],
  };
}

const notify = (body: unknown, secret = SUBSCRIPTION_SECRET): request.Test =>
  request(stack.app).post('/triggers/fhir-subscription').set('authorization', `Bearer ${secret}`).set('content-type', 'application/fhir+json').send(JSON.stringify(body));

describe('the FHIR Subscription trigger (rest-hook, R4 Backport IG)', () => {
  const STUDY_ID = 'notified-study';
  const studyUrl = (): string => `${stack.fhir.baseUrl}/ImagingStudy/${STUDY_ID}`;
  const otherBytes = readFileSync(path.join(FIXTURES, otherFile));
  const notifiedStudy = imagingStudyFor(STUDY_ID, parseDicom(otherBytes).info, 2);

  beforeAll(async () => {
    await stack.orthanc.upload(otherBytes);
    await stack.fhir.seed(notifiedStudy);
  });

  it('acknowledges a handshake and a heartbeat (with or without the optional topic) without starting anything', async () => {
    for (const body of [notification('handshake', []), notification('heartbeat', []), notification('heartbeat', [], [], null)]) {
      const res = await notify(body);
      expect(res.status).toBe(200);
      expect(diagnostics(res)).toBe('0 analysis job(s) queued, 0 already queued, running or done');
    }
  });

  it('reads the ImagingStudy of an id-only notification with its own credentials and analyses it; the hook then finds it ready', async () => {
    const before = await metrics();
    const res = await notify(notification('event-notification', [studyUrl()]));
    expect(res.status).toBe(200);
    expect(diagnostics(res)).toBe('1 analysis job(s) queued, 0 already queued, running or done');
    const done = await until((t) => jobsDone(t) > jobsDone(before));
    const cards = summaries(await hook(STUDY_ID));
    expect(cards.length).toBeGreaterThan(0);
    expect(cards.some((s) => /in progress/.test(s))).toBe(false);
    const after = await metrics();
    // Same ImagingStudy, same job: the hook's answer was ready, no job ran for it.
    expect(jobsDone(after)).toBe(jobsDone(done));
    expect(total(after, 'analysis_results_served_total', 'state="ready"')).toBeGreaterThan(total(before, 'analysis_results_served_total', 'state="ready"'));
  }, 120_000);

  it('takes the study a full-resource notification carries, and queues nothing new for a study already analysed', async () => {
    const res = await notify(notification('event-notification', [studyUrl()], [notifiedStudy]));
    expect(res.status).toBe(200);
    expect(diagnostics(res)).toBe('0 analysis job(s) queued, 1 already queued, running or done');
  });

  it('refuses a wrong secret, another topic, a focus on another server or of another type, and a body that is not a notification', async () => {
    const wrong = await notify(notification('handshake', []), 'x'.repeat(48));
    expect(wrong.status).toBe(401);
    const cases: unknown[] = [
      notification('event-notification', [studyUrl()], [], 'http://example.org/SubscriptionTopic/other'),
      notification('event-notification', ['https://elsewhere.example.org/fhir/ImagingStudy/x']),
      notification('event-notification', [`${stack.fhir.baseUrl}/Patient/${PATIENT_ID}`]),
      notification('event-notification', []),
      { resourceType: 'Bundle', type: 'transaction', entry: [] },
      { resourceType: 'Patient' },
      'text',
    ];
    for (const body of cases) {
      const res = await notify(body);
      expect(res.status).toBe(400);
      expect(diagnostics(res)).toMatch(/^TRIGGER_BAD_REQUEST: /);
    }
    // An ImagingStudy the server does not have: the read's own 4xx, nothing queued.
    const missing = await notify(notification('event-notification', [`${stack.fhir.baseUrl}/ImagingStudy/no-such-study`]));
    expect(missing.status).toBe(412);
    expect(diagnostics(missing)).toMatch(/^DATA_UNAVAILABLE: /);
  });
});
