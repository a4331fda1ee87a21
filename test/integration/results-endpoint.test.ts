/**
 * Trust boundaries of stored results, against the real stack: GET /results/ImagingStudy/:id
 * serves the result hook's resources as a FHIR collection Bundle, guarded by the client JWT
 * like the CDS endpoints, only to the caller's trust domain and only for the patient the study
 * belongs to; cached analyses never cross domains or data sources.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { SignJWT, exportJWK, importPKCS8 } from 'jose';
import type { Bundle, DiagnosticReport, Endpoint, FhirResource } from 'fhir/r4.js';
import { IMAGINGSTUDY_AVAILABLE_HOOK } from '../../src/terminology.js';
import { validateR4 } from '../support/fhir-validator.js';
import { DEAD_PACS, EHR_TOKEN, PATIENT_ID, startStack, type Stack, PATIENT_BIRTH_DATE } from '../support/stack.js';

const ISS = 'https://ehr.example.org';
const OTHER_ISS = 'https://other-ehr.example.org';
let stack: Stack;
let key: Awaited<ReturnType<typeof importPKCS8>>;
let otherKey: Awaited<ReturnType<typeof importPKCS8>>;

async function issuerKey(dir: string, name: string): Promise<{ key: Awaited<ReturnType<typeof importPKCS8>>; jwksFile: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const jwksFile = path.join(dir, `${name}.json`);
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384', use: 'sig' }] }));
  return { key: await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'ES384'), jwksFile };
}

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jwks-'));
  const mine = await issuerKey(dir, 'ehr');
  const other = await issuerKey(dir, 'other');
  key = mine.key;
  otherKey = other.key;
  const issuers = [
    { iss: ISS, jwksFile: mine.jwksFile },
    { iss: OTHER_ISS, jwksFile: other.jwksFile },
  ];
  stack = await startStack({ files: ['pneumonia-person100_bacteria_475-mono2-8bit.dcm'], env: { HOST: '127.0.0.1', CDS_TRUSTED_ISSUERS: JSON.stringify(issuers) } });
}, 120_000);

afterAll(async () => {
  await stack.stop();
});

const BASE = 'https://cds.example.org';
interface Caller {
  readonly iss: string;
  readonly key: Awaited<ReturnType<typeof importPKCS8>>;
  readonly tenant?: string;
}
const me = (): Caller => ({ iss: ISS, key });

const token = (aud: string, caller: Caller = me()): Promise<string> =>
  new SignJWT(caller.tenant === undefined ? {} : { tenant: caller.tenant })
    .setProtectedHeader({ alg: 'ES384', kid: 'k1', typ: 'JWT' })
    .setIssuer(caller.iss)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime('4m')
    .setJti(randomUUID())
    .sign(caller.key);

const studyId = (): string => stack.samples[0]?.studyId ?? '';
const HOOK_URL = '/cds-services/imaging-ai-result';

async function callHook(body: Record<string, unknown>, caller: Caller = me()): Promise<request.Response> {
  return request(stack.app).post(HOOK_URL).set('Authorization', `Bearer ${await token(`${BASE}${HOOK_URL}`, caller)}`).send(body);
}

async function analyse(caller: Caller = me()): Promise<void> {
  const res = await callHook(
    {
      hook: IMAGINGSTUDY_AVAILABLE_HOOK,
      hookInstance: randomUUID(),
      fhirServer: stack.fhir.baseUrl,
      fhirAuthorization: { access_token: EHR_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'imaging-cds' },
      context: { patientId: PATIENT_ID, imagingStudyId: studyId() },
    },
    caller,
  );
  expect(res.status).toBe(200);
}

/** GET /results for a study, as `caller`, asking for `patient`'s results. */
async function getResults(id: string, patient: string | undefined, caller: Caller = me()): Promise<request.Response> {
  const pathOnly = `/results/ImagingStudy/${id}`;
  const url = patient === undefined ? pathOnly : `${pathOnly}?patient=${patient}`;
  return request(stack.app).get(url).set('Authorization', `Bearer ${await token(`${BASE}${pathOnly}`, caller)}`);
}

/** The sample study as a prefetched ImagingStudy of `patientId`, its pixels at `endpoint`. */
function prefetchedFor(patientId: string, endpoint: Endpoint = stack.endpoint): Record<string, unknown> {
  const sample = stack.samples[0];
  if (sample === undefined) throw new Error('no sample');
  const study = { ...sample.study, subject: { reference: `Patient/${patientId}` }, endpoint: [{ reference: `Endpoint/${endpoint.id ?? ''}` }] };
  return {
    hook: IMAGINGSTUDY_AVAILABLE_HOOK,
    hookInstance: randomUUID(),
    context: { patientId, imagingStudyId: studyId() },
    prefetch: {
      imagingStudy: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: study }, { resource: endpoint, search: { mode: 'include' } }] },
      // A child, as the chest model's validated use requires.
      patient: { resourceType: 'Patient', id: patientId, birthDate: PATIENT_BIRTH_DATE },
    },
  };
}

const reportOf = (res: request.Response): DiagnosticReport | undefined =>
  ((JSON.parse(res.text) as Bundle).entry ?? []).map((e) => e.resource as FhirResource).find((r): r is DiagnosticReport => r.resourceType === 'DiagnosticReport');

describe('GET /results/ImagingStudy/:id', () => {
  it('answers a bare 401 without a token, before and after analysis', async () => {
    const before = await request(stack.app).get(`/results/ImagingStudy/${studyId()}`);
    expect([before.status, before.text]).toEqual([401, '']);
    await analyse();
    const after = await request(stack.app).get(`/results/ImagingStudy/${studyId()}`);
    expect([after.status, after.text]).toEqual([401, '']);
  });

  it('answers 401 for a token whose aud is another endpoint (the CDS discovery URL)', async () => {
    const res = await request(stack.app).get(`/results/ImagingStudy/${studyId()}`).set('Authorization', `Bearer ${await token(`${BASE}/cds-services`)}`);
    expect(res.status).toBe(401);
  });

  it('returns the study results as a valid collection Bundle with urn:uuid links between entries', async () => {
    await analyse();
    const res = await getResults(studyId(), PATIENT_ID);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    const bundle = JSON.parse(res.text) as Bundle;
    expect(validateR4(bundle)).toEqual([]);
    expect(bundle.type).toBe('collection');
    const resources = (bundle.entry ?? []).map((e) => e.resource as FhirResource);
    expect(resources.map((r) => r.resourceType)).toEqual(['Device', 'Observation', 'DiagnosticReport', 'Provenance']);
    for (const r of resources) expect(validateR4(r)).toEqual([]);
    const fullUrls = new Set((bundle.entry ?? []).map((e) => e.fullUrl));
    const report = resources.find((r): r is DiagnosticReport => r.resourceType === 'DiagnosticReport');
    expect(report?.status).toBe('preliminary');
    for (const ref of report?.result ?? []) expect(fullUrls.has(ref.reference)).toBe(true);
    expect(report?.subject?.reference).toBe(`Patient/${PATIENT_ID}`);
  });

  it('answers 404 with an OperationOutcome for a study it has no result for', async () => {
    const res = await getResults('never-analysed', PATIENT_ID);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-found' }] });
  });

  it('requires the patient the study belongs to, and answers 400 without it', async () => {
    await analyse();
    const res = await getResults(studyId(), undefined);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'invalid', expression: ['patient'] }] });
  });

  it('never serves the results to another patient: the same 404 as for a study never analysed', async () => {
    await analyse();
    const res = await getResults(studyId(), 'pat-other');
    const unknown = await getResults('never-analysed', 'pat-other');
    expect([res.status, res.body]).toEqual([unknown.status, unknown.body]);
  });

  it('never serves the results to another trust domain (another issuer, or another tenant of the same issuer)', async () => {
    await analyse();
    expect((await getResults(studyId(), PATIENT_ID)).status).toBe(200);
    expect((await getResults(studyId(), PATIENT_ID, { iss: OTHER_ISS, key: otherKey })).status).toBe(404);
    expect((await getResults(studyId(), PATIENT_ID, { iss: ISS, key, tenant: 'tenant-b' })).status).toBe(404);
  });

  it("never lets one patient's hook replace another patient's stored results for the same ImagingStudy id", async () => {
    await analyse();
    const hostile = await callHook(prefetchedFor('pat-other'));
    expect(hostile.status).toBe(200);
    const mine = await getResults(studyId(), PATIENT_ID);
    expect(reportOf(mine)?.subject?.reference).toBe(`Patient/${PATIENT_ID}`);
    const theirs = await getResults(studyId(), 'pat-other');
    expect(reportOf(theirs)?.subject?.reference).toBe('Patient/pat-other');
  });
});

describe('cached analyses stay inside their trust domain and data source', () => {
  const dead = (): Endpoint => ({ ...stack.endpoint, id: 'dead', address: `${DEAD_PACS}/dicom-web` });

  it('answers another domain from the PACS, not from the cache: with its PACS down that is a 412', async () => {
    await analyse();
    // Same StudyInstanceUID, another issuer, pixels behind a dead PACS: a cache hit would answer 200.
    const res = await callHook(prefetchedFor(PATIENT_ID, dead()), { iss: OTHER_ISS, key: otherKey });
    expect(res.status).toBe(412);
    expect(JSON.stringify(res.body)).toContain('UPSTREAM_FAILED');
  });

  it('answers the same domain from the PACS when the study names another data source', async () => {
    await analyse();
    const res = await callHook(prefetchedFor(PATIENT_ID, dead()));
    expect(res.status).toBe(412);
  });

  it('answers the same domain, study and source from the cache', async () => {
    await analyse();
    const logged = stack.logs.length;
    const res = await callHook(prefetchedFor(PATIENT_ID));
    expect(res.status).toBe(200);
    const line = stack.logs.slice(logged).find((l) => l.includes('"study analysed"'));
    expect(line).toContain('"fromCache":true');
  });
});
