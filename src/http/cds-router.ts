/**
 * CDS Hooks 2.0 routes: discovery, service calls and feedback, all built from one list of
 * services. Handlers receive plain validated data; HTTP stays here.
 */
import { randomUUID } from 'node:crypto';
import express, { Router, type RequestHandler } from 'express';
import { trustDomainOf } from './trust-domain.js';
import type {} from './locals.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logging.js';
import { parseCdsRequest, parseFeedback, validateCdsResponse } from '../cds-hooks/index.js';
import type { CdsService, HandlerContext } from '../cds/index.js';
import type { CdsRequest } from '../cds-hooks/index.js';
import type { FeedbackStore } from '../audit/index.js';
import type { Metrics } from './metrics.js';
import { answerKey, type AnswerStore } from './answers.js';

/** Verifies the client JWT of a call (src/auth). */
export interface ClientVerifier {
  verify(authorization: string | undefined, audience: string): Promise<{ readonly iss: string; readonly tenant?: string | undefined; readonly jti: string }>;
}

export interface CdsRouterDeps {
  readonly services: readonly CdsService[];
  /** Undefined when no trusted issuer is configured (loopback-only development mode). */
  readonly verifier: ClientVerifier | undefined;
  readonly publicBaseUrl: string;
  readonly feedback: FeedbackStore;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Largest request body accepted, e.g. `5mb` (parsed only after authentication). */
  readonly bodyLimit: string;
  /** Final answers of the result hook, kept and sent again for the same request; undefined: none kept. */
  readonly answers?: AnswerStore | undefined;
  /** Builds the handler context (prefetch resolver with the FHIR client) for one call. */
  readonly contextFor: (service: CdsService, request: CdsRequest, log: Logger, domain: string) => HandlerContext;
}

/**
 * Checks the JWT against `aud` = the exact URL that was called (public base + path).
 *
 * @param deps - the verifier (undefined in loopback-only development mode) and public base URL
 */
export function authenticate(deps: Pick<CdsRouterDeps, 'verifier' | 'publicBaseUrl'>): RequestHandler {
  return (req, res, next) => {
    res.locals.mount = req.baseUrl;
    if (deps.verifier === undefined) {
      res.locals.domain = trustDomainOf(undefined);
      next();
      return;
    }
    const audience = `${deps.publicBaseUrl}${req.baseUrl}${req.path}`.replace(/\/+$/, '');
    deps.verifier.verify(req.get('authorization'), audience).then(
      (client) => {
        res.locals.clientIss = client.iss;
        res.locals.domain = trustDomainOf(client);
        res.locals.log = res.locals.log.child({ clientIss: client.iss, tenant: client.tenant, jti: client.jti });
        next();
      },
      (err: unknown) => { next(err); },
    );
  };
}

/**
 * Creates the `/cds-services` router.
 *
 * @param deps - services, auth, stores, metrics
 */
export function cdsRouter(deps: CdsRouterDeps): Router {
  const router = Router();
  const byId = new Map(deps.services.map((s) => [s.definition.id, s]));
  const findService = (id: string | undefined): CdsService => {
    const service = id === undefined ? undefined : byId.get(id);
    if (service === undefined) throw new AppError('CDS_UNKNOWN_SERVICE', `no CDS service with id "${String(id)}"`);
    return service;
  };

  // Authentication first: an unauthenticated caller costs no body parsing.
  router.use(authenticate(deps));
  router.use(jsonBody(deps.bodyLimit));

  router.get('/', (_req, res) => {
    res.json({ services: deps.services.map((s) => s.definition) });
  });

  router.post('/:id', async (req, res) => {
    const service = findService(req.params.id);
    const serviceId = service.definition.id;
    const endTimer = deps.metrics.latency.startTimer({ service: serviceId });
    let status = 500;
    try {
      const domain = callerDomain(res.locals);
      const key = deps.answers === undefined ? undefined : answerKey(domain, serviceId, req.body, deps.answers.fingerprint());
      const stored = key === undefined ? undefined : await deps.answers?.get(key).catch(() => undefined);
      if (stored !== undefined) {
        status = 200;
        deps.metrics.storedAnswers.inc({ service: serviceId });
        res.type('application/json').send(stored);
        return;
      }
      const body = await answer(service, req.body, res.locals.log, domain, deps);
      status = 200;
      if (key !== undefined && body.final) void deps.answers?.set(key, body.text).catch(() => undefined);
      res.type('application/json').send(body.text);
    } catch (err) {
      status = err instanceof AppError ? err.status : 500;
      throw err;
    } finally {
      endTimer();
      deps.metrics.requests.inc({ service: serviceId, status: String(status) });
    }
  });

  router.post('/:id/feedback', async (req, res) => {
    const service = findService(req.params.id);
    const feedback = parseFeedback(req.body);
    const added = await deps.feedback.add(service.definition.id, feedback.feedback, res.locals.clientIss);
    res.locals.log.info({ serviceId: service.definition.id, items: feedback.feedback.length, added }, 'feedback stored');
    res.status(200).json({});
  });

  return router;
}

/**
 * Answers one call: validated request in, validated response out, as the bytes to send, and
 * whether they are final and made from the request's own data only (then they may be stored).
 */
async function answer(service: CdsService, raw: unknown, parentLog: Logger, domain: string, deps: CdsRouterDeps): Promise<{ text: string; final: boolean }> {
  const request = parseCdsRequest(raw, service.definition.hook);
  const log = parentLog.child({ serviceId: service.definition.id, hookInstance: request.hookInstance });
  const ctx = deps.contextFor(service, request, log, domain);
  const seen = { final: false, readFromServer: false };
  const data = { ...ctx.data, read: (type: string, id: string) => { seen.readFromServer = true; return ctx.data.read(type, id); } };
  const response = await service.handle(request, { ...ctx, data, final: () => { seen.final = true; } });
  // Never send what we cannot vouch for: a response failing the CDS Hooks validator is a bug.
  const problems = validateCdsResponse(response);
  if (problems.length > 0) throw new AppError('REPORT_INVALID', `response failed CDS Hooks validation: ${problems.join('; ')}`);
  log.info({ cards: response.cards.length }, 'cds call answered');
  // Only an answer made from the request's prefetch alone may be stored: one that needed the FHIR
  // server (and the client's token) must be made again for the next call.
  const fromRequestOnly = !seen.readFromServer && [...ctx.data.sources.values()].every((s) => s !== 'fhir');
  return { text: JSON.stringify(response), final: seen.final && fromRequestOnly };
}

/** The domain `authenticate` set; a route mounted without it is a wiring bug. */
export function callerDomain(locals: { readonly domain?: string | undefined }): string {
  if (locals.domain === undefined) throw new Error('no trust domain: authenticate() must run first');
  return locals.domain;
}

/** JSON bodies (CDS Hooks requests and feedback) up to `limit`; other media types are left unparsed. */
export function jsonBody(limit: string): RequestHandler {
  return express.json({ limit, strict: true, type: ['application/json', 'application/*+json'] });
}

/**
 * The route label of a finished request: the matched route template, else the router it
 * reached (a request rejected before its route, e.g. a 401), else `other`. Never the raw path,
 * so the label set stays small whatever clients send.
 */
function routeLabel(req: Parameters<RequestHandler>[0], mount: string | undefined): string {
  const template = (req.route as { path?: unknown } | undefined)?.path;
  // Express resets req.baseUrl once a router is left: the mount point is kept in res.locals.
  if (typeof template === 'string') return `${mount ?? req.baseUrl}${template}`;
  return mount ?? 'other';
}

/**
 * Assigns a request id (a sane incoming X-Request-Id, else a new UUID) and a child logger, and
 * counts every request when it finishes.
 */
export function requestContext(log: Logger, metrics?: Pick<Metrics, 'http'>): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming !== undefined && /^[A-Za-z0-9._-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    res.setHeader('x-request-id', requestId);
    res.locals.log = log.child({ requestId });
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      metrics?.http.inc({ route: routeLabel(req, res.locals.mount), status: String(res.statusCode) });
      res.locals.log.info({ method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'http');
    });
    next();
  };
}
