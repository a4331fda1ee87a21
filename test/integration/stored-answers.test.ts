/**
 * Ready answers at the speed of the web server, through HTTP with a real Orthanc and FHIR
 * server: the result hook's final answer to a fully prefetched request is stored and the same
 * request is answered with the same bytes; nothing else is (an answer still in progress, one
 * that needed the FHIR server, another patient's context).
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createOpsApp } from '../../src/app.js';
import { validateCdsResponse } from '../../src/cds-hooks/response-schema.js';
import { IMAGINGSTUDY_AVAILABLE_HOOK } from '../../src/terminology.js';
import { EHR_TOKEN, PATIENT_BIRTH_DATE, PATIENT_ID, startStack, type Stack } from '../support/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 120_000);

afterAll(async () => {
  await stack.stop();
});

/** A result-hook call with the ImagingStudy, its Endpoint and the Patient prefetched. */
function prefetched(studyIndex = 0, patient: Record<string, unknown> | null = { resourceType: 'Patient', id: PATIENT_ID, birthDate: PATIENT_BIRTH_DATE }): Record<string, unknown> {
  const sample = stack.samples[studyIndex];
  if (sample === undefined) throw new Error('no sample');
  return {
    hook: IMAGINGSTUDY_AVAILABLE_HOOK,
    hookInstance: randomUUID(),
    fhirServer: stack.fhir.baseUrl,
    fhirAuthorization: { access_token: EHR_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'imaging-cds' },
    context: { patientId: PATIENT_ID, imagingStudyId: sample.studyId },
    prefetch: {
      imagingStudy: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: sample.study }, { resource: stack.endpoint, search: { mode: 'include' } }] },
      ...(patient === null ? {} : { patient }),
    },
  };
}

const call = (body: Record<string, unknown>): request.Test => request(stack.app).post('/cds-services/imaging-ai-result').send(body);
const storedServed = async (): Promise<number> => {
  const text = (await request(createOpsApp(stack.deps)).get('/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith('cds_stored_answers_total{service="imaging-ai-result"}'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('stored final answers', () => {
  it('answers the same fully prefetched request with the same validated bytes, from the store', async () => {
    const first = await call(prefetched());
    expect(first.status).toBe(200);
    expect(validateCdsResponse(first.body)).toEqual([]);
    const before = await storedServed();
    // Another hookInstance and another token: the same request as far as the answer goes.
    const again = await call({ ...prefetched(), fhirAuthorization: { access_token: 'another-token', token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'imaging-cds' } });
    expect(again.status).toBe(200);
    expect(again.headers['content-type']).toMatch(/^application\/json/);
    expect(again.text).toBe(first.text);
    expect(await storedServed()).toBe(before + 1);
  });

  it('does not store an answer that needed the FHIR server (no Patient prefetched), nor serve one to another context', async () => {
    const before = await storedServed();
    for (let i = 0; i < 2; i++) expect((await call(prefetched(1, null))).status).toBe(200);
    expect(await storedServed()).toBe(before);
    // Another study of the patient: its own answer, never the first one's.
    const other = await call(prefetched(2));
    expect(other.status).toBe(200);
    expect(other.text).not.toBe((await call(prefetched(0))).text);
  });
});
