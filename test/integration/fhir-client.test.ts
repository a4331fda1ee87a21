/**
 * The FhirReader against a real FHIR R4 server (medplum's router over a memory store, on
 * 127.0.0.1): reads, paged searches, reference resolution, the token it forwards, and every
 * failure path mapped to a stable AppError code.
 */
import type { Bundle, Endpoint, ImagingStudy, Patient, Resource, ServiceRequest } from 'fhir/r4.js';
import { Client } from 'fhir-kit-client';
import { AppError } from '../../src/errors.js';
import { createFhirReader } from '../../src/fhir/fhir-client.js';
import { dicomWebEndpointRefs, isImagingServiceRequest, isWadoRsEndpoint, studyInstanceUid } from '../../src/fhir/imaging.js';
import { DICOM_UID_SYSTEM, ENDPOINT_CONNECTION_TYPE, SNOMED } from '../../src/terminology.js';
import { startFhirServer, type TestFhirServer } from '../support/fhir-server.js';

const TOKEN = 'tok-3f9a2c7e-secret';
const TIMEOUT_MS = 800;
const STUDY_UID = '1.2.826.0.1.3680043.8.498.1';

const patient: Patient = { resourceType: 'Patient', id: 'p1', name: [{ family: 'Test', given: ['Ada'] }] };
const otherPatient: Patient = { resourceType: 'Patient', id: 'p2' };
const endpoint: Endpoint = {
  resourceType: 'Endpoint',
  id: 'pacs',
  status: 'active',
  connectionType: { system: ENDPOINT_CONNECTION_TYPE, code: 'dicom-wado-rs' },
  payloadType: [{ text: 'DICOM' }],
  payloadMimeType: ['application/dicom'],
  address: 'http://127.0.0.1:8042/dicom-web',
};
const study: ImagingStudy = {
  resourceType: 'ImagingStudy',
  id: 'study1',
  status: 'available',
  subject: { reference: 'Patient/p1' },
  identifier: [{ system: DICOM_UID_SYSTEM, value: `urn:oid:${STUDY_UID}` }],
  endpoint: [{ reference: 'Endpoint/pacs' }],
  series: [
    {
      uid: `${STUDY_UID}.1`,
      modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'DX' },
      instance: [{ uid: `${STUDY_UID}.1.1`, sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.1.1' } }],
    },
  ],
};
const order: ServiceRequest = {
  resourceType: 'ServiceRequest',
  id: 'sr1',
  status: 'active',
  intent: 'order',
  subject: { reference: 'Patient/p1' },
  category: [{ coding: [{ system: SNOMED, code: '363679005', display: 'Imaging' }] }],
  code: { text: 'Chest X-ray' },
};

/** 25 studies of p2, for paging (the server's page size is 10). */
const pagedStudies: ImagingStudy[] = Array.from({ length: 25 }, (_, i) => ({
  resourceType: 'ImagingStudy',
  id: `paged-${String(i).padStart(2, '0')}`,
  status: 'available',
  subject: { reference: 'Patient/p2' },
}));

let server: TestFhirServer;

beforeAll(async () => {
  server = await startFhirServer({ token: TOKEN, defaultPageSize: 10 });
  await server.seed([patient, otherPatient, endpoint, study, order, ...pagedStudies]);
});

afterAll(async () => {
  await server.stop();
});

beforeEach(() => {
  server.setFailure();
  server.requests.length = 0;
});

function reader(overrides: Partial<Parameters<typeof createFhirReader>[0]> = {}): ReturnType<typeof createFhirReader> {
  return createFhirReader({ baseUrl: server.baseUrl, accessToken: TOKEN, timeoutMs: TIMEOUT_MS, ...overrides });
}

/** Runs `p`, which must reject, and returns the rejection. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Asserts an AppError with `code` whose message and serialised form never carry the token. */
function expectAppError(err: unknown, code: string): AppError {
  expect(err).toBeInstanceOf(AppError);
  const appError = err as AppError;
  expect(appError.code).toBe(code);
  const cause = appError.cause instanceof Error ? appError.cause.message : String(appError.cause);
  for (const text of [appError.message, appError.stack ?? '', cause, JSON.stringify(appError)]) {
    expect(text).not.toContain(TOKEN);
  }
  return appError;
}

describe('reading', () => {
  it('reads a resource with its declared type, and the imaging helpers understand it', async () => {
    const got = await reader().read('ImagingStudy', 'study1');
    expect(got.resourceType).toBe('ImagingStudy');
    expect(got.id).toBe('study1');
    expect(studyInstanceUid(got)).toBe(STUDY_UID);
    expect(dicomWebEndpointRefs(got)).toEqual(['Endpoint/pacs']);
  });

  it('forwards the bearer token on every request', async () => {
    await reader().read('Patient', 'p1');
    await reader().search('ServiceRequest', { patient: 'Patient/p1' });
    expect(server.requests).toHaveLength(2);
    for (const r of server.requests) expect(r.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('answers DATA_UNAVAILABLE for an unknown id', async () => {
    const err = expectAppError(await rejection(reader().read('ImagingStudy', 'nope')), 'DATA_UNAVAILABLE');
    expect(err.message).toMatch(/HTTP 404/);
    expect(err.message).not.toContain('nope');
  });

  it('refuses a malformed id before any request is sent', async () => {
    expectAppError(await rejection(reader().read('Patient', '../Endpoint/pacs')), 'DATA_UNAVAILABLE');
    expect(server.requests).toHaveLength(0);
  });
});

describe('the FHIR client', () => {
  it('is fhir-kit-client for every request: read, vread, search and each next page', async () => {
    const methods = ['read', 'vread', 'search', 'request'] as const;
    const proto = Client.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    const originals = methods.map((m) => [m, proto[m]] as const);
    const calls: string[] = [];
    let version = '';
    for (const [m, original] of originals) {
      proto[m] = function (this: unknown, ...args: unknown[]) {
        calls.push(m);
        return original?.apply(this, args);
      };
    }
    try {
      const read = await reader().read('Patient', 'p1');
      version = read.meta?.versionId ?? '';
      expect(version).not.toBe('');
      expect((await reader().resolveReference(`Patient/p1/_history/${version}`, 'Patient')).id).toBe('p1');
      expect((await reader().search('ImagingStudy', { patient: 'Patient/p2' })).pages).toBe(3);
    } finally {
      for (const [m, original] of originals) if (original !== undefined) proto[m] = original;
    }
    expect(calls).toEqual(['read', 'vread', 'search', 'request', 'request']);
    expect(server.requests.map((r) => r.path)).toEqual([
      '/fhir/Patient/p1',
      `/fhir/Patient/p1/_history/${version}`,
      expect.stringMatching(/^\/fhir\/ImagingStudy\?/),
      expect.stringMatching(/_offset=10/),
      expect.stringMatching(/_offset=20/),
    ]);
  });
});

describe('searching', () => {
  it('finds by patient reference', async () => {
    const result = await reader().search('ServiceRequest', { patient: 'Patient/p1' });
    expect(result.resources.map((r) => r.id)).toEqual(['sr1']);
    expect(result.truncated).toBeUndefined();
    const first = result.resources[0];
    expect(first !== undefined && isImagingServiceRequest(first)).toBe(true);
  });

  it('follows next links on the same server and returns every page', async () => {
    const result = await reader().search('ImagingStudy', { patient: 'Patient/p2' });
    expect(result.pages).toBe(3);
    expect(result.truncated).toBeUndefined();
    const ids = result.resources.map((r) => r.id);
    expect(ids).toHaveLength(25);
    expect(new Set(ids)).toEqual(new Set(pagedStudies.map((s) => s.id)));
    expect(server.requests.map((r) => r.path)).toEqual([
      expect.stringMatching(/^\/fhir\/ImagingStudy\?patient=Patient%2Fp2$/),
      expect.stringMatching(/_offset=10/),
      expect.stringMatching(/_offset=20/),
    ]);
  });

  it('stops at the result cap without fetching pages it would drop', async () => {
    const result = await reader({ maxSearchResults: 12 }).search('ImagingStudy', { patient: 'Patient/p2' });
    expect(result.resources).toHaveLength(12);
    expect(result.truncated).toBe('max-results');
    expect(result.pages).toBe(2);
    expect(server.requests).toHaveLength(2);
  });

  it('lowers the cap per search and says when a page cap stopped it', async () => {
    const capped = await reader().search('ImagingStudy', { patient: 'Patient/p2' }, { maxResults: 10 });
    expect(capped.resources).toHaveLength(10);
    expect(capped.truncated).toBe('max-results');
    const paged = await reader({ maxSearchPages: 2 }).search('ImagingStudy', { patient: 'Patient/p2' });
    expect(paged.resources).toHaveLength(20);
    expect(paged.truncated).toBe('max-pages');
  });

  it('does not follow a next link to another origin', async () => {
    server.setFailure('foreign-next-link');
    const result = await reader().search('ImagingStudy', { patient: 'Patient/p2' });
    expect(result.resources).toHaveLength(10);
    expect(result.truncated).toBe('foreign-next-link');
    // The foreign origin (localhost) names this very listener: a followed link would show up here.
    expect(server.requests).toHaveLength(1);
  });

  it('keeps _include results apart from the matches', async () => {
    const result = await reader().search('ImagingStudy', { _id: 'study1', _include: 'ImagingStudy:endpoint' });
    expect(result.resources.map((r) => r.id)).toEqual(['study1']);
    expect(result.included.map((r) => `${r.resourceType}/${r.id ?? ''}`)).toEqual(['Endpoint/pacs']);
  });
});

describe('resolving references', () => {
  it('resolves a relative reference and checks the expected type', async () => {
    const got = await reader().resolveReference('Endpoint/pacs', 'Endpoint');
    expect(isWadoRsEndpoint(got)).toBe(true);
    expectAppError(await rejection(reader().resolveReference('Endpoint/pacs', 'Patient')), 'DATA_UNAVAILABLE');
  });

  it('resolves an absolute reference under the same base', async () => {
    const got = await reader().resolveReference(`${server.baseUrl}/Patient/p1`);
    expect(got.resourceType).toBe('Patient');
  });

  it('refuses absolute references to another server without sending anything', async () => {
    for (const ref of [
      'https://elsewhere.example/fhir/Patient/p1',
      `${server.baseUrl.replace('127.0.0.1', 'localhost')}/Patient/p1`,
      `${server.baseUrl}-admin/Patient/p1`,
    ]) {
      expectAppError(await rejection(reader().resolveReference(ref)), 'OUTBOUND_NOT_ALLOWED');
    }
    expect(server.requests).toHaveLength(0);
  });
});

describe('failures', () => {
  it('maps a wrong token to DATA_UNAVAILABLE without echoing the token', async () => {
    const wrong = `${TOKEN}-wrong`;
    const err = await rejection(reader({ accessToken: wrong }).read('Patient', 'p1'));
    const appError = expectAppError(err, 'DATA_UNAVAILABLE');
    expect(appError.message).toMatch(/refused the access token/);
    expect(appError.message).not.toContain(wrong);
    expect(server.requests[0]?.authorization).toBe(`Bearer ${wrong}`);
  });

  it('says a token is required when none was given', async () => {
    const err = expectAppError(await rejection(reader({ accessToken: undefined }).read('Patient', 'p1')), 'DATA_UNAVAILABLE');
    expect(err.message).toMatch(/requires an access token/);
    expect(server.requests[0]?.authorization).toBeUndefined();
  });

  it('maps a 500 to UPSTREAM_FAILED', async () => {
    server.setFailure('status-500');
    const err = expectAppError(await rejection(reader().read('Patient', 'p1')), 'UPSTREAM_FAILED');
    expect(err.message).toMatch(/HTTP 500/);
  });

  it('gives up on a hanging server within the timeout', async () => {
    server.setFailure('hang');
    const started = Date.now();
    const err = expectAppError(await rejection(reader().search('ImagingStudy', { patient: 'Patient/p1' })), 'UPSTREAM_FAILED');
    const elapsed = Date.now() - started;
    expect(err.message).toMatch(/did not answer/);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1500);
  });

  it('treats a 200 OperationOutcome as an upstream failure, for reads and searches', async () => {
    server.setFailure('outcome-200');
    const readErr = expectAppError(await rejection(reader().read('Patient', 'p1')), 'UPSTREAM_FAILED');
    expect(readErr.message).toMatch(/OperationOutcome instead of a Patient/);
    const searchErr = expectAppError(await rejection(reader().search('Patient', {})), 'UPSTREAM_FAILED');
    expect(searchErr.message).toMatch(/OperationOutcome instead of a Bundle/);
  });

  it('treats a body that is not JSON as an upstream failure', async () => {
    server.setFailure('not-json');
    expectAppError(await rejection(reader().read('Patient', 'p1')), 'UPSTREAM_FAILED');
  });

  it('maps a refused connection to UPSTREAM_FAILED', async () => {
    const gone = await startFhirServer();
    const baseUrl = gone.baseUrl;
    await gone.stop();
    const err = expectAppError(await rejection(reader({ baseUrl }).read('Patient', 'p1')), 'UPSTREAM_FAILED');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it("hands back the caller's own abort reason instead of blaming the server", async () => {
    server.setFailure('hang');
    const controller = new AbortController();
    const reason = new Error('hook budget spent');
    const pending = rejection(reader({ timeoutMs: 5000 }).read('Patient', 'p1', { signal: controller.signal }));
    setTimeout(() => {
      controller.abort(reason);
    }, 50);
    expect(await pending).toBe(reason);
  });
});

describe('the test server', () => {
  it('processes transactions, rewriting urn:uuid references', async () => {
    const newPatient: Patient = { resourceType: 'Patient', name: [{ family: 'Transaction' }] };
    const newOrder: ServiceRequest = {
      resourceType: 'ServiceRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: 'urn:uuid:5b0d8a0e-8a52-4c1e-9f7b-1b1f3c1d2e01' },
    };
    const transaction: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:5b0d8a0e-8a52-4c1e-9f7b-1b1f3c1d2e01', resource: newPatient, request: { method: 'POST', url: 'Patient' } },
        { resource: newOrder, request: { method: 'POST', url: 'ServiceRequest' } },
      ],
    };
    const stored: Resource[] = await server.seed(transaction);
    const [created, sr] = stored;
    expect(created?.resourceType).toBe('Patient');
    const found = await reader().search('ServiceRequest', { subject: `Patient/${created?.id ?? ''}` });
    expect(found.resources.map((r) => r.id)).toEqual([sr?.id]);
  });
});
