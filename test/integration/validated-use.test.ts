/**
 * A model's validated use, enforced end to end: the result hook over HTTP against a real Orthanc
 * and a real FHIR server, the patient's birth date read from that server (or prefetched). The
 * paediatric chest model (children aged 1–5) answers a child with findings, and an adult (40 at
 * the study) or a patient of unknown age with the "not analysed … outside its validated use" card
 * and no DiagnosticReport; the log names the rule's code and never the birth date.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Patient } from 'fhir/r4.js';
import { createOpsApp } from '../../src/app.js';
import { sampleImagingStudy } from '../../src/cli/sample-fhir.js';
import { validateCdsResponse } from '../../src/cds-hooks/response-schema.js';
import type { CdsCard, CdsResponse } from '../../src/cds-hooks/types.js';
import { IMAGINGSTUDY_AVAILABLE_HOOK } from '../../src/terminology.js';
import { ADULT_BIRTH_DATE, ADULT_PATIENT_ID, EHR_TOKEN, NOW, PATIENT_BIRTH_DATE, PATIENT_ID, startStack, type Stack } from '../support/stack.js';

// Three different studies (each sample image is its own DICOM study), so that no result of one
// patient's study can stand for another's.
const CHILD_FILE = 'pneumonia-person10_virus_35-mono2-8bit.dcm';
const ADULT_FILE = 'pneumonia-person100_bacteria_475-mono2-8bit.dcm';
const UNKNOWN_FILE = 'normal-IM-0001-0001-mono2-8bit.dcm';
const UNKNOWN_AGE_PATIENT = 'pat-no-birthdate-31';
const CHEST_MODEL = 'Paediatric pneumonia classifier, chest radiograph, 28x28';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ files: [CHILD_FILE, ADULT_FILE, UNKNOWN_FILE] });
  const started = new Date(NOW.getTime() - 3 * 86_400_000).toISOString();
  const info = (file: string) => {
    const sample = stack.samples.find((s) => s.file === file);
    if (sample === undefined) throw new Error(`no sample ${file}`);
    return sample.info;
  };
  const unknownAge: Patient = { resourceType: 'Patient', id: UNKNOWN_AGE_PATIENT, name: [{ family: 'Sample', given: ['Unknown'] }] };
  await stack.fhir.seed([
    unknownAge,
    sampleImagingStudy(info(ADULT_FILE), { id: 'adult-cxr', patientId: ADULT_PATIENT_ID, endpointId: 'orthanc', started, description: 'XR CHEST AP' }),
    sampleImagingStudy(info(UNKNOWN_FILE), { id: 'unknown-age-cxr', patientId: UNKNOWN_AGE_PATIENT, endpointId: 'orthanc', started, description: 'XR CHEST AP' }),
  ]);
}, 120_000);

afterAll(async () => {
  await stack.stop();
});

function hookBody(patientId: string, studyId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hook: IMAGINGSTUDY_AVAILABLE_HOOK,
    hookInstance: randomUUID(),
    fhirServer: stack.fhir.baseUrl,
    fhirAuthorization: { access_token: EHR_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'imaging-cds' },
    context: { patientId, imagingStudyId: studyId },
    ...extra,
  };
}

async function cardsFor(body: Record<string, unknown>, app = stack.app): Promise<readonly CdsCard[]> {
  const res = await request(app).post('/cds-services/imaging-ai-result').send(body);
  expect([res.status, res.status === 200 ? '' : JSON.stringify(res.body)]).toEqual([200, '']);
  expect(validateCdsResponse(res.body)).toEqual([]);
  return (res.body as CdsResponse).cards;
}

const resourceTypes = (cards: readonly CdsCard[]): string[] => cards.flatMap((c) => c.suggestions ?? []).flatMap((s) => s.actions ?? []).map((a) => a.resource?.resourceType ?? '');

async function storedResults(patientId: string, studyId: string): Promise<number> {
  return (await request(stack.app).get(`/results/ImagingStudy/${studyId}`).query({ patient: patientId })).status;
}

describe('validated use through the result hook', () => {
  it('gives a child (3 at the study) the chest model\'s findings and a preliminary DiagnosticReport', async () => {
    const child = stack.samples.find((s) => s.file === CHILD_FILE);
    const cards = await cardsFor(hookBody(PATIENT_ID, child?.studyId ?? ''));
    expect(cards).toHaveLength(1);
    expect(cards[0]?.summary).toMatch(/^Preliminary AI: /);
    expect(resourceTypes(cards)).toContain('DiagnosticReport');
    expect(await storedResults(PATIENT_ID, child?.studyId ?? '')).toBe(200);
  }, 120_000);

  it('answers an adult (40 at the study, birth date read from the FHIR server) with "not analysed … outside its validated use" and no DiagnosticReport', async () => {
    stack.fhir.requests.length = 0;
    const cards = await cardsFor(hookBody(ADULT_PATIENT_ID, 'adult-cxr'));
    expect(stack.fhir.requests.some((r) => r.path === `/fhir/Patient/${ADULT_PATIENT_ID}`)).toBe(true);
    expect(cards).toHaveLength(1);
    expect(cards[0]).toMatchObject({ indicator: 'info', summary: 'Imaging AI did not analyse this study (not a finding): outside its validated use' });
    expect(cards[0]?.detail).toContain(`- Not analysed by ${CHEST_MODEL}: the patient's age at the study is outside the ages 1–5 years the model was validated on; outside its validated use`);
    expect(resourceTypes(cards)).toEqual([]);
    expect(await storedResults(ADULT_PATIENT_ID, 'adult-cxr')).toBe(404);
  }, 120_000);

  it('refuses the adult just the same when the EHR prefetches the Patient and gives no FHIR access', async () => {
    // A restarted service: nothing of the previous call is remembered, the prefetch alone decides.
    const { app } = await stack.restart();
    const sample = stack.samples.find((s) => s.file === ADULT_FILE);
    if (sample === undefined) throw new Error('no adult sample');
    const adultStudy = sampleImagingStudy(sample.info, { id: 'adult-cxr', patientId: ADULT_PATIENT_ID, endpointId: 'orthanc', started: new Date(NOW.getTime() - 3 * 86_400_000).toISOString(), description: 'XR CHEST AP' });
    const body = hookBody(ADULT_PATIENT_ID, 'adult-cxr', {
      prefetch: {
        imagingStudy: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: adultStudy, search: { mode: 'match' } }, { resource: stack.endpoint, search: { mode: 'include' } }] },
        patient: { resourceType: 'Patient', id: ADULT_PATIENT_ID, birthDate: ADULT_BIRTH_DATE },
      },
    });
    delete body.fhirServer;
    delete body.fhirAuthorization;
    const cards = await cardsFor(body, app);
    expect(cards[0]?.detail).toContain(`Not analysed by ${CHEST_MODEL}: the patient's age at the study is outside`);
    expect(resourceTypes(cards)).toEqual([]);
  }, 120_000);

  it('refuses a patient whose age is unknown (no birthDate, none in the DICOM header): the chest model refuses unknown ages by default', async () => {
    const cards = await cardsFor(hookBody(UNKNOWN_AGE_PATIENT, 'unknown-age-cxr'));
    expect(cards).toHaveLength(1);
    expect(cards[0]?.detail).toContain(`- Not analysed by ${CHEST_MODEL}: the patient's age at the study is unknown`);
    expect(cards[0]?.detail).toContain('outside its validated use');
    expect(resourceTypes(cards)).toEqual([]);
    expect(await storedResults(UNKNOWN_AGE_PATIENT, 'unknown-age-cxr')).toBe(404);
  }, 120_000);

  it('logs each refusal with the model and a stable reason code, never the birth date', () => {
    const refusals = stack.logs.filter((l) => l.includes('model not applied: outside its validated use')).map((l) => JSON.parse(l) as { model: string; reasonCode: string });
    expect(refusals.map((r) => [r.model, r.reasonCode])).toEqual(expect.arrayContaining([['pneumonia-cxr-28', 'AGE_OUT_OF_RANGE'], ['pneumonia-cxr-28', 'AGE_UNKNOWN']]));
    const all = stack.logs.join('\n');
    for (const secret of [ADULT_BIRTH_DATE, PATIENT_BIRTH_DATE, ADULT_PATIENT_ID, UNKNOWN_AGE_PATIENT, PATIENT_ID]) expect(all).not.toContain(secret);
  });

  it('counts each refusal by model and reason code in the metrics', async () => {
    const text = (await request(createOpsApp(stack.deps)).get('/metrics')).text;
    expect(text).toMatch(/cds_models_not_applied_total\{model="pneumonia-cxr-28",reason="AGE_OUT_OF_RANGE"\} [1-9]/);
    expect(text).toMatch(/cds_models_not_applied_total\{model="pneumonia-cxr-28",reason="AGE_UNKNOWN"\} [1-9]/);
  });
});
