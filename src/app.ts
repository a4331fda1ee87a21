/**
 * createApp(deps): the public routes and middleware, no globals, never listens (src/main.ts
 * does). createOpsApp(deps): readiness and metrics, for the operational port, which main.ts
 * binds to loopback. Supertest drives both without a socket.
 */
import cors from 'cors';
import express, { type Express } from 'express';
import type { Logger } from './logging.js';
import { cdsRouter, requestContext, type CdsRouterDeps, errorHandler, operationOutcome, opsPageRouter, recordFailures, resultsRouter, sendOutcome, triggersRouter, viewerRouter, type ResultsLookup, type TriggersRouterDeps } from './http/index.js';
import type { FailureLog, OpsSources, ViewerServices } from './viewer/index.js';

export interface Readiness {
  readonly ready: boolean;
  readonly models: readonly { readonly id: string; readonly status: 'ready' | 'unavailable' | 'disabled'; readonly reason?: string }[];
}

export interface AppDeps extends CdsRouterDeps {
  readonly corsOrigins: readonly string[];
  readonly readiness: () => Readiness;
  readonly log: Logger;
  /** A study's results as a collection Bundle, for GET /results/ImagingStudy/:id. */
  readonly results: ResultsLookup;
  /** The PACS and FHIR Subscription triggers (each off when undefined) and the queue they feed. */
  readonly triggers: TriggersRouterDeps;
  /** The SMART result viewer at /viewer, and the log of failed requests the operations page lists; absent: neither. */
  readonly viewer?: { readonly services: ViewerServices; readonly failures: FailureLog } | undefined;
}

/**
 * Builds the Express app.
 *
 * @param deps - everything the routes need, already constructed
 */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestContext(deps.log, deps.metrics));
  // CDS Hooks requires CORS for browser-based clients; `*` unless origins are configured.
  app.use(
    cors({
      origin: deps.corsOrigins.length === 0 ? '*' : [...deps.corsOrigins],
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
      exposedHeaders: ['X-Request-Id'],
      maxAge: 600,
    }),
  );
  // Liveness only: says nothing about models, load or data, so it needs no credentials.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Bodies are parsed inside the routers, after the client JWT is checked.
  app.use('/cds-services', cdsRouter(deps));
  app.use('/results', resultsRouter(deps));
  app.use('/triggers', triggersRouter(deps.triggers));
  if (deps.viewer !== undefined) app.use('/viewer', viewerRouter({ viewer: deps.viewer.services, results: deps.results, feedback: deps.feedback }));
  app.use((_req, res) => {
    sendOutcome(res, 404, operationOutcome('not-found', 'No such route'));
  });
  if (deps.viewer !== undefined) app.use(recordFailures(deps.viewer.failures));
  app.use(errorHandler(deps.log));
  return app;
}

/**
 * The operational endpoints: `/readyz` (which models are loaded, and why not), `/metrics`
 * (Prometheus) and, when given, the operations page at `/ops`. They reveal the deployment's
 * state, so they are not on the public port.
 *
 * @param deps - readiness, metrics, the log, and the operations page's sources
 */
export function createOpsApp(deps: Pick<AppDeps, 'readiness' | 'metrics' | 'log'> & { readonly ops?: (OpsSources & { readonly assetsDir: string }) | undefined }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const r = deps.readiness();
    res.status(r.ready ? 200 : 503).json({ status: r.ready ? 'ready' : 'not-ready', models: r.models });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  if (deps.ops !== undefined) app.use('/ops', opsPageRouter(deps.ops));
  app.use((_req, res) => {
    sendOutcome(res, 404, operationOutcome('not-found', 'No such route'));
  });
  app.use(errorHandler(deps.log));
  return app;
}
