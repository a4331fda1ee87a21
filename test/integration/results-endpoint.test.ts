/**
 * GET /results/ImagingStudy/:id against the real stack: the result hook's resources as a FHIR
 * collection Bundle, guarded by the client JWT exactly like the CDS endpoints.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { SignJWT, exportJWK, importPKCS8 } from 'jose';
import type { Bundle, DiagnosticReport, FhirResource } from 'fhir/r4.js';
import { IMAGINGSTUDY_AVAILABLE_HOOK } from '../../src/terminology.js';
import { validateR4 } from '../support/fhir-validator.js';
import { EHR_TOKEN, PATIENT_ID, startStack, type Stack } from '../support/stack.js';

const ISS = 'https://ehr.example.org';
let stack: Stack;
let key: Awaited<ReturnType<typeof importPKCS8>>;

beforeAll(async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  key = await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'ES384');
  const jwksFile = path.join(mkdtempSync(path.join(tmpdir(), 'jwks-')), 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384', use: 'sig' }] }));
  stack = await startStack({ files: ['pneumonia-person100_bacteria_475-mono2-8bit.dcm'], env: { HOST: '127.0.0.1', CDS_TRUSTED_ISSUERS: JSON.stringify([{ iss: ISS, jwksFile }]) } });
}, 120_000);

afterAll(async () => {
  await stack.stop();
});

const BASE = 'https://cds.example.org';
const token = (aud: string): Promise<string> =>
  new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid: 'k1', typ: 'JWT' }).setIssuer(ISS).setAudience(aud).setIssuedAt().setExpirationTime('5m').setJti(randomUUID()).sign(key);

const studyId = (): string => stack.samples[0]?.studyId ?? '';

async function analyse(): Promise<void> {
  const res = await request(stack.app)
    .post('/cds-services/imaging-ai-result')
    .set('Authorization', `Bearer ${await token(`${BASE}/cds-services/imaging-ai-result`)}`)
    .send({
      hook: IMAGINGSTUDY_AVAILABLE_HOOK,
      hookInstance: randomUUID(),
      fhirServer: stack.fhir.baseUrl,
      fhirAuthorization: { access_token: EHR_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'imaging-cds' },
      context: { patientId: PATIENT_ID, imagingStudyId: studyId() },
    });
  expect(res.status).toBe(200);
}

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
    const url = `/results/ImagingStudy/${studyId()}`;
    const res = await request(stack.app).get(url).set('Authorization', `Bearer ${await token(`${BASE}${url}`)}`);
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
    const url = '/results/ImagingStudy/never-analysed';
    const res = await request(stack.app).get(url).set('Authorization', `Bearer ${await token(`${BASE}${url}`)}`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-found' }] });
  });
});
