/**
 * GET /results/ImagingStudy/:id: the preliminary AI results of a study as a FHIR `collection`
 * Bundle (the same resources the result hook's card offers and write-back sends), for
 * interface teams that pull rather than receive.
 *
 * The Bundle carries patient data, so it is guarded exactly like the CDS endpoints: a client JWT
 * whose `aud` is this exact URL when issuers are configured; in unauthenticated development mode
 * the service only listens on loopback (config.ts).
 */
import { Router } from 'express';
import type { Bundle } from 'fhir/r4.js';
import { AppError } from '../errors.js';
import type {} from './locals.js';
import { authenticate, type CdsRouterDeps } from './cds-router.js';

/** Looks up a study's results; free of HTTP so it can be tested and reused without Express. */
export type ResultsLookup = (imagingStudyId: string) => Bundle | undefined;

export interface ResultsRouterDeps extends Pick<CdsRouterDeps, 'verifier' | 'publicBaseUrl'> {
  readonly results: ResultsLookup;
}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Answers one lookup, outside HTTP.
 *
 * @param lookup - the results index
 * @param imagingStudyId - path parameter, checked to be a FHIR id
 * @throws AppError `CDS_BAD_REQUEST` for a malformed id, `RESULT_NOT_FOUND` when no result is known
 */
export function studyResults(lookup: ResultsLookup, imagingStudyId: string): Bundle {
  if (!FHIR_ID.test(imagingStudyId)) throw new AppError('CDS_BAD_REQUEST', 'not a FHIR logical id', { expression: 'id' });
  const bundle = lookup(imagingStudyId);
  if (bundle === undefined) throw new AppError('RESULT_NOT_FOUND', 'no AI result is known for this ImagingStudy (the result hook has not analysed it since the service started)');
  return bundle;
}

/**
 * Creates the `/results` router.
 *
 * @param deps - verifier, public base URL and the results lookup
 */
export function resultsRouter(deps: ResultsRouterDeps): Router {
  const router = Router();
  router.use(authenticate(deps));
  router.get('/ImagingStudy/:id', (req, res) => {
    const bundle = studyResults(deps.results, req.params.id);
    res.locals.log.info({ entries: bundle.entry?.length ?? 0 }, 'results served');
    res.type('application/fhir+json').send(JSON.stringify(bundle));
  });
  return router;
}
