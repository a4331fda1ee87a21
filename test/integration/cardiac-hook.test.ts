/**
 * Cardiac cine MR end to end, with everything real: ACDC validation patients wrapped as MR series
 * are stored in Orthanc, described by ImagingStudy resources in the FHIR server, and the result
 * hook asks for each. The service analyses each series in its job (the cine model with
 * PACS_WRITE_BACK on), answers with the cardiac card and its Observations, and stores a DICOM SEG
 * and a TID 1500 SR in the study, which Orthanc returns and dciodvfy accepts. The LV EF of the
 * Observations agrees with the label-derived EF as the model card states. Without the ACDC data or
 * the locally built model this suite skips, saying which.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { ImagingStudy } from 'fhir/r4.js';
import { createOriginAllowList } from '../../src/auth/index.js';
import type { CdsResponse } from '../../src/cds-hooks/types.js';
import { sampleImagingStudy } from '../../src/cli/sample-fhir.js';
import { createDicomWebClient, jsonString, parseDicom, readSourceHeader } from '../../src/dicom/index.js';
import type { DicomWebClient } from '../../src/dicom/index.js';
import { acdcSkipReason, enhancedCine, mrSlice, efErrorAgainstManifest, valPatients, type Patient } from '../support/acdc-series.js';
import { dciodvfy, dsrdump, missingBinaries } from '../support/dciodvfy.js';
import { ADULT_BIRTH_DATE, ADULT_PATIENT_ID, NOW, resultHookBody, startStack, type Stack } from '../support/stack.js';

const ROOT = '1.2.826.0.1.3680043.8.498.7703';
const ENHANCED_ROOT = '1.2.826.0.1.3680043.8.498.7705';
const skipReason = acdcSkipReason() ?? (missingBinaries().length > 0 ? `${missingBinaries().join(', ')} not installed; run scripts/provision-test-deps.sh` : undefined);
if (skipReason !== undefined) process.stdout.write(`skipped: cardiac hook test: ${skipReason}\n`);
const describeWithData = skipReason === undefined ? describe : describe.skip;

let stack: Stack | undefined;
let client: DicomWebClient;
let patients: Patient[] = [];
/** The ImagingStudy resources, and each study's LV EF as its Observation stated it. */
let studies: ImagingStudy[] = [];
const measuredEf = new Map<string, number>();
const studyUid = (n: number): string => `${ROOT}.${n}.1`;

afterAll(async () => {
  await stack?.stop();
});

describeWithData('cardiac cine through the result hook, results back to the PACS', () => {
  beforeAll(async () => {
    // No hook budget: a cine series is seconds of work, so the hook answers "in progress" at once
    // and the analysis runs in the background job; a later call finds the result.
    stack = await startStack({ files: [], env: { MODELS: 'cardiac-mri-sax-seg', PACS_WRITE_BACK: 'true', HOOK_BUDGET_MS: '0' } });
    patients = await valPatients();
    studies = [];
    for (const [n, p] of patients.entries()) {
      for (let phase = 0; phase < 2; phase++) for (let s = 0; s < p.shape[0]; s++) await stack.orthanc.upload(mrSlice(p, n, phase, s, ROOT));
      const info = parseDicom(mrSlice(p, n, 0, 0, ROOT)).info;
      studies.push(sampleImagingStudy(info, { id: `cmr-${n}`, patientId: ADULT_PATIENT_ID, endpointId: 'orthanc', started: NOW.toISOString().slice(0, 10), description: 'MR HEART CINE' }));
    }
    // Patient 0 again, as one Enhanced MR instance in a study of its own.
    const enhanced = enhancedCine(patients[0] as Patient, 0, ENHANCED_ROOT);
    await stack.orthanc.upload(enhanced);
    studies.push(sampleImagingStudy(parseDicom(enhanced).info, { id: 'cmr-enhanced', patientId: ADULT_PATIENT_ID, endpointId: 'orthanc', started: NOW.toISOString().slice(0, 10), description: 'MR HEART CINE' }));
    await stack.fhir.seed(studies);
    client = createDicomWebClient({ allowList: createOriginAllowList([stack.orthanc.baseUrl]), auth: { kind: 'basic', username: stack.orthanc.username, password: stack.orthanc.password }, timeoutMs: 10_000 });
  }, 300_000);

  it('answers "in progress" within its budget, then each study with the cardiac card; the LV EF agrees with the reference as the model card states', async () => {
    const s = stack as Stack;
    const ask = async (n: number): Promise<CdsResponse> => {
      const res = await request(s.app).post('/cds-services/imaging-ai-result').send(resultHookBody(s.fhir.baseUrl, `cmr-${n}`, undefined, ADULT_PATIENT_ID));
      expect(res.status).toBe(200);
      return res.body as CdsResponse;
    };
    // Every study asked once: each answer is the in-progress card, and each asks for its analysis.
    for (const [n] of patients.entries()) expect((await ask(n)).cards.map((c) => c.summary)).toEqual(['AI analysis in progress (not a finding): results will follow']);
    const errors: number[] = [];
    for (const [n, p] of patients.entries()) {
      let answer = await ask(n);
      // The background job finishes when it finishes: ask again until the result is there (bounded).
      for (let tries = 0; tries < 600 && answer.cards.some((c) => c.summary.startsWith('AI analysis in progress')); tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        answer = await ask(n);
      }
      const card = answer.cards.find((c) => c.summary.startsWith('Preliminary AI cardiac MRI'));
      expect(card?.detail).toContain('not a diagnosis');
      expect(card?.detail).toContain('2021 ESC heart-failure guideline');
      const observations = (card?.suggestions?.[0]?.actions ?? []).flatMap((a) => (a.resource?.resourceType === 'Observation' ? [a.resource] : []));
      const ef = observations.find((o) => o.code.coding?.[0]?.code === '8811-2')?.valueQuantity?.value;
      expect(observations.find((o) => o.code.coding?.[0]?.code === '18026-5')?.valueQuantity?.unit).toBe('mL');
      expect(typeof ef).toBe('number');
      errors.push((ef as number) - p.efReference);
      measuredEf.set(`cmr-${n}`, ef as number);
    }
    const { mae, bias, stated } = efErrorAgainstManifest('cardiac hook', errors);
    // The Observation rounds EF to 0.1 points: the manifest's numbers hold to within that.
    expect(Math.abs(mae - stated.mae)).toBeLessThan(0.1);
    expect(Math.abs(bias - stated.bias)).toBeLessThan(0.1);
  }, 600_000);

  it('stored a valid SEG and SR in each study, which the DiagnosticReport names', async () => {
    const s = stack as Stack;
    const root = s.orthanc.dicomWebRoot;
    for (const [n] of patients.entries()) {
      const series = await client.searchSeries(root, studyUid(n));
      const byModality = new Map(series.map((x) => [jsonString(x, '00080060'), jsonString(x, '0020000E')]));
      expect(byModality.has('SEG') && byModality.has('SR')).toBe(true);
    }
    // One patient's objects read back in full and checked by the independent tools.
    const segSeries = (await client.searchSeries(root, studyUid(0))).find((x) => jsonString(x, '00080060') === 'SEG');
    const srSeries = (await client.searchSeries(root, studyUid(0))).find((x) => jsonString(x, '00080060') === 'SR');
    const segUid = jsonString(segSeries ?? {}, '0020000E') as string;
    const srUid = jsonString(srSeries ?? {}, '0020000E') as string;
    const [segInstance] = await client.searchInstances(root, studyUid(0), segUid);
    const [srInstance] = await client.searchInstances(root, studyUid(0), srUid);
    const segBytes = await client.retrieveInstance(root, studyUid(0), segUid, jsonString(segInstance ?? {}, '00080018') as string);
    const srSop = jsonString(srInstance ?? {}, '00080018') as string;
    const srBytes = await client.retrieveInstance(root, studyUid(0), srUid, srSop);
    expect((await dciodvfy(segBytes)).errors).toEqual([]);
    expect((await dciodvfy(srBytes)).errors).toEqual([]);
    const seg = readSourceHeader(segBytes);
    // ED and ES of every slice, three segments each.
    expect(Number(seg.attributes['NumberOfFrames'])).toBe(3 * 2 * (patients[0] as Patient).shape[0]);
    expect(JSON.stringify(seg.attributes['SegmentSequence'])).toContain('Left ventricular myocardium');
    const dump = await dsrdump(srBytes);
    expect(dump).toContain('(8811-2,LN,"Left ventricular ejection fraction by MR")');
    expect(dump).toContain('(18026-5,LN,"Left Ventricular End Diastolic Volume")');
    expect(dump).toMatch(/\(ml,UCUM,"milliliter"\)/);
    // The report names the SR; the SR names the report.
    const res = await request(s.app).post('/cds-services/imaging-ai-result').send(resultHookBody(s.fhir.baseUrl, 'cmr-0', undefined, ADULT_PATIENT_ID));
    const card = (res.body as CdsResponse).cards.find((c) => c.summary.startsWith('Preliminary AI cardiac MRI'));
    const report = (card?.suggestions?.[0]?.actions ?? []).map((a) => a.resource as { resourceType: string; identifier?: { system?: string; value?: string }[] }).find((r) => r.resourceType === 'DiagnosticReport');
    expect(report?.identifier).toContainEqual({ system: 'urn:dicom:uid', value: `urn:oid:${srSop}` });
    expect(dump).toContain(`${studyUid(0)}|cardiac-mri-sax-seg|`);
  }, 300_000);

  it('measures the same patient stored as one Enhanced MR instance the same, and stores a valid SEG referencing its frames', async () => {
    const s = stack as Stack;
    const ask = async (id: string): Promise<CdsResponse> => (await request(s.app).post('/cds-services/imaging-ai-result').send(resultHookBody(s.fhir.baseUrl, id, undefined, ADULT_PATIENT_ID))).body as CdsResponse;
    let answer = await ask('cmr-enhanced');
    for (let tries = 0; tries < 600 && !answer.cards.some((c) => c.summary.startsWith('Preliminary AI cardiac MRI')); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      answer = await ask('cmr-enhanced');
    }
    const efOf = (a: CdsResponse): number | undefined => a.cards.flatMap((c) => c.suggestions?.[0]?.actions ?? []).flatMap((x) => (x.resource?.resourceType === 'Observation' && x.resource.code.coding?.[0]?.code === '8811-2' ? [x.resource.valueQuantity?.value] : []))[0];
    expect(efOf(answer)).toBeDefined();
    expect(efOf(answer)).toBe(efOf(await ask('cmr-0')));
    const root = s.orthanc.dicomWebRoot;
    const study = `${ENHANCED_ROOT}.0.1`;
    const seg = (await client.searchSeries(root, study)).find((x) => jsonString(x, '00080060') === 'SEG');
    const segUid = jsonString(seg ?? {}, '0020000E') as string;
    const [instance] = await client.searchInstances(root, study, segUid);
    const bytes = await client.retrieveInstance(root, study, segUid, jsonString(instance ?? {}, '00080018') as string);
    expect((await dciodvfy(bytes)).errors).toEqual([]);
    const header = readSourceHeader(bytes);
    expect(Number(header.attributes['NumberOfFrames'])).toBe(3 * 2 * (patients[0] as Patient).shape[0]);
    expect(JSON.stringify(header.attributes['PerFrameFunctionalGroupsSequence'])).toContain('"ReferencedFrameNumber"');
  }, 300_000);

  it('surfaces on chart view a study whose LV EF is in the reduced band, not one in the preserved band', async () => {
    const s = stack as Stack;
    const byEf = [...measuredEf].sort((a, b) => a[1] - b[1]);
    const [lowest, highest] = [byEf[0], byEf[byEf.length - 1]] as [[string, number], [string, number]];
    const chosen = studies.filter((st) => st.id === lowest[0] || st.id === highest[0]);
    const recentStudies = { resourceType: 'Bundle', type: 'searchset', entry: [...chosen.map((resource) => ({ resource, search: { mode: 'match' } })), { resource: s.endpoint, search: { mode: 'include' } }] };
    const patient = { resourceType: 'Patient', id: ADULT_PATIENT_ID, birthDate: ADULT_BIRTH_DATE };
    const view = async (): Promise<CdsResponse> => {
      const res = await request(s.app)
        .post('/cds-services/imaging-ai-patient-view')
        .send({ hook: 'patient-view', hookInstance: randomUUID(), context: { userId: 'Practitioner/doc1', patientId: ADULT_PATIENT_ID }, prefetch: { recentStudies, patient } });
      expect(res.status).toBe(200);
      return res.body as CdsResponse;
    };
    // Chart view never waits: with the same patient data as the result hook, its analyses are ready.
    const cards = (await view()).cards;
    process.stdout.write(`cardiac patient-view: measured LV EF ${lowest[1]} and ${highest[1]}; ${cards.length} card(s)\n`);
    const expected = [lowest, highest].filter(([, ef]) => ef <= 40).length;
    expect(cards).toHaveLength(expected);
    for (const card of cards) {
      expect(card.indicator).toBe('warning');
      expect(card.summary).toMatch(/^Preliminary AI cardiac MRI: LV EF \d+ % \(reduced range\)/);
    }
    // The val set spans the bands: the test is only meaningful when it does.
    expect(lowest[1]).toBeLessThanOrEqual(40);
    expect(highest[1]).toBeGreaterThanOrEqual(50);
  }, 120_000);
});
