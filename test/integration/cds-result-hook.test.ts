/**
 * The result hook end to end, against a real Orthanc and a real FHIR server: EHR event →
 * FHIR ImagingStudy + Endpoint → DICOMweb WADO-RS → dcmjs → pixels → ONNX model → cards and
 * FHIR resources. Every response passes the CDS Hooks validator; every resource passes R4.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { ImagingStudy, OperationOutcome } from 'fhir/r4.js';
import type { DiagnosticReport, FhirResource, Observation } from 'fhir/r4.js';
import { validateCdsResponse } from '../../src/cds-hooks/response-schema.js';
import type { CdsCard, CdsResponse } from '../../src/cds-hooks/types.js';
import { IMAGINGSTUDY_AVAILABLE_HOOK } from '../../src/terminology.js';
import { validateR4 } from '../support/fhir-validator.js';
import { DEAD_PACS, EHR_TOKEN, FIXTURES, PATIENT_ID, startStack, type Stack } from '../support/stack.js';

interface Expected {
  readonly file: string;
  readonly label: string;
  readonly probability: number;
}

const expected: Expected[] = (JSON.parse(readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as { files: Expected[] }).files;

let stack: Stack;

/** The OperationOutcome body of an error answer. */
const oo = (res: request.Response): OperationOutcome => res.body as OperationOutcome;

beforeAll(async () => {
  stack = await startStack();
}, 120_000);

afterAll(async () => {
  await stack.stop();
});

function hookBody(studyId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hook: IMAGINGSTUDY_AVAILABLE_HOOK,
    hookInstance: randomUUID(),
    fhirServer: stack.fhir.baseUrl,
    fhirAuthorization: { access_token: EHR_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'imaging-cds' },
    context: { patientId: PATIENT_ID, imagingStudyId: studyId },
    ...extra,
  };
}

async function callHook(body: unknown): Promise<request.Response> {
  return request(stack.app).post('/cds-services/imaging-ai-result').send(body as object);
}

function expectValidCds(body: unknown): CdsResponse {
  expect(validateCdsResponse(body)).toEqual([]);
  return body as CdsResponse;
}

function resourcesOf(card: CdsCard): FhirResource[] {
  return (card.suggestions ?? []).flatMap((s) => s.actions ?? []).flatMap((a) => (a.resource === undefined ? [] : [a.resource]));
}

function expectAllR4Valid(resources: readonly FhirResource[]): void {
  for (const r of resources) expect({ type: r.resourceType, problems: validateR4(r) }).toEqual({ type: r.resourceType, problems: [] });
}

describe('result hook against Orthanc and a FHIR server', () => {
  it('analyses every sample study: probabilities match the model evaluation, resources are valid R4', async () => {
    for (const sample of stack.samples) {
      const want = expected.find((e) => e.file === sample.file);
      if (want === undefined) throw new Error(`no expected probability for ${sample.file}`);
      const res = await callHook(hookBody(sample.studyId));
      expect(res.status).toBe(200);
      const body = expectValidCds(res.body);
      expect(body.cards).toHaveLength(1);
      const card = body.cards[0] as CdsCard;
      expect(card.detail).toContain('Preliminary AI result — requires confirmation');
      const resources = resourcesOf(card);
      expectAllR4Valid(resources);
      const obs = resources.find((r): r is Observation => r.resourceType === 'Observation');
      const probabilityPercent = obs?.component?.[0]?.valueQuantity?.value ?? NaN;
      // The TypeScript pipeline (DICOMweb → decode → VOI → area resize → ORT) reproduces the
      // Python evaluation of the same pixels within 0.1 percentage point.
      expect(Math.abs(probabilityPercent / 100 - want.probability)).toBeLessThan(1e-3);
      const report = resources.find((r): r is DiagnosticReport => r.resourceType === 'DiagnosticReport');
      expect(report).toMatchObject({ status: 'preliminary', subject: { reference: `Patient/${PATIENT_ID}` }, imagingStudy: [{ reference: `ImagingStudy/${sample.studyId}` }] });
    }
  }, 120_000);

  it('reads the study and its Endpoint from fhirServer with the client token when nothing is prefetched', async () => {
    stack.fhir.requests.length = 0;
    const sample = stack.samples[0];
    const res = await callHook(hookBody(sample?.studyId ?? ''));
    expect(res.status).toBe(200);
    expect(stack.fhir.requests.length).toBeGreaterThan(0);
    for (const r of stack.fhir.requests) expect(r.authorization).toBe(`Bearer ${EHR_TOKEN}`);
    expect(stack.fhir.requests.some((r) => r.path.startsWith('/fhir/ImagingStudy?'))).toBe(true);
  });

  it('uses prefetched data and needs no FHIR access at all', async () => {
    const sample = stack.samples[0];
    if (sample === undefined) throw new Error('no sample');
    stack.fhir.requests.length = 0;
    const prefetch = { imagingStudy: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: sample.study, search: { mode: 'match' } }, { resource: stack.endpoint, search: { mode: 'include' } }] } };
    const body = hookBody(sample.studyId, { prefetch });
    delete body.fhirServer;
    delete body.fhirAuthorization;
    const res = await callHook(body);
    expect(res.status).toBe(200);
    expectValidCds(res.body);
    expect(stack.fhir.requests).toEqual([]);
  });

  it('answers a repeated call from the cache with the same card', async () => {
    const sample = stack.samples[0];
    const a = await callHook(hookBody(sample?.studyId ?? ''));
    const b = await callHook(hookBody(sample?.studyId ?? ''));
    expect((b.body as CdsResponse).cards[0]?.uuid).toBe((a.body as CdsResponse).cards[0]?.uuid);
    expect((b.body as CdsResponse).cards[0]?.summary).toBe((a.body as CdsResponse).cards[0]?.summary);
  });

  it('answers 412 when nothing is prefetched and there is no fhirServer', async () => {
    const body = hookBody('cxr-1');
    delete body.fhirServer;
    delete body.fhirAuthorization;
    const res = await callHook(body);
    expect(res.status).toBe(412);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
  });

  it('answers 412 and sends nothing when fhirServer is not on the allow-list', async () => {
    stack.fhir.requests.length = 0;
    const res = await callHook(hookBody('cxr-1', { fhirServer: 'https://attacker.example.com/fhir' }));
    expect(res.status).toBe(412);
    expect(oo(res).issue[0]?.diagnostics).toContain('OUTBOUND_NOT_ALLOWED');
    expect(stack.fhir.requests).toEqual([]);
  });

  it('answers 412 when the FHIR server refuses the token', async () => {
    const res = await callHook(hookBody('cxr-1', { fhirAuthorization: { access_token: 'wrong', token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 's' } }));
    expect(res.status).toBe(412);
    expect(JSON.stringify(res.body)).not.toContain('wrong');
  });

  it('answers 412 for an unknown study', async () => {
    const res = await callHook(hookBody('no-such-study'));
    expect(res.status).toBe(412);
    expect(oo(res).issue[0]?.expression).toEqual(['context.imagingStudyId']);
  });

  it('refuses a study that belongs to another patient', async () => {
    const res = await callHook({ ...hookBody('cxr-1'), context: { patientId: 'someone-else', imagingStudyId: 'cxr-1' } });
    expect(res.status).toBe(400);
    expect(oo(res).issue[0]?.expression).toEqual(['context.patientId']);
  });

  it('answers 412 when the PACS is down', async () => {
    const sample = stack.samples[0];
    if (sample === undefined) throw new Error('no sample');
    const deadEndpoint = { ...stack.endpoint, id: 'dead', address: `${DEAD_PACS}/dicom-web` };
    const study = { ...sample.study, id: 'dead-pacs-study', identifier: [{ system: 'urn:dicom:uid', value: 'urn:oid:1.2.3.999' }], endpoint: [{ reference: 'Endpoint/dead' }] };
    const prefetch = { imagingStudy: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: study }, { resource: deadEndpoint, search: { mode: 'include' } }] } };
    const res = await callHook({ ...hookBody('dead-pacs-study', { prefetch }) });
    expect(res.status).toBe(412);
    expect(oo(res).issue[0]?.diagnostics).toContain('UPSTREAM_FAILED');
  });
});

describe('malformed FHIR data in the request is a 400 naming the field, never a 500', () => {
  /** The first sample study, prefetched after `mutate` changed it (or its Endpoint). */
  function prefetchedWith(mutate: (study: Record<string, unknown>, endpoint: Record<string, unknown>) => void): Record<string, unknown> {
    const sample = stack.samples[0];
    if (sample === undefined) throw new Error('no sample');
    const study = JSON.parse(JSON.stringify(sample.study)) as Record<string, unknown>;
    const endpoint = JSON.parse(JSON.stringify(stack.endpoint)) as Record<string, unknown>;
    mutate(study, endpoint);
    return hookBody(sample.studyId, { prefetch: { imagingStudy: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: study }, { resource: endpoint, search: { mode: 'include' } }] } } });
  }


  it.each([
    ['a Bundle whose entry is a string', (): Record<string, unknown> => hookBody(stack.samples[0]?.studyId ?? '', { prefetch: { imagingStudy: { resourceType: 'Bundle', type: 'searchset', entry: 'nope' } } }), 'prefetch.imagingStudy'],
    ['an ImagingStudy without subject', (): Record<string, unknown> => prefetchedWith((s) => { delete s['subject']; }), 'subject'],
    ['a subject reference that is a number', (): Record<string, unknown> => prefetchedWith((s) => { s['subject'] = { reference: 0 }; }), 'subject.reference'],
    ['a series without its uid', (): Record<string, unknown> => prefetchedWith((s) => { delete (s['series'] as Record<string, unknown>[])[0]?.['uid']; }), 'series.0.uid'],
    ['a started date that is an object', (): Record<string, unknown> => prefetchedWith((s) => { s['started'] = {}; }), 'started'],
    ['an Endpoint without connectionType', (): Record<string, unknown> => prefetchedWith((_s, e) => { delete e['connectionType']; }), 'connectionType'],
  ])('answers %s with 400', async (_what, body, field) => {
    const res = await callHook(body());
    expect(res.status).toBe(400);
    expect(oo(res).issue[0]?.diagnostics).toContain('CDS_BAD_REQUEST');
    expect(oo(res).issue[0]?.expression?.[0]).toContain(field);
  });

  it('answers a description nested 100,000 arrays deep with 400 (the body is sent as raw JSON text)', async () => {
    const text = JSON.stringify(prefetchedWith((s) => { s['description'] = '@DEEP@'; })).replace('"@DEEP@"', `${'['.repeat(100_000)}"x"${']'.repeat(100_000)}`);
    const res = await request(stack.app).post('/cds-services/imaging-ai-result').set('content-type', 'application/json').send(text);
    expect(res.status).toBe(400);
    expect(oo(res).issue[0]?.expression?.[0]).toContain('description');
  });
});

describe('studies no model analyses', () => {
  /** The first sample study, prefetched with its series changed by `series` and no Endpoint. */
  function prefetched(series: (s: NonNullable<ImagingStudy['series']>[number]) => NonNullable<ImagingStudy['series']>[number], id: string): Record<string, unknown> {
    const sample = stack.samples[0];
    if (sample === undefined) throw new Error('no sample');
    const study: ImagingStudy = { ...sample.study, id, endpoint: undefined, series: (sample.study.series ?? []).map((s) => ({ ...series(s), endpoint: undefined })) };
    return hookBody(id, { prefetch: { imagingStudy: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: study }] } } });
  }

  it('answers an info card saying why, not an empty list, when the study names no DICOMweb endpoint', async () => {
    const res = await callHook(prefetched((s) => s, 'no-endpoint-study'));
    expect(res.status).toBe(200);
    const { cards } = expectValidCds(res.body);
    expect(cards).toHaveLength(1);
    expect(cards[0]?.indicator).toBe('info');
    expect(cards[0]?.summary).toBe('Imaging AI did not analyse this study (not a finding): see why');
    expect(cards[0]?.detail).toContain('no DICOMweb endpoint for this series and no default configured');
    expect(cards[0]?.suggestions).toBeUndefined();
  });

  it('answers an info card naming the reason when no model accepts the series', async () => {
    const res = await callHook(prefetched((s) => ({ ...s, modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'MR' } }), 'mr-study'));
    expect(res.status).toBe(200);
    const { cards } = expectValidCds(res.body);
    expect(cards.map((c) => c.summary)).toEqual(['Imaging AI did not analyse this study (not a finding): see why']);
    expect(cards[0]?.detail).toMatch(/MR/);
  });
});

describe('undecodable images', () => {
  it('answers 422 when the image declares more pixels than it carries', async () => {
    // A real sample radiograph whose Rows Orthanc itself rewrites to 4000 (224 stored): the
    // decoder must refuse it before allocating, and the EHR must get a clear 422.
    const sample = stack.samples[0];
    if (sample === undefined) throw new Error('no sample');
    const listed = await fetch(`${stack.orthanc.baseUrl}/tools/lookup`, { method: 'POST', headers: { authorization: orthancAuth() }, body: sample.info.sopInstanceUid });
    const ID = ((await listed.json()) as { ID: string }[])[0]?.ID ?? '';
    const uid = (n: number): string => `2.25.${Date.now()}${n}`;
    const modified = await fetch(`${stack.orthanc.baseUrl}/instances/${ID}/modify`, {
      method: 'POST',
      headers: { authorization: orthancAuth(), 'content-type': 'application/json' },
      body: JSON.stringify({ Replace: { Rows: '4000', StudyInstanceUID: uid(1), SeriesInstanceUID: uid(2), SOPInstanceUID: uid(3) }, Force: true }),
    });
    const bytes = new Uint8Array(await modified.arrayBuffer());
    await stack.orthanc.upload(bytes);
    const { parseDicom } = await import('../../src/dicom/parse.js');
    const { imagingStudyFor } = await import('../support/stack.js');
    const study = imagingStudyFor('bad-rows-study', parseDicom(bytes).info, 1);
    const prefetch = { imagingStudy: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: study }, { resource: stack.endpoint, search: { mode: 'include' } }] } };
    const res = await callHook(hookBody('bad-rows-study', { prefetch }));
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'processing' }] });
    expect(oo(res).issue[0]?.diagnostics).toMatch(/^DICOM_INVALID: /);
  });
});

function orthancAuth(): string {
  return `Basic ${Buffer.from(`${stack.orthanc.username}:${stack.orthanc.password}`).toString('base64')}`;
}

describe('malformed requests', () => {
  it('answers 400 with an OperationOutcome for invalid JSON', async () => {
    const res = await request(stack.app).post('/cds-services/imaging-ai-result').set('content-type', 'application/json').send('{"hook": ');
    expect(res.status).toBe(400);
    expect(oo(res).resourceType).toBe('OperationOutcome');
  });

  it('answers 400 naming the field when hookInstance is not a UUID', async () => {
    const res = await callHook({ ...hookBody('cxr-1'), hookInstance: 'abc' });
    expect(res.status).toBe(400);
    expect(oo(res).issue[0]?.expression).toEqual(['hookInstance']);
  });

  it('answers 400 when the context lacks imagingStudyId', async () => {
    const res = await callHook({ ...hookBody('cxr-1'), context: { patientId: PATIENT_ID } });
    expect(res.status).toBe(400);
    expect(oo(res).issue[0]?.expression).toEqual(['context.imagingStudyId']);
  });

  it('answers 400 when a context id could escape its path', async () => {
    const res = await callHook({ ...hookBody('cxr-1'), context: { patientId: PATIENT_ID, imagingStudyId: '../Patient/x' } });
    expect(res.status).toBe(400);
  });

  it('answers 400 for the wrong hook', async () => {
    const res = await callHook({ ...hookBody('cxr-1'), hook: 'patient-view' });
    expect(res.status).toBe(400);
  });

  it('answers 400 when fhirAuthorization comes without fhirServer', async () => {
    const body = hookBody('cxr-1');
    delete body.fhirServer;
    const res = await callHook(body);
    expect(res.status).toBe(400);
    expect(oo(res).issue[0]?.expression).toEqual(['fhirServer']);
  });

  it('answers 400 for a body over the limit', async () => {
    const res = await callHook({ ...hookBody('cxr-1'), padding: 'x'.repeat(2 * 1024 * 1024) });
    expect(res.status).toBe(400);
  });

  it('answers 404 with an OperationOutcome for an unknown service', async () => {
    const res = await request(stack.app).post('/cds-services/no-such-service').send(hookBody('cxr-1'));
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-found' }] });
  });
});

describe('logs', () => {
  it('never contain the access token or patient identifiers', () => {
    expect(stack.logs.length).toBeGreaterThan(0);
    const all = stack.logs.join('\n');
    expect(all).not.toContain(EHR_TOKEN);
    expect(all).not.toContain(PATIENT_ID);
    expect(all).toContain('cds call answered');
  });
});
