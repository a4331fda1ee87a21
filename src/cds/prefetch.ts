/**
 * Prefetch: use what the CDS client sent, fetch the rest. Per CDS Hooks 2.0 the client may
 * fill none, some or all keys, sends `null` for "no data", may put an OperationOutcome where
 * it failed, and may send a paginated searchset. Anything not usable as sent is fetched from
 * `fhirServer` with the client's bearer token; without FHIR access that is a 412.
 */
import type { Bundle, FhirResource } from 'fhir/r4.js';
import { AppError } from '../errors.js';
import { checkResource, checkedResources } from './resource-shapes.js';
import type { CdsRequest } from '../cds-hooks/index.js';

/** Reads from a FHIR server on behalf of the client (implemented over fhir-kit-client). */
export interface FhirQueryClient {
  read(resourceType: string, id: string): Promise<FhirResource>;
  /** Runs a search and returns every entry of every page (matches and includes). */
  search(resourceType: string, query: URLSearchParams): Promise<FhirResource[]>;
}

/** Creates a client for the request's FHIR server; throws OUTBOUND_NOT_ALLOWED when not allow-listed. */
export type FhirClientFactory = (fhirServer: string, accessToken: string | undefined) => FhirQueryClient;

export interface PrefetchResolver {
  /** A single resource (instance read template); undefined when the client said `null`/not found. */
  resource(key: string): Promise<FhirResource | undefined>;
  /** All entries of a search template (empty when the client said `null`). */
  entries(key: string): Promise<FhirResource[]>;
  /** Runs an ad-hoc query the templates did not cover (e.g. a study's Endpoint). */
  read(resourceType: string, id: string): Promise<FhirResource>;
  /** Where each key's data came from, for logs and tests. */
  readonly sources: ReadonlyMap<string, 'prefetch' | 'fhir' | 'null'>;
}

const TOKEN = /\{\{\s*([A-Za-z.]+)\s*\}\}/g;

/**
 * Fills a prefetch template's tokens from the request (CDS Hooks 2.0 tokens only:
 * first-level primitive context fields and the user* identity tokens).
 *
 * @param template - e.g. `ImagingStudy/{{context.imagingStudyId}}`
 * @param request - the validated request
 * @returns the query, or undefined when a token has no value (the key cannot apply)
 */
export function fillTemplate(template: string, request: CdsRequest): string | undefined {
  const missing: string[] = [];
  const userId = typeof request.context.userId === 'string' ? request.context.userId : undefined;
  const filled = template.replace(TOKEN, (_m, token: string) => {
    let value: unknown;
    if (token.startsWith('context.')) value = request.context[token.slice('context.'.length)];
    else if (token === 'userPractitionerId' && userId?.startsWith('Practitioner/') === true) value = userId.slice('Practitioner/'.length);
    else if (token === 'userPractitionerRoleId' && userId?.startsWith('PractitionerRole/') === true) value = userId.slice('PractitionerRole/'.length);
    else if (token === 'userPatientId' && userId?.startsWith('Patient/') === true) value = userId.slice('Patient/'.length);
    else if (token === 'userRelatedPersonId' && userId?.startsWith('RelatedPerson/') === true) value = userId.slice('RelatedPerson/'.length);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      missing.push(token);
      return '';
    }
    return encodeURIComponent(String(value));
  });
  return missing.length > 0 ? undefined : filled;
}

type Query = { kind: 'read'; type: string; id: string } | { kind: 'search'; type: string; params: URLSearchParams };

function parseQuery(query: string): Query {
  const [pathPart = '', search] = query.split('?', 2);
  const [type = '', id] = pathPart.split('/');
  if (id !== undefined && search === undefined) return { kind: 'read', type, id: decodeURIComponent(id) };
  return { kind: 'search', type, params: new URLSearchParams(search ?? '') };
}

function usable(value: unknown): value is FhirResource {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as { resourceType?: unknown; link?: { relation?: string }[] };
  if (typeof r.resourceType !== 'string' || r.resourceType === 'OperationOutcome') return false;
  // A paginated searchset is incomplete: fetch the whole result instead of following the
  // client's links, which may point anywhere.
  if (r.resourceType === 'Bundle' && (r.link ?? []).some((l) => l.relation === 'next')) return false;
  return true;
}

/**
 * Creates the resolver for one request.
 *
 * @param request - validated request
 * @param templates - the service's prefetch templates
 * @param clientFor - FHIR client factory (checks the allow-list)
 */
export function createPrefetchResolver(request: CdsRequest, templates: Readonly<Record<string, string>>, clientFor: FhirClientFactory): PrefetchResolver {
  const sources = new Map<string, 'prefetch' | 'fhir' | 'null'>();
  let client: FhirQueryClient | undefined;
  const fhir = (why: string): FhirQueryClient => {
    if (request.fhirServer === undefined) {
      throw new AppError('DATA_UNAVAILABLE', `${why} was not prefetched and the request gives no fhirServer to read it from`);
    }
    client ??= clientFor(request.fhirServer, request.fhirAuthorization?.access_token);
    return client;
  };

  // One answer per key and request: a hook that describes several studies (the patient's
  // birth date for each) reads the FHIR server once.
  const answers = new Map<string, Promise<{ value: FhirResource | null; kind: Query['kind'] }>>();
  const run = (key: string): Promise<{ value: FhirResource | null; kind: Query['kind'] }> => {
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = fetchKey(key);
      answers.set(key, answer);
    }
    return answer;
  };

  async function fetchKey(key: string): Promise<{ value: FhirResource | null; kind: Query['kind'] }> {
    const template = templates[key];
    if (template === undefined) throw new Error(`no prefetch template ${key}`);
    const query = fillTemplate(template, request);
    if (query === undefined) throw new AppError('CDS_BAD_REQUEST', `prefetch ${key} needs context values the request does not carry`);
    const parsed = parseQuery(query);
    const sent = request.prefetch?.[key];
    if (sent === null) {
      sources.set(key, 'null');
      return { value: null, kind: parsed.kind };
    }
    if (usable(sent)) {
      sources.set(key, 'prefetch');
      return { value: sent, kind: parsed.kind };
    }
    const c = fhir(`prefetch ${key}`);
    sources.set(key, 'fhir');
    if (parsed.kind === 'read') return { value: await c.read(parsed.type, parsed.id), kind: 'read' };
    const entries = await c.search(parsed.type, parsed.params);
    const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', entry: entries.map((resource) => ({ resource })) };
    return { value: bundle, kind: 'search' };
  }

  return {
    sources,
    async resource(key) {
      const { value } = await run(key);
      if (value === null) return undefined;
      const origin = sources.get(key) === 'prefetch' ? 'client' : 'server';
      // A read template answered with a searchset (e.g. `_id=` with `_include`): first match.
      if (value.resourceType === 'Bundle') {
        const resources = checkedResources(value, origin, `prefetch.${key}`);
        const entries = value.entry ?? [];
        const firstMatch = entries.findIndex((e) => e.search?.mode !== 'include');
        return firstMatch >= 0 ? (entries[firstMatch]?.resource as FhirResource | undefined) : resources[0];
      }
      return checkResource(value, origin, `prefetch.${key}`);
    },
    read: async (resourceType, id) => checkResource(await fhir(`${resourceType}/${id}`).read(resourceType, id), 'server', `${resourceType}/${id}`),
    async entries(key) {
      const { value } = await run(key);
      if (value === null) return [];
      return checkedResources(value, sources.get(key) === 'prefetch' ? 'client' : 'server', `prefetch.${key}`);
    },
  };
}
