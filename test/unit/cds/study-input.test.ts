/**
 * The analysis input carries the patient's birth date (from the `patient` prefetch, or a FHIR
 * read of it) and the study date; a Patient the EHR cannot give leaves the birth date unknown
 * instead of failing the hook.
 */
import type { FhirResource, ImagingStudy } from 'fhir/r4.js';
import { AppError } from '../../../src/errors.js';
import { createPrefetchResolver, type FhirQueryClient } from '../../../src/cds/prefetch.js';
import { studyToAnalyse } from '../../../src/cds/study-input.js';
import type { CdsRequest } from '../../../src/cds-hooks/types.js';

const TEMPLATES = { patient: 'Patient/{{context.patientId}}' };
const study: ImagingStudy = {
  resourceType: 'ImagingStudy',
  id: 's1',
  status: 'available',
  subject: { reference: 'Patient/p1' },
  started: '2026-10-01T09:30:00+08:00',
  identifier: [{ system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' }],
  series: [{ uid: '1.2.3.1', modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'DX' }, instance: [{ uid: '1.2.3.1.1', sopClass: { code: '1.2' } }] }],
};

function request(over: Partial<CdsRequest> = {}): CdsRequest {
  return { hook: 'patient-view', hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea', context: { patientId: 'p1' }, ...over };
}

function client(read: () => Promise<FhirResource>): FhirQueryClient & { calls: number } {
  const c = { calls: 0, read: () => { c.calls += 1; return read(); }, search: () => Promise.resolve([]) };
  return c;
}

const input = (req: CdsRequest, c?: FhirQueryClient) => studyToAnalyse('local', study, [], createPrefetchResolver(req, TEMPLATES, () => c ?? client(() => Promise.reject(new Error('unused')))), 'http://pacs');

describe('studyToAnalyse: patient birth date and study date', () => {
  it('takes the birth date from the patient prefetch and the study date from ImagingStudy.started (its own calendar day)', async () => {
    const got = await input(request({ prefetch: { patient: { resourceType: 'Patient', id: 'p1', birthDate: '2023-02-11' } } }));
    expect(got).toMatchObject({ patientBirthDate: '2023-02-11', studyDate: '2026-10-01' });
  });

  it('reads the Patient from the FHIR server when it was not prefetched, once per request', async () => {
    const c = client(() => Promise.resolve({ resourceType: 'Patient', id: 'p1', birthDate: '1986' }));
    const req = request({ fhirServer: 'https://fhir.example.org' });
    const resolver = createPrefetchResolver(req, TEMPLATES, () => c);
    expect((await studyToAnalyse('local', study, [], resolver, undefined)).patientBirthDate).toBe('1986');
    await studyToAnalyse('local', study, [], resolver, undefined);
    expect(c.calls).toBe(1);
  });

  it('leaves the birth date unknown when the Patient cannot be had: no fhirServer, not found, server failing', async () => {
    expect((await input(request())).patientBirthDate).toBeUndefined();
    for (const err of [new AppError('DATA_UNAVAILABLE', 'no such Patient'), new AppError('UPSTREAM_FAILED', 'HTTP 500')]) {
      const got = await input(request({ fhirServer: 'https://fhir.example.org' }), client(() => Promise.reject(err)));
      expect(got.patientBirthDate).toBeUndefined();
    }
  });

  it('ignores a Patient that is not the study\'s subject, or a birth date that is not a FHIR date', async () => {
    expect((await input(request({ prefetch: { patient: { resourceType: 'Patient', id: 'p2', birthDate: '2023-02-11' } } }))).patientBirthDate).toBeUndefined();
    expect((await input(request({ prefetch: { patient: { resourceType: 'Patient', id: 'p1', birthDate: '11/02/2023' } } }))).patientBirthDate).toBeUndefined();
    expect((await input(request({ prefetch: { patient: null } }))).patientBirthDate).toBeUndefined();
  });

  it('does not swallow programming errors from the FHIR client', async () => {
    await expect(input(request({ fhirServer: 'https://fhir.example.org' }), client(() => Promise.reject(new TypeError('boom'))))).rejects.toThrow(TypeError);
  });
});
