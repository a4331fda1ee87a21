/**
 * Discovery, the order and chart hooks, feedback, operability and client authentication,
 * against the real stack (Orthanc, FHIR server, shipped model).
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { SignJWT, exportJWK, importPKCS8 } from 'jose';
import type { Bundle, OperationOutcome, ServiceRequest } from 'fhir/r4.js';
import { validateCdsResponse } from '../../src/cds-hooks/response-schema.js';
import type { CdsResponse, CdsServiceDefinition } from '../../src/cds-hooks/types.js';
import { IMAGINGSTUDY_AVAILABLE_HOOK } from '../../src/terminology.js';
import { createOpsApp } from '../../src/app.js';
import { EHR_TOKEN, FIXTURES, NOW, PATIENT_ID, imagingStudyFor, startStack, type Stack } from '../support/stack.js';

let stack: Stack;

/** The OperationOutcome body of an error answer. */
const oo = (res: request.Response): OperationOutcome => res.body as OperationOutcome;

beforeAll(async () => {
  stack = await startStack();
}, 120_000);

afterAll(async () => {
  await stack.stop();
});

const auth = (): Record<string, unknown> => ({
  fhirServer: stack.fhir.baseUrl,
  fhirAuthorization: { access_token: EHR_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'imaging-cds' },
});

function chestOrder(id: string): ServiceRequest {
  return {
    resourceType: 'ServiceRequest',
    id,
    status: 'draft',
    intent: 'order',
    category: [{ coding: [{ system: 'http://snomed.info/sct', code: '363679005', display: 'Imaging' }] }],
    code: { text: 'XR Chest AP' },
    bodySite: [{ coding: [{ system: 'http://snomed.info/sct', code: '51185008', display: 'Thoracic structure' }] }],
    subject: { reference: `Patient/${PATIENT_ID}` },
  };
}

const draftOrders = (...orders: ServiceRequest[]): Bundle => ({ resourceType: 'Bundle', type: 'collection', entry: orders.map((resource) => ({ resource })) });

function valid(body: unknown): CdsResponse {
  expect(validateCdsResponse(body)).toEqual([]);
  return body as CdsResponse;
}

describe('discovery', () => {
  it('lists the four services with their hooks and prefetch templates', async () => {
    const res = await request(stack.app).get('/cds-services');
    expect(res.status).toBe(200);
    const services = (res.body as { services: CdsServiceDefinition[] }).services;
    expect(services.map((s) => [s.id, s.hook])).toEqual([
      ['imaging-ai-result', IMAGINGSTUDY_AVAILABLE_HOOK],
      ['imaging-ai-order-select', 'order-select'],
      ['imaging-ai-order-sign', 'order-sign'],
      ['imaging-ai-patient-view', 'patient-view'],
    ]);
    for (const s of services) expect(s.description.length).toBeGreaterThan(20);
    expect(res.headers['access-control-allow-origin']).toBe('*');
  });

  it('answers CORS preflight for browser clients', async () => {
    const res = await request(stack.app).options('/cds-services/imaging-ai-result').set('Origin', 'https://ehr.example.org').set('Access-Control-Request-Method', 'POST').set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-headers']).toContain('Authorization');
  });

  it('publishes the custom hook in the Hook Definition Format', () => {
    const def = JSON.parse(readFileSync('fhir-resources/hook-imagingstudy-available.json', 'utf8')) as { hook: string; context: { field: string; optionality: string }[] };
    expect(def.hook).toBe(IMAGINGSTUDY_AVAILABLE_HOOK);
    expect(def.context.map((c) => [c.field, c.optionality])).toEqual([
      ['patientId', 'REQUIRED'],
      ['imagingStudyId', 'REQUIRED'],
      ['serviceRequestId', 'OPTIONAL'],
      ['userId', 'OPTIONAL'],
    ]);
  });
});

describe('order-sign and order-select', () => {
  /** A sample the model evaluation calls clearly positive (outside the review band). */
  const positive = (): string => {
    const exp = (JSON.parse(readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as { files: { file: string; interpretation: string; needsReview: boolean }[] }).files;
    const hit = stack.samples.find((s) => exp.some((e) => e.file === s.file && e.interpretation === 'positive' && !e.needsReview));
    if (hit === undefined) throw new Error('no clearly positive sample in expected.json');
    return hit.file;
  };

  beforeAll(async () => {
    // A chest study of 3 days ago with the pixels of a positive sample (same StudyInstanceUID).
    const sample = stack.samples.find((s) => s.file === positive());
    if (sample === undefined) throw new Error('no positive sample');
    await stack.fhir.seed(imagingStudyFor('recent-cxr', sample.info, 3));
    // Order and chart hooks never wait for an analysis: they show what is ready. The result hook
    // (the study became available) analyses the study first, as in the EHR's workflow.
    const res = await request(stack.app)
      .post('/cds-services/imaging-ai-result')
      .send({ hook: IMAGINGSTUDY_AVAILABLE_HOOK, hookInstance: randomUUID(), ...auth(), context: { patientId: PATIENT_ID, imagingStudyId: 'recent-cxr' } });
    expect(res.status).toBe(200);
  });

  it('shows the recent equivalent study and its prior AI finding for a chest order', async () => {
    const res = await request(stack.app)
      .post('/cds-services/imaging-ai-order-sign')
      .send({ hook: 'order-sign', hookInstance: randomUUID(), ...auth(), context: { userId: 'Practitioner/doc1', patientId: PATIENT_ID, draftOrders: draftOrders(chestOrder('o1')) } });
    expect(res.status).toBe(200);
    const body = valid(res.body);
    const recent = body.cards.find((c) => c.summary.startsWith('A chest imaging study was done 3 day(s) ago'));
    expect(recent?.indicator).toBe('info');
    const prior = body.cards.find((c) => c.summary.startsWith(`Prior study (${new Date(NOW.getTime() - 3 * 86_400_000).toISOString().slice(0, 10)})`));
    expect(prior?.summary).toMatch(/preliminary AI suggests possible pneumonia \((?:\d+\.\d|> 99)%\)$/);
    expect(prior?.indicator).toBe('warning');
    expect(prior?.detail).toContain('not a diagnosis');
  });

  it('recognises a CPT-coded imaging order without any category, shaped as the CDS Hooks sandbox sends it', async () => {
    // The sandbox's order-sign: CT thorax (CPT 71250), no category, an empty coding element beside it.
    const ct: ServiceRequest = {
      resourceType: 'ServiceRequest',
      id: 'sandbox-ct',
      status: 'draft',
      intent: 'order',
      subject: { reference: `Patient/${PATIENT_ID}` },
      code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '71250', display: 'CT thorax w/o contrast material' }, {}] },
    };
    const res = await request(stack.app)
      .post('/cds-services/imaging-ai-order-sign')
      .send({ hook: 'order-sign', hookInstance: randomUUID(), ...auth(), context: { userId: 'Practitioner/doc1', patientId: PATIENT_ID, draftOrders: draftOrders(ct) } });
    expect(res.status).toBe(200);
    const summaries = valid(res.body).cards.map((c) => c.summary);
    expect(summaries).toEqual(expect.arrayContaining([expect.stringMatching(/^A chest imaging study was done 3 day\(s\) ago/), expect.stringMatching(/preliminary AI suggests possible pneumonia/)]));
  });

  it('ignores orders that are not imaging orders', async () => {
    const lab: ServiceRequest = { ...chestOrder('lab1'), category: [{ coding: [{ system: 'http://snomed.info/sct', code: '108252007', display: 'Laboratory procedure' }] }] };
    const res = await request(stack.app)
      .post('/cds-services/imaging-ai-order-sign')
      .send({ hook: 'order-sign', hookInstance: randomUUID(), ...auth(), context: { userId: 'Practitioner/doc1', patientId: PATIENT_ID, draftOrders: draftOrders(lab) } });
    expect(valid(res.body).cards).toEqual([]);
  });

  it('order-select considers only the selected orders', async () => {
    const send = (selections: string[]): request.Test =>
      request(stack.app)
        .post('/cds-services/imaging-ai-order-select')
        .send({ hook: 'order-select', hookInstance: randomUUID(), ...auth(), context: { userId: 'Practitioner/doc1', patientId: PATIENT_ID, selections, draftOrders: draftOrders(chestOrder('o1'), { ...chestOrder('o2'), bodySite: undefined, code: { text: 'XR Knee' } }) } });
    expect(valid((await send(['ServiceRequest/o2'])).body).cards).toEqual([]);
    expect(valid((await send(['ServiceRequest/o1'])).body).cards.length).toBeGreaterThan(0);
  });

  it('answers 400 when order-select has no selections', async () => {
    const res = await request(stack.app)
      .post('/cds-services/imaging-ai-order-select')
      .send({ hook: 'order-select', hookInstance: randomUUID(), ...auth(), context: { userId: 'Practitioner/doc1', patientId: PATIENT_ID, draftOrders: draftOrders(chestOrder('o1')) } });
    expect(res.status).toBe(400);
    expect(oo(res).issue[0]?.expression).toEqual(['context.selections']);
  });
});

describe('patient-view', () => {
  it('surfaces actionable findings of recent studies only', async () => {
    const res = await request(stack.app)
      .post('/cds-services/imaging-ai-patient-view')
      .send({ hook: 'patient-view', hookInstance: randomUUID(), ...auth(), context: { userId: 'Practitioner/doc1', patientId: PATIENT_ID } });
    expect(res.status).toBe(200);
    const body = valid(res.body);
    // Only the study of 3 days ago is recent (the samples are 41+ days old), and it carries the
    // pixels of a clearly positive sample: exactly one card, and it must say so.
    expect(body.cards).toHaveLength(1);
    const card = body.cards[0];
    expect(card?.detail).toContain('Preliminary AI result');
    expect(card?.indicator).toBe('warning');
    expect(card?.summary).toMatch(/^Preliminary AI: possible pneumonia/);
  });

  it('answers 412 without prefetch and without FHIR access', async () => {
    const res = await request(stack.app).post('/cds-services/imaging-ai-patient-view').send({ hook: 'patient-view', hookInstance: randomUUID(), context: { userId: 'Practitioner/doc1', patientId: PATIENT_ID } });
    expect(res.status).toBe(412);
  });

  it('answers with no cards when the client says there are no studies (null prefetch)', async () => {
    const res = await request(stack.app)
      .post('/cds-services/imaging-ai-patient-view')
      .send({ hook: 'patient-view', hookInstance: randomUUID(), context: { userId: 'Practitioner/doc1', patientId: PATIENT_ID }, prefetch: { recentStudies: null } });
    expect(res.status).toBe(200);
    expect(valid(res.body).cards).toEqual([]);
  });
});

describe('feedback', () => {
  const item = { card: 'c1b2d3e4-0000-4000-8000-000000000001', outcome: 'overridden', outcomeTimestamp: '2026-11-23T12:01:00Z', overrideReason: { reason: { system: 'http://imaging-cds.org/fhir/CodeSystem/override-reason', code: 'disagree-with-finding' }, userComment: 'Atelectasis, not pneumonia' } };

  it('stores feedback durably, once, across a restart', async () => {
    const send = (app = stack.app): request.Test => request(app).post('/cds-services/imaging-ai-result/feedback').send({ feedback: [item] });
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200); // clients resend: acknowledged, not stored twice
    const restarted = await stack.restart();
    const stored = restarted.deps.feedback.all().filter((r) => (r.item as { card: string }).card === item.card);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ serviceId: 'imaging-ai-result', item });
  });

  it('answers 400 for accepted feedback without acceptedSuggestions', async () => {
    const res = await request(stack.app).post('/cds-services/imaging-ai-result/feedback').send({ feedback: [{ card: 'x', outcome: 'accepted', outcomeTimestamp: '2026-11-23T12:01:00Z' }] });
    expect(res.status).toBe(400);
    expect(oo(res).issue[0]?.diagnostics).toContain('acceptedSuggestions');
  });

  it('answers 404 for feedback to an unknown service', async () => {
    const res = await request(stack.app).post('/cds-services/nope/feedback').send({ feedback: [item] });
    expect(res.status).toBe(404);
  });
});

describe('operability', () => {
  it('reports health on the public port, readiness and Prometheus metrics only on the operational one', async () => {
    expect((await request(stack.app).get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await request(stack.app).get('/readyz')).status).toBe(404);
    expect((await request(stack.app).get('/metrics')).status).toBe(404);
    const ops = createOpsApp(stack.deps);
    const ready = await request(ops).get('/readyz');
    expect(ready.status).toBe(200);
    expect((ready.body as { models: unknown[] }).models).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'pneumonia-cxr-28', status: 'ready' })]));
    const metrics = await request(ops).get('/metrics');
    expect(metrics.text).toMatch(/cds_requests_total\{service="imaging-ai-order-sign",status="200"\} \d+/);
    expect(metrics.text).toMatch(/cds_request_duration_seconds_bucket\{le="0.5",service="imaging-ai-patient-view"\}/);
    expect(metrics.text).toMatch(/inference_duration_seconds_count\{model="pneumonia-cxr-28"\} [1-9]/);
  });

  it('counts every request in the metrics, rejected ones included, by route template and never by raw path', async () => {
    await request(stack.app).post('/cds-services/imaging-ai-patient-view').set('content-type', 'application/json').send('{ not json');
    await request(stack.app).get('/no/such/route/4711');
    const metrics = (await request(createOpsApp(stack.deps)).get('/metrics')).text;
    expect(metrics).toMatch(/http_requests_total\{route="\/cds-services",status="400"\} [1-9]/);
    expect(metrics).toMatch(/http_requests_total\{route="other",status="404"\} [1-9]/);
    // No label carries the raw path the client sent.
    expect(metrics).not.toMatch(/route="[^"]*no\/such/);
  });

  it('answers errors as application/fhir+json OperationOutcomes', async () => {
    const res = await request(stack.app).get('/no/such/route');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(JSON.parse(res.text)).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-found' }] });
  });

  it('echoes a sane X-Request-Id and replaces a hostile one', async () => {
    expect((await request(stack.app).get('/healthz').set('X-Request-Id', 'abc-123')).headers['x-request-id']).toBe('abc-123');
    expect((await request(stack.app).get('/healthz').set('X-Request-Id', '<script>alert(1)</script>')).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reports a broken model folder as unavailable with its reason, and stays up', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'models-'));
    const { cpSync, mkdirSync } = await import('node:fs');
    cpSync('models/pneumonia-cxr-224', path.join(dir, 'pneumonia-cxr-224'), { recursive: true });
    mkdirSync(path.join(dir, 'broken'));
    writeFileSync(path.join(dir, 'broken', 'manifest.json'), '{ not json');
    const { loadConfig } = await import('../../src/config.js');
    const { buildDependencies } = await import('../../src/wiring.js');
    const { createLogger } = await import('../../src/logging.js');
    const deps = await buildDependencies(loadConfig({ MODELS_DIR: dir, DATA_DIR: mkdtempSync(path.join(tmpdir(), 'data-')), LOG_LEVEL: 'silent' }), createLogger('silent'));
    try {
      const res = await request(createOpsApp(deps)).get('/readyz');
      expect(res.status).toBe(200);
      expect((res.body as { models: unknown[] }).models).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'broken', status: 'unavailable', reason: expect.any(String) as string })]));
    } finally {
      await deps.close();
    }
  });
});

describe('client authentication (JWT) through the real app', () => {
  const ISS = 'https://ehr.example.org';
  let app: request.Agent | undefined;
  let key: Awaited<ReturnType<typeof importPKCS8>>;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    key = await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'ES384');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384', use: 'sig' };
    const jwksFile = path.join(mkdtempSync(path.join(tmpdir(), 'jwks-')), 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
    const { loadConfig } = await import('../../src/config.js');
    const { buildDependencies } = await import('../../src/wiring.js');
    const { createLogger } = await import('../../src/logging.js');
    const { createApp } = await import('../../src/app.js');
    const deps = await buildDependencies(
      loadConfig({ HOST: '127.0.0.1', PUBLIC_BASE_URL: 'https://cds.example.org', CDS_TRUSTED_ISSUERS: JSON.stringify([{ iss: ISS, jwksFile }]), DATA_DIR: mkdtempSync(path.join(tmpdir(), 'data-')), LOG_LEVEL: 'silent' }),
      createLogger('silent'),
    );
    app = request.agent(createApp(deps));
    close = () => deps.close();
  });

  afterAll(async () => {
    await close?.();
  });

  const token = (aud: string, jti = randomUUID()): Promise<string> =>
    new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid: 'k1', typ: 'JWT' }).setIssuer(ISS).setAudience(aud).setIssuedAt().setExpirationTime('4m').setJti(jti).sign(key);

  it('accepts a valid ES384 token whose aud is the exact endpoint', async () => {
    const res = await app?.get('/cds-services').set('Authorization', `Bearer ${await token('https://cds.example.org/cds-services')}`);
    expect(res?.status).toBe(200);
  });

  it('answers a bare 401 without a token', async () => {
    const res = await app?.get('/cds-services');
    expect(res?.status).toBe(401);
    expect(res?.text).toBe('');
  });

  it('answers 401 for a token meant for another endpoint', async () => {
    const res = await app?.post('/cds-services/imaging-ai-patient-view').set('Authorization', `Bearer ${await token('https://cds.example.org/cds-services')}`).send({});
    expect(res?.status).toBe(401);
  });

  it('answers 401 for a replayed token', async () => {
    const t = await token('https://cds.example.org/cds-services');
    expect((await app?.get('/cds-services').set('Authorization', `Bearer ${t}`))?.status).toBe(200);
    expect((await app?.get('/cds-services').set('Authorization', `Bearer ${t}`))?.status).toBe(401);
  });

  it('checks the token before reading the body: malformed JSON without a token is a bare 401, not a 400', async () => {
    const res = await app?.post('/cds-services/imaging-ai-patient-view').set('content-type', 'application/json').send('{ not json');
    expect([res?.status, res?.text]).toEqual([401, '']);
  });

  it('answers a body declared gzip that is not gzip with 400 and an OperationOutcome', async () => {
    const url = 'https://cds.example.org/cds-services/imaging-ai-patient-view';
    const res = await app?.post('/cds-services/imaging-ai-patient-view').set('Authorization', `Bearer ${await token(url)}`).set('content-type', 'application/json').set('content-encoding', 'gzip').send('{"hook":"patient-view"}');
    expect(res?.status).toBe(400);
    expect(res?.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid' }] });
  });
});

describe('per-issuer limits through the real app', () => {
  const ISS = 'https://ehr.example.org';
  const OTHER = 'https://other-ehr.example.org';
  let keys: Record<string, Awaited<ReturnType<typeof importPKCS8>>> = {};
  let jwksFiles: Record<string, string> = {};
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'jwks-'));
    for (const iss of [ISS, OTHER]) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      keys = { ...keys, [iss]: await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'ES384') };
      const file = path.join(dir, `${String(Object.keys(jwksFiles).length)}.json`);
      writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384', use: 'sig' }] }));
      jwksFiles = { ...jwksFiles, [iss]: file };
    }
  });

  afterAll(async () => {
    for (const close of closers) await close();
  });

  async function appWith(env: Record<string, string>): Promise<request.Agent> {
    const { loadConfig } = await import('../../src/config.js');
    const { buildDependencies } = await import('../../src/wiring.js');
    const { createLogger } = await import('../../src/logging.js');
    const { createApp } = await import('../../src/app.js');
    const issuers = [ISS, OTHER].map((iss) => ({ iss, jwksFile: jwksFiles[iss] }));
    const deps = await buildDependencies(
      loadConfig({ HOST: '127.0.0.1', PUBLIC_BASE_URL: 'https://cds.example.org', CDS_TRUSTED_ISSUERS: JSON.stringify(issuers), DATA_DIR: mkdtempSync(path.join(tmpdir(), 'data-')), LOG_LEVEL: 'silent', MODELS: 'breast-us-28', ...env }),
      createLogger('silent'),
    );
    closers.push(() => deps.close());
    return request.agent(createApp(deps));
  }

  /** A token of `iss` for discovery; `lifetime` seconds from one clock reading. */
  async function discoveryToken(iss: string, lifetime = 240): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const key = keys[iss];
    if (key === undefined) throw new Error('no key');
    return new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid: 'k1', typ: 'JWT' }).setIssuer(iss).setAudience('https://cds.example.org/cds-services').setIssuedAt(now).setExpirationTime(now + lifetime).setJti(randomUUID()).sign(key);
  }

  it('answers 429 with Retry-After and an OperationOutcome to an issuer over its rate, and not to another issuer', async () => {
    const app = await appWith({ CDS_ISSUER_RATE_LIMIT: '0.01', CDS_ISSUER_BURST: '1' });
    expect((await app.get('/cds-services').set('Authorization', `Bearer ${await discoveryToken(ISS)}`)).status).toBe(200);
    const over = await app.get('/cds-services').set('Authorization', `Bearer ${await discoveryToken(ISS)}`);
    expect(over.status).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(over.text)).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'throttled' }] });
    expect((await app.get('/cds-services').set('Authorization', `Bearer ${await discoveryToken(OTHER)}`)).status).toBe(200);
  });

  it("answers 503 with Retry-After when an issuer's replay-cache share is full, never a 401, and only to that issuer", async () => {
    const app = await appWith({ CDS_REPLAY_CACHE_ENTRIES_PER_ISSUER: '1' });
    expect((await app.get('/cds-services').set('Authorization', `Bearer ${await discoveryToken(ISS)}`)).status).toBe(200);
    const full = await app.get('/cds-services').set('Authorization', `Bearer ${await discoveryToken(ISS)}`);
    expect(full.status).toBe(503);
    expect(full.headers['retry-after']).toBeDefined();
    expect(JSON.parse(full.text)).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'transient' }] });
    expect((await app.get('/cds-services').set('Authorization', `Bearer ${await discoveryToken(OTHER)}`)).status).toBe(200);
  });

  it('answers 401 to a token that lives longer than 5 minutes (exp − iat)', async () => {
    const app = await appWith({});
    expect((await app.get('/cds-services').set('Authorization', `Bearer ${await discoveryToken(ISS, 365 * 86_400)}`)).status).toBe(401);
    expect((await app.get('/cds-services').set('Authorization', `Bearer ${await discoveryToken(ISS, 300)}`)).status).toBe(200);
  });
});

describe('client errors are 4xx OperationOutcomes, never a 500', () => {
  it.each([
    ['a service id', 'post', '/cds-services/%zz'],
    ['a feedback path', 'post', '/cds-services/%zz/feedback'],
    ['a results path', 'get', '/results/ImagingStudy/%zz'],
  ] as const)('answers bad percent-encoding in %s with 400', async (_what, method, url) => {
    const res = method === 'post' ? await request(stack.app).post(url).send({}) : await request(stack.app).get(url);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'invalid', diagnostics: 'CDS_BAD_REQUEST: the request path is not valid percent-encoding' }] });
  });

  it.each([
    ['a body declared gzip that is not gzip', { 'content-encoding': 'gzip' }],
    ['a body declared brotli that is not brotli', { 'content-encoding': 'br' }],
    ['an unknown content encoding', { 'content-encoding': 'x-nonsense' }],
    ['an unsupported charset', { 'content-type': 'application/json; charset=latin-9' }],
  ] as const)('answers %s with a 4xx OperationOutcome', async (_what, headers) => {
    const res = await request(stack.app).post('/cds-services/imaging-ai-patient-view').set({ 'content-type': 'application/json', ...headers }).send('{"hook":"patient-view"}');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid' }] });
  });
});
