/**
 * createApp(deps): routes and middleware, no globals, never listens (src/main.ts does).
 * Supertest drives it without a socket.
 */
import cors from 'cors';
import express, { type Express } from 'express';
import type { Logger } from './logging.js';
import { cdsRouter, requestContext, type CdsRouterDeps, errorHandler, operationOutcome, resultsRouter, type ResultsLookup } from './http/index.js';

export interface Readiness {
  readonly ready: boolean;
  readonly models: readonly { readonly id: string; readonly status: 'ready' | 'unavailable' | 'disabled'; readonly reason?: string }[];
}

export interface AppDeps extends CdsRouterDeps {
  readonly corsOrigins: readonly string[];
  readonly bodyLimit: string;
  readonly readiness: () => Readiness;
  readonly log: Logger;
  /** A study's results as a collection Bundle, for GET /results/ImagingStudy/:id. */
  readonly results: ResultsLookup;
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
  app.use(requestContext(deps.log));
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
  app.use(express.json({ limit: deps.bodyLimit, strict: true, type: ['application/json', 'application/*+json'] }));

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

  app.use('/cds-services', cdsRouter(deps));
  app.use('/results', resultsRouter(deps));
  app.use((_req, res) => {
    res.status(404).json(operationOutcome('not-found', 'No such route'));
  });
  app.use(errorHandler(deps.log));
  return app;
}
