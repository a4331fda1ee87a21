/**
 * Valid requests for every route of the service, built from the data the stack holds (the
 * patient, its ImagingStudies in the FHIR server and Orthanc, the Endpoint). Mutations start
 * from these, so that a mutated request gets as deep into the service as its damage allows.
 */
import { randomUUID } from 'node:crypto';
import type { Endpoint, ImagingStudy } from 'fhir/r4.js';
import type { Random } from './random.js';

/** What the templates need to know about the running stack. */
export interface TemplateData {
  readonly patientId: string;
  readonly studies: readonly ImagingStudy[];
  readonly endpoint: Endpoint;
  readonly fhirBaseUrl: string;
  readonly ehrToken: string;
}

/** A request before mutation; `json` is serialised at the end unless a mutation set `body`. */
export interface Draft {
  /** Route label for the counts, e.g. `POST /cds-services/{id}`. */
  readonly route: string;
  method: string;
  /** Path and query as sent. */
  target: string;
  /** Path the valid token's `aud` is built from (undefined: from the final target). */
  audPath: string | undefined;
  json: unknown;
  body: Uint8Array | undefined;
  /** Extra headers; Host, Content-Length, Connection, Authorization are added at the end. */
  headers: [string, string][];
}

export const SERVICE_IDS = ['imaging-ai-result', 'imaging-ai-order-select', 'imaging-ai-order-sign', 'imaging-ai-patient-view'] as const;
export const RESULT_HOOK = 'org.imaging-cds.imagingstudy-available';

const fhirAuth = (d: TemplateData): Record<string, unknown> => ({
  fhirServer: d.fhirBaseUrl,
  fhirAuthorization: { access_token: d.ehrToken, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'imaging-cds' },
});

function studyBundle(d: TemplateData, studies: readonly ImagingStudy[]): Record<string, unknown> {
  return { resourceType: 'Bundle', type: 'searchset', entry: [...studies.map((s) => ({ resource: s, search: { mode: 'match' } })), { resource: d.endpoint, search: { mode: 'include' } }] };
}

function chestOrder(d: TemplateData, r: Random): Record<string, unknown> {
  const cpt = r.chance(0.3);
  return {
    resourceType: 'ServiceRequest',
    id: `order-${r.int(1000)}`,
    status: 'draft',
    intent: 'order',
    ...(cpt ? {} : { category: [{ coding: [{ system: 'http://snomed.info/sct', code: '363679005', display: 'Imaging' }] }] }),
    code: cpt ? { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '71046' }] } : { text: 'XR Chest AP' },
    bodySite: [{ coding: [{ system: 'http://snomed.info/sct', code: '51185008', display: 'Thoracic structure' }] }],
    subject: { reference: `Patient/${d.patientId}` },
  };
}

function envelope(hook: string, context: Record<string, unknown>): Record<string, unknown> {
  return { hook, hookInstance: randomUUID(), context };
}

type Template = (d: TemplateData, r: Random) => Draft;

const draft = (route: string, method: string, target: string, json: unknown): Draft => ({ route, method, target, audPath: undefined, json, body: undefined, headers: json === undefined ? [] : [['Content-Type', 'application/json']] });

const resultHook: Template = (d, r) => {
  const study = r.pick(d.studies);
  const body = envelope(RESULT_HOOK, { patientId: d.patientId, imagingStudyId: study.id ?? '', ...(r.chance(0.3) ? { serviceRequestId: 'order-1', userId: 'Practitioner/doc1' } : {}) });
  if (r.chance(0.6)) body.prefetch = { imagingStudy: studyBundle(d, [study]) };
  if (body.prefetch === undefined || r.chance(0.3)) Object.assign(body, fhirAuth(d));
  return draft('POST /cds-services/{id}', 'POST', '/cds-services/imaging-ai-result', body);
};

const orderHook = (service: 'imaging-ai-order-select' | 'imaging-ai-order-sign'): Template => (d, r) => {
  const orders = Array.from({ length: r.between(1, 3) }, () => chestOrder(d, r));
  const context: Record<string, unknown> = { userId: 'Practitioner/doc1', patientId: d.patientId, draftOrders: { resourceType: 'Bundle', type: 'collection', entry: orders.map((resource) => ({ resource })) } };
  if (service === 'imaging-ai-order-select') context.selections = orders.map((o) => `ServiceRequest/${String(o.id)}`);
  const body = envelope(service === 'imaging-ai-order-select' ? 'order-select' : 'order-sign', context);
  if (r.chance(0.4)) body.prefetch = { priorStudies: studyBundle(d, d.studies.slice(0, r.between(0, d.studies.length))) };
  if (body.prefetch === undefined || r.chance(0.5)) Object.assign(body, fhirAuth(d));
  return draft('POST /cds-services/{id}', 'POST', `/cds-services/${service}`, body);
};

const patientView: Template = (d, r) => {
  const body = envelope('patient-view', { userId: 'Practitioner/doc1', patientId: d.patientId, ...(r.chance(0.3) ? { encounterId: 'enc-1' } : {}) });
  if (r.chance(0.4)) body.prefetch = { recentStudies: studyBundle(d, d.studies) };
  if (body.prefetch === undefined || r.chance(0.5)) Object.assign(body, fhirAuth(d));
  return draft('POST /cds-services/{id}', 'POST', '/cds-services/imaging-ai-patient-view', body);
};

const feedback: Template = (_d, r) => {
  const item = (): Record<string, unknown> =>
    r.chance(0.5)
      ? { card: randomUUID(), outcome: 'accepted', outcomeTimestamp: new Date().toISOString(), acceptedSuggestions: [{ id: randomUUID() }] }
      : { card: randomUUID(), outcome: 'overridden', outcomeTimestamp: new Date().toISOString(), overrideReason: { reason: { system: 'http://imaging-cds.org/fhir/CodeSystem/override-reason', code: 'ai-finding-disagree', display: 'Disagree' }, userComment: 'fuzz' } };
  const service = r.pick(SERVICE_IDS);
  return draft('POST /cds-services/{id}/feedback', 'POST', `/cds-services/${service}/feedback`, { feedback: Array.from({ length: r.between(1, 3) }, item) });
};

const results: Template = (d, r) => {
  const study = r.pick(d.studies);
  return draft('GET /results/ImagingStudy/{id}', 'GET', `/results/ImagingStudy/${study.id ?? ''}?patient=${d.patientId}`, undefined);
};

const discovery: Template = () => draft('GET /cds-services', 'GET', '/cds-services', undefined);
const healthz: Template = () => draft('GET /healthz', 'GET', '/healthz', undefined);

const UNKNOWN_PATHS = ['/', '/cds-services/no-such-service', '/cds-services/imaging-ai-result/extra/segments', '/results', '/results/ImagingStudy', '/results/Patient/x', '/readyz', '/metrics', '/.env', '/cds-services/imaging-ai-result/feedback/x', '/favicon.ico', '/cds-services/__proto__', '/cds-services/constructor', '/cds-services/hasOwnProperty'];

const unknown: Template = (d, r) => {
  const post = r.chance(0.5);
  return draft('unknown path', post ? 'POST' : 'GET', r.pick(UNKNOWN_PATHS), post ? envelope(RESULT_HOOK, { patientId: d.patientId, imagingStudyId: 'x' }) : undefined);
};

const TEMPLATES: readonly (readonly [Template, number])[] = [
  [discovery, 1],
  [resultHook, 3],
  [orderHook('imaging-ai-order-select'), 1.2],
  [orderHook('imaging-ai-order-sign'), 1.2],
  [patientView, 1.3],
  [feedback, 1.5],
  [results, 1.5],
  [healthz, 0.3],
  [unknown, 0.8],
];

/** A valid request of a random route. */
export function pickTemplate(d: TemplateData, r: Random): Draft {
  const total = TEMPLATES.reduce((s, [, w]) => s + w, 0);
  let x = r.next() * total;
  for (const [t, w] of TEMPLATES) {
    x -= w;
    if (x < 0) return own(t(d, r));
  }
  return discovery(d, r);
}

/** A draft whose JSON shares nothing with the stack's data: mutations change it in place. */
function own(d: Draft): Draft {
  if (d.json !== undefined) d.json = structuredClone(d.json);
  return d;
}
