/**
 * /ops on the operational port: a page for the team that runs the service (models, queue, hook
 * latency, results and feedback per model, recent failures), and the JSON it draws. The port is
 * loopback by default (OPS_HOST); the page carries counts and rates, never patient identifiers.
 */
import { Router, type ErrorRequestHandler } from 'express';
import { isAppError } from '../errors.js';
import { opsSummary, type FailureLog, type OpsSources } from '../viewer/index.js';
import { assetsHandler, contentSecurityPolicy, pageHandler } from './viewer-router.js';

/**
 * @param deps - where the numbers come from, and the bundled page
 */
export function opsPageRouter(deps: OpsSources & { readonly assetsDir: string }): Router {
  const router = Router();
  const csp = contentSecurityPolicy([]);
  router.get('/', pageHandler(deps.assetsDir, 'ops', csp));
  router.use('/assets', assetsHandler(deps.assetsDir, 'ops', csp));
  router.get('/api/summary', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await opsSummary(deps, new Date()));
  });
  return router;
}

/**
 * Records each failed request for the page (route template, status, error code), then hands the
 * error on to the error handler.
 *
 * @param failures - where they are kept
 */
export function recordFailures(failures: FailureLog): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    const template = (req.route as { path?: unknown } | undefined)?.path;
    const route = `${res.locals.mount ?? ''}${typeof template === 'string' ? template : ''}` || 'other';
    const status = isAppError(err) ? err.status : typeof (err as { status?: unknown } | null)?.status === 'number' ? (err as { status: number }).status : 500;
    failures.record({ at: new Date().toISOString(), route, status, code: isAppError(err) ? err.code : status < 500 ? 'HTTP_CLIENT_ERROR' : 'INTERNAL' });
    next(err);
  };
}
