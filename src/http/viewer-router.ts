/**
 * /viewer: the SMART on FHIR result viewer. The page and its bundle are static; its API answers
 * only to a SMART access token (verified in src/viewer) and only with results of the token's
 * patient, in the trust domain its launch issuer maps to.
 *
 *   GET  /viewer/, /viewer/launch          the page (EHR launch with iss & launch; OAuth redirect)
 *   GET  /viewer/assets/*                   the bundled script and style
 *   GET  /viewer/api/smart-configuration    the authorization server of a launch's iss
 *   GET  /viewer/api/results/ImagingStudy/:id
 *   POST /viewer/api/feedback               Agree / Disagree, stored as CDS Hooks feedback
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router, type RequestHandler } from 'express';
import type { FeedbackStore } from '../audit/index.js';
import { AppError } from '../errors.js';
import { feedbackItem, parseViewerFeedback, resultView, storeFeedback, type ViewerServices, type ViewerSession } from '../viewer/index.js';
import type {} from './locals.js';
import { studyResults, type ResultsLookup } from './results-router.js';
import { trustDomainOf } from './trust-domain.js';

export interface ViewerRouterDeps {
  readonly viewer: ViewerServices;
  readonly results: ResultsLookup;
  readonly feedback: FeedbackStore;
}

/** Serves one of the bundled pages, or says it was not built. */
export function pageHandler(assetsDir: string, page: string, csp: string): RequestHandler {
  const file = path.join(assetsDir, page, 'index.html');
  return (_req, res) => {
    if (!existsSync(file)) throw new AppError('VIEWER_UNAVAILABLE', 'the page is not built: run npm run build (or set VIEWER_ASSETS_DIR)');
    securityHeaders(res, csp);
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(file);
  };
}

/** The page's policy: its own scripts and styles only; images from data: URLs it makes itself. */
export function contentSecurityPolicy(connect: readonly string[]): string {
  return ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", `connect-src 'self' ${connect.join(' ')}`.trim(), "base-uri 'none'", "object-src 'none'", "form-action 'none'"].join('; ');
}

function securityHeaders(res: express.Response, csp: string): void {
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
}

/** The static bundle of a page, with the same headers. */
export function assetsHandler(assetsDir: string, page: string, csp: string): RequestHandler {
  return express.static(path.join(assetsDir, page, 'assets'), {
    index: false,
    fallthrough: true,
    setHeaders: (res) => { securityHeaders(res, csp); res.setHeader('Cache-Control', 'no-cache'); },
  });
}

/** The verified token of a request, kept beside it rather than in res.locals' shared type. */
const sessions = new WeakMap<express.Request, ViewerSession>();
const sessionOf = (req: express.Request): ViewerSession => {
  const session = sessions.get(req);
  if (session === undefined) throw new Error('no viewer session: the token check must run first');
  return session;
};

/**
 * @param deps - the viewer's services, the results lookup, the feedback store
 */
export function viewerRouter(deps: ViewerRouterDeps): Router {
  const router = Router();
  const { viewer } = deps;
  const csp = contentSecurityPolicy(viewer.connectOrigins);
  router.use((req, res, next) => { res.locals.mount = req.baseUrl; next(); });
  router.get(['/', '/launch'], pageHandler(viewer.assetsDir, 'viewer', csp));
  router.use('/assets', assetsHandler(viewer.assetsDir, 'viewer', csp));
  router.use('/api', (_req, res, next) => { res.setHeader('Cache-Control', 'no-store'); next(); });
  router.get('/api/smart-configuration', async (req, res) => {
    res.json(await viewer.launchConfig(req.query['iss']));
  });

  const api = Router();
  api.use((req, res, next) => {
    viewer.verify(req.get('authorization')).then(
      (session) => {
        sessions.set(req, session);
        res.locals.domain = trustDomainOf(session.cdsClient);
        next();
      },
      (err: unknown) => { next(err); },
    );
  });
  api.get('/results/ImagingStudy/:id', async (req, res) => {
    const session = sessionOf(req);
    const bundle = await studyResults(deps.results, res.locals.domain ?? '', req.params.id, session.patientId);
    const view = resultView(req.params.id, bundle, viewer.ledger, viewer.modelCards);
    res.locals.log.info({ results: view.results.length }, 'viewer results served');
    res.json(view);
  });
  api.post('/feedback', express.json({ limit: '16kb', type: ['application/json'] }), async (req, res) => {
    const session = sessionOf(req);
    const f = parseViewerFeedback(req.body);
    // The result must be the token's patient's, in the launch's domain: the same lookup as the page's.
    const bundle = await studyResults(deps.results, res.locals.domain ?? '', f.imagingStudyId, session.patientId);
    const inBundle = bundle.entry?.some((e) => e.resource?.resourceType === 'DiagnosticReport' && e.resource.id === f.reportId) ?? false;
    const card = inBundle ? viewer.ledger.byReport(f.reportId) : undefined;
    if (card === undefined) throw new AppError('RESULT_NOT_FOUND', 'no result card with this report is known for this patient\'s study', { expression: 'reportId' });
    const added = await storeFeedback(deps.feedback, card, feedbackItem(f, card, new Date()), session.cdsClient?.iss);
    res.locals.log.info({ serviceId: card.serviceId, outcome: f.outcome, added }, 'viewer feedback stored');
    res.status(200).json({ stored: added });
  });
  router.use('/api', api);
  return router;
}
