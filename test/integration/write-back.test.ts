/**
 * Write-back of preliminary results to a real FHIR server (medplum FhirRouter + MemoryRepository
 * over HTTP), triggered by the real result hook on the real sample radiographs.
 *
 * What medplum does (checked in this suite, not assumed): it honours `request.ifNoneExist` in
 * transactions (a match answers 200 with the existing resource; `urn:uuid:` references in the
 * other entries resolve to it); its token search cannot match an identifier value that contains
 * `|`, escaped or not, which is why the conditional-create key is a pipe-free identifier.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { DiagnosticReport, Observation, Provenance, Resource } from 'fhir/r4.js';
import { IMAGINGSTUDY_AVAILABLE_HOOK, RESOURCE_KEY_SYSTEM } from '../../src/terminology.js';
import { loadConfig } from '../../src/config.js';
import { startFhirServer, type TestFhirServer } from '../support/fhir-server.js';
import { EHR_TOKEN, PATIENT_ID, startStack, type Stack } from '../support/stack.js';

const WRITE_TOKEN = 'writeback-service-token-51c2';
let stack: Stack;
let target: TestFhirServer;

beforeAll(async () => {
  target = await startFhirServer({ token: WRITE_TOKEN });
  stack = await startStack({
    files: ['normal-IM-0001-0001-mono2-8bit.dcm', 'pneumonia-person100_bacteria_475-mono2-8bit.dcm', 'pneumonia-person10_virus_35-mono2-8bit.dcm'],
    envFor: ({ fhirBaseUrl }) => ({
      FHIR_SERVER_ALLOWLIST: `${fhirBaseUrl},${target.baseUrl}`,
      WRITEBACK_FHIR_SERVER: target.baseUrl,
      WRITEBACK_BEARER_TOKEN: WRITE_TOKEN,
      WRITEBACK_TIMEOUT_MS: '800',
      // Results complete at once: a flagged result's write-back waits for its saliency map
      // (test/integration/saliency-deferred.test.ts), which these tests are not about.
      SALIENCY: 'never',
    }),
  });
}, 120_000);

afterAll(async () => {
  await stack.stop();
  await target.stop();
});

function hookBody(studyId: string): Record<string, unknown> {
  return {
    hook: IMAGINGSTUDY_AVAILABLE_HOOK,
    hookInstance: randomUUID(),
    fhirServer: stack.fhir.baseUrl,
    fhirAuthorization: { access_token: EHR_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'imaging-cds' },
    context: { patientId: PATIENT_ID, imagingStudyId: studyId },
  };
}

async function stored<T extends Resource>(type: string): Promise<T[]> {
  const res = await fetch(`${target.baseUrl}/${type}?_count=100`, { headers: { authorization: `Bearer ${WRITE_TOKEN}` } });
  const bundle = (await res.json()) as { entry?: { resource: T }[] };
  return (bundle.entry ?? []).map((e) => e.resource);
}

async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['Device', 'Observation', 'DiagnosticReport', 'Provenance']) out[t] = (await stored(t)).length;
  return out;
}

const studyId = (n: number): string => stack.samples[n]?.studyId ?? '';

describe('write-back after the result hook', () => {
  it('writes Device, Observation, DiagnosticReport and Provenance once, linked by the server ids, with the service token', async () => {
    target.requests.length = 0;
    const res = await request(stack.app).post('/cds-services/imaging-ai-result').send(hookBody(studyId(0)));
    expect(res.status).toBe(200);
    await stack.deps.writeBack?.idle();
    expect(target.requests.map((r) => [r.method, r.path, r.authorization])).toEqual([['POST', '/fhir', `Bearer ${WRITE_TOKEN}`]]);
    expect(await counts()).toEqual({ Device: 1, Observation: 1, DiagnosticReport: 1, Provenance: 1 });

    const [report] = await stored<DiagnosticReport>('DiagnosticReport');
    const [obs] = await stored<Observation>('Observation');
    const [prov] = await stored<Provenance>('Provenance');
    const [device] = await stored<Resource>('Device');
    expect(report?.status).toBe('preliminary');
    expect(report?.subject?.reference).toBe(`Patient/${PATIENT_ID}`);
    expect(report?.imagingStudy).toEqual([{ reference: `ImagingStudy/${studyId(0)}` }]);
    expect(report?.result).toEqual([{ reference: `Observation/${obs?.id ?? ''}` }]);
    expect(obs?.device?.reference).toBe(`Device/${device?.id ?? ''}`);
    expect(prov?.target).toEqual([{ reference: `DiagnosticReport/${report?.id ?? ''}` }, { reference: `Observation/${obs?.id ?? ''}` }]);
    expect(report?.identifier).toEqual(expect.arrayContaining([expect.objectContaining({ system: RESOURCE_KEY_SYSTEM })]));
  });

  it('never duplicates: the same result written again by a restarted service matches what exists', async () => {
    const restarted = await stack.restart();
    const res = await request(restarted.app).post('/cds-services/imaging-ai-result').send(hookBody(studyId(0)));
    expect(res.status).toBe(200);
    await restarted.deps.writeBack?.idle();
    expect(await counts()).toEqual({ Device: 1, Observation: 1, DiagnosticReport: 1, Provenance: 1 });
    expect(stack.logs.some((l) => l.includes('"write-back done"') && l.includes('"created":0'))).toBe(true);
  });

  it('a failing FHIR server neither fails nor delays the answer; the next hook writes it exactly once, reusing the Device', async () => {
    target.setFailure('status-500');
    const res = await request(stack.app).post('/cds-services/imaging-ai-result').send(hookBody(studyId(1)));
    expect(res.status).toBe(200);
    await stack.deps.writeBack?.idle();
    expect(stack.logs.some((l) => l.includes('"write-back failed"') && l.includes('UPSTREAM_FAILED'))).toBe(true);
    target.setFailure();
    expect(await counts()).toEqual({ Device: 1, Observation: 1, DiagnosticReport: 1, Provenance: 1 });

    await request(stack.app).post('/cds-services/imaging-ai-result').send(hookBody(studyId(1)));
    await request(stack.app).post('/cds-services/imaging-ai-result').send(hookBody(studyId(1)));
    await stack.deps.writeBack?.idle();
    expect(await counts()).toEqual({ Device: 1, Observation: 2, DiagnosticReport: 2, Provenance: 2 });
  });

  it('a hanging FHIR server does not hold the answer: the card comes while the write-back still waits', async () => {
    target.setFailure('hang');
    try {
      const failures = (): number => stack.logs.filter((l) => l.includes('"write-back failed"')).length;
      const before = failures();
      const res = await request(stack.app).post('/cds-services/imaging-ai-result').send(hookBody(studyId(2)));
      expect(res.status).toBe(200);
      // The write-back gives up only after 2 × 800 ms; the answer is already here.
      expect(failures()).toBe(before);
      await stack.deps.writeBack?.idle();
      expect(failures()).toBe(before + 1);
      expect(stack.logs.some((l) => l.includes('"write-back failed"') && l.includes('after 2 attempt(s)'))).toBe(true);
    } finally {
      target.setFailure();
    }
  });

  it('never logs the write-back token, the EHR token or the patient id', () => {
    const all = stack.logs.join('\n');
    expect(all).not.toContain(WRITE_TOKEN);
    expect(all).not.toContain(EHR_TOKEN);
    expect(all).not.toContain(PATIENT_ID);
  });
});

describe('write-back configuration', () => {
  it('refuses a write-back server that is not on FHIR_SERVER_ALLOWLIST, and a token without a server', () => {
    expect(() => loadConfig({ WRITEBACK_FHIR_SERVER: 'https://elsewhere.example.org/fhir', FHIR_SERVER_ALLOWLIST: 'https://ehr.example.org/fhir' })).toThrow(/WRITEBACK_FHIR_SERVER must be on FHIR_SERVER_ALLOWLIST/);
    expect(() => loadConfig({ WRITEBACK_BEARER_TOKEN: 't' })).toThrow(/WRITEBACK_FHIR_SERVER is not/);
    expect(loadConfig({ WRITEBACK_FHIR_SERVER: 'https://ehr.example.org/fhir/', FHIR_SERVER_ALLOWLIST: 'https://ehr.example.org/fhir' }).writeBack).toEqual({ fhirServer: 'https://ehr.example.org/fhir', bearerToken: undefined, timeoutMs: 5000 });
    expect(loadConfig({}).writeBack).toBeUndefined();
  });
});
