/**
 * POST /triggers/pacs/stable-study and POST /triggers/fhir-subscription: analysis started before
 * any hook asks (README § Triggers). Each trigger presents its shared secret as a bearer token,
 * checked before its body is parsed; a trigger that is not configured has no route (404). Both
 * are idempotent: the job key makes a repeated event a no-op. A full queue answers 503 with
 * Retry-After (INFERENCE_BUSY): the PACS or FHIR server retries; nothing was accepted.
 */
import express, { Router, type ErrorRequestHandler, type RequestHandler } from 'express';
import { AppError } from '../errors.js';
import type { AnalysisJob, JobQueue } from '../jobs/index.js';
import { createSecretCheck, notificationJobs, pacsStudyJob, type PacsTriggerSource, type SubscriptionSource } from '../triggers/index.js';
import type {} from './locals.js';
import type { Metrics } from './metrics.js';

export interface TriggersRouterDeps {
  readonly jobs: JobQueue;
  readonly metrics: Metrics;
  /** Undefined: the PACS trigger is off. */
  readonly pacs: (PacsTriggerSource & { readonly secret: string }) | undefined;
  /** Undefined: the Subscription trigger is off. */
  readonly subscription: (SubscriptionSource & { readonly secret: string }) | undefined;
}

/** A trigger's body is a few hundred bytes (a notification with a full resource a few KiB). */
const BODY_LIMIT = '256kb';

function guarded(secret: string): RequestHandler {
  const check = createSecretCheck(secret);
  return (req, _res, next) => {
    check(req.get('authorization'));
    next();
  };
}

const json = express.json({ limit: BODY_LIMIT, strict: true, type: ['application/json', 'application/fhir+json'] });

/** A body that cannot be read is the trigger's error (400), named as such; other errors pass. */
const bodyErrors: ErrorRequestHandler = (err: unknown, _req, _res, next) => {
  const type = (err as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large') next(new AppError('TRIGGER_BAD_REQUEST', `the body is larger than ${BODY_LIMIT}`));
  else if (typeof type === 'string' && type.startsWith('entity.')) next(new AppError('TRIGGER_BAD_REQUEST', 'the body is not a JSON object'));
  else next(err);
};

/** An informational OperationOutcome: what the trigger started. */
function accepted(queued: number, known: number): unknown {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'informational', diagnostics: `${queued} analysis job(s) queued, ${known} already queued, running or done` }],
  };
}

/**
 * Creates the `/triggers` router.
 *
 * @param deps - the job queue, metrics and the configured triggers
 */
export function triggersRouter(deps: TriggersRouterDeps): Router {
  const router = Router();
  /**
   * One trigger route: the secret, then the body, then the jobs it names submitted; counted by
   * outcome and answered with `status` (a PACS expects 202, a rest-hook any 2xx).
   */
  const route = (trigger: string, routePath: string, secret: string, status: number, jobsOf: (body: unknown) => Promise<AnalysisJob[]>): void => {
    router.post(routePath, guarded(secret), json, async (req, res) => {
      try {
        const jobs = await jobsOf(req.body);
        let queued = 0;
        for (const job of jobs) if ((await deps.jobs.submit(job)).queued) queued += 1;
        const known = jobs.length - queued;
        deps.metrics.triggers.inc({ trigger, outcome: queued > 0 ? 'queued' : 'known' });
        res.locals.log.info({ trigger, queued, known }, 'trigger accepted');
        res.status(status).type('application/fhir+json').send(accepted(queued, known));
      } catch (err) {
        deps.metrics.triggers.inc({ trigger, outcome: 'refused' });
        throw err;
      }
    });
  };
  const { pacs, subscription } = deps;
  if (pacs !== undefined) route('pacs', '/pacs/stable-study', pacs.secret, 202, (body) => Promise.resolve([pacsStudyJob(pacs, body)]));
  if (subscription !== undefined) route('subscription', '/fhir-subscription', subscription.secret, 200, (body) => notificationJobs(subscription, body));
  router.use(bodyErrors);
  return router;
}
