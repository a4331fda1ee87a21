/**
 * GET /results/ImagingStudy/:id?patient=…: the preliminary AI results of a patient's study as a FHIR `collection`
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
import { authenticate, callerDomain, type CdsRouterDeps } from './cds-router.js';

/** Whose results are asked for: one patient's study, within the caller's trust domain. */
export interface ResultsQuery {
  readonly domain: string;
  readonly patientId: string;
  readonly imagingStudyId: string;
}

/** Looks up a study's results; free of HTTP so it can be tested and reused without Express. */
export type ResultsLookup = (query: ResultsQuery) => Promise<Bundle | undefined>;

export interface ResultsRouterDeps extends Pick<CdsRouterDeps, 'verifier' | 'publicBaseUrl'> {
  readonly results: ResultsLookup;
}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Answers one lookup, outside HTTP.
 *
 * @param lookup - the results index
 * @param domain - the caller's trust domain
 * @param imagingStudyId - path parameter, checked to be a FHIR id
 * @param patient - the `patient` query parameter, required: results are served per patient
 * @throws AppError `CDS_BAD_REQUEST` for a malformed id or a missing/malformed patient,
 *   `RESULT_NOT_FOUND` when no result is known for this patient's study in this domain (the
 *   same answer whether or not the id has results elsewhere)
 */
export async function studyResults(lookup: ResultsLookup, domain: string, imagingStudyId: string, patient: unknown): Promise<Bundle> {
  if (!FHIR_ID.test(imagingStudyId)) throw new AppError('CDS_BAD_REQUEST', 'not a FHIR logical id', { expression: 'id' });
  if (typeof patient !== 'string' || !FHIR_ID.test(patient)) {
    throw new AppError('CDS_BAD_REQUEST', 'the patient query parameter (the logical id of the Patient the study belongs to) is required', { expression: 'patient' });
  }
  const bundle = await lookup({ domain, patientId: patient, imagingStudyId });
  if (bundle === undefined) throw new AppError('RESULT_NOT_FOUND', "no AI result is known for this patient's ImagingStudy (the result hook has not analysed it since the service started)");
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
  router.get('/ImagingStudy/:id', async (req, res) => {
    const bundle = await studyResults(deps.results, callerDomain(res.locals), req.params.id, req.query['patient']);
    res.locals.log.info({ entries: bundle.entry?.length ?? 0 }, 'results served');
    res.type('application/fhir+json').send(JSON.stringify(bundle));
  });
  return router;
}
