import type { FhirResource } from 'fhir/r4.js';
import { createPrefetchResolver, fillTemplate, type FhirQueryClient } from '../../../src/cds/prefetch.js';
import type { CdsRequest } from '../../../src/cds-hooks/types.js';

const base: CdsRequest = {
  hook: 'patient-view',
  hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
  fhirServer: 'https://fhir.example.org/r4',
  fhirAuthorization: { access_token: 'secret-token', token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'cds' },
  context: { userId: 'Practitioner/7', patientId: 'p1' },
};

const templates = { study: 'ImagingStudy/{{context.patientId}}', studies: 'ImagingStudy?patient={{context.patientId}}&_include=ImagingStudy:endpoint' };

/** A recording fake of the one neighbour (the FHIR client); the real one is tested against a real server. */
function fakeClient(resources: FhirResource[]): FhirQueryClient & { calls: string[]; tokens: (string | undefined)[] } {
  const calls: string[] = [];
  const tokens: (string | undefined)[] = [];
  return {
    calls,
    tokens,
    read: (type, id) => {
      calls.push(`read ${type}/${id}`);
      return Promise.resolve(resources[0] ?? { resourceType: 'Patient' });
    },
    search: (type, q) => {
      calls.push(`search ${type}?${q.toString()}`);
      return Promise.resolve(resources);
    },
  };
}

describe('prefetch templates', () => {
  it('fills context tokens and user identity tokens', () => {
    expect(fillTemplate('ImagingStudy?patient={{context.patientId}}', base)).toBe('ImagingStudy?patient=p1');
    expect(fillTemplate('Practitioner/{{userPractitionerId}}', base)).toBe('Practitioner/7');
  });

  it('cannot fill a token whose context value is absent or not primitive', () => {
    expect(fillTemplate('Encounter/{{context.encounterId}}', base)).toBeUndefined();
    expect(fillTemplate('Patient/{{userPatientId}}', base)).toBeUndefined();
  });

  it('URL-encodes context values', () => {
    expect(fillTemplate('X?a={{context.q}}', { ...base, context: { q: 'a&b=c' } })).toBe('X?a=a%26b%3Dc');
  });
});

describe('prefetch resolver', () => {
  const study = { resourceType: 'ImagingStudy', id: 'p1', status: 'available', subject: { reference: 'Patient/p1' } } as FhirResource;

  it('uses prefetched data without calling the FHIR server', async () => {
    const client = fakeClient([]);
    const r = createPrefetchResolver({ ...base, prefetch: { study } }, templates, () => client);
    await expect(r.resource('study')).resolves.toEqual(study);
    expect(client.calls).toEqual([]);
    expect(r.sources.get('study')).toBe('prefetch');
  });

  it('fetches a missing key from fhirServer with the client token', async () => {
    const client = fakeClient([study]);
    let seen: [string, string | undefined] | undefined;
    const r = createPrefetchResolver(base, templates, (server, token) => {
      seen = [server, token];
      return client;
    });
    await expect(r.entries('studies')).resolves.toEqual([study]);
    expect(client.calls).toEqual(['search ImagingStudy?patient=p1&_include=ImagingStudy%3Aendpoint']);
    expect(seen).toEqual(['https://fhir.example.org/r4', 'secret-token']);
  });

  it('refetches when the client sent an OperationOutcome in place of data', async () => {
    const client = fakeClient([study]);
    const r = createPrefetchResolver({ ...base, prefetch: { study: { resourceType: 'OperationOutcome', issue: [] } } }, templates, () => client);
    await r.resource('study');
    expect(client.calls).toEqual(['read ImagingStudy/p1']);
  });

  it('refetches the whole search when the client sent a paginated Bundle', async () => {
    const client = fakeClient([study]);
    const page = { resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'next', url: 'https://evil.example.com/page2' }], entry: [] } as FhirResource;
    const r = createPrefetchResolver({ ...base, prefetch: { studies: page } }, templates, () => client);
    await expect(r.entries('studies')).resolves.toEqual([study]);
    expect(client.calls).toHaveLength(1);
    expect(client.calls[0]).toMatch(/^search ImagingStudy\?/);
  });

  it('treats null as "no data" without calling the server', async () => {
    const client = fakeClient([study]);
    const r = createPrefetchResolver({ ...base, prefetch: { study: null, studies: null } }, templates, () => client);
    await expect(r.resource('study')).resolves.toBeUndefined();
    await expect(r.entries('studies')).resolves.toEqual([]);
    expect(client.calls).toEqual([]);
  });

  it('answers DATA_UNAVAILABLE when data is missing and there is no fhirServer', async () => {
    const { fhirServer: _s, fhirAuthorization: _a, ...noFhir } = base;
    const r = createPrefetchResolver(noFhir, templates, () => fakeClient([]));
    await expect(r.entries('studies')).rejects.toMatchObject({ code: 'DATA_UNAVAILABLE', status: 412 });
  });

  it('passes allow-list refusals from the client factory through', async () => {
    const r = createPrefetchResolver(base, templates, () => {
      throw Object.assign(new Error('fhirServer is not on the allow-list'), { code: 'OUTBOUND_NOT_ALLOWED' });
    });
    await expect(r.entries('studies')).rejects.toMatchObject({ code: 'OUTBOUND_NOT_ALLOWED' });
  });
});
