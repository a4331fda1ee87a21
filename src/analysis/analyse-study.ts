/**
 * The use case, behind one function: study in, findings out. For each loaded model it picks a
 * series, fetches one image over DICOMweb, decodes it, runs the model and returns plain
 * results; it answers from the cache when this study was already analysed by this model
 * version. It runs inside the hook request and knows nothing of HTTP.
 */
import { AppError, isAppError } from '../errors.js';
import { analyseCineStudy } from './cine-study.js';
import { buildOverlay } from './overlay.js';
import { withPacsObjects, withPacsObjectsOfImage, type PacsResultStore } from './pacs-results.js';
import type { ResultCache } from './result-cache.js';
import { acceptanceReason, preselectSeries, rejectImage, seriesForReport } from './series-selection.js';
import type { Image } from '../image/index.js';
import type { ImageSource, ModelProfile, ModelRunner, ModelStudyResult, OutsideUseCode, SkipReason, StudyAnalysis, StudyToAnalyse } from './types.js';
import { ageAfterFetch, ageBeforeFetch } from './validated-use.js';
import type { AgeBeforeFetch } from './validated-use.js';

export interface AnalysisDeps {
  readonly images: ImageSource;
  readonly models: ModelRunner;
  readonly cache: ResultCache;
  readonly now?: () => Date;
  /** How often a job waiting for another's claimed analysis looks again. Default 100 ms. */
  readonly claimPollMs?: number;
  /** How long a claim lasts unless given back. Default {@link CLAIM_TTL_MS}. */
  readonly claimTtlMs?: number;
  /** Stores segmentation results to the study's PACS as DICOM SEG and SR; absent: not stored. */
  readonly pacs?: PacsResultStore | undefined;
}

/** A map left for later: the image it explains, for which model, and what it shows. */
export interface DeferredMap {
  readonly modelId: string;
  readonly image: Image;
  readonly subject: string;
  /** Gives back the claim on this model's analysis, once the map is stored. */
  readonly release: () => Promise<void>;
}

/**
 * How long a claim on a model's analysis of a study lasts by default: longer than one model's
 * analysis with its map takes; a holder that dies blocks others this long at most, then they run
 * it themselves. Wiring sets it to a job's lock (JOB_LOCK_MS), after which its job moves too.
 */
export const CLAIM_TTL_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => { setTimeout(resolve, ms); });

/**
 * Waits while another job holds the claim on this analysis, for its complete result; undefined
 * when the claim ends (or lapses) without one this call may use.
 */
async function resultOfOther(deps: AnalysisDeps, study: StudyToAnalyse, profile: ModelProfile, age: AgeBeforeFetch): Promise<ModelStudyResult | undefined> {
  const { id, version } = profile.model;
  for (;;) {
    const result = await deps.cache.get(study, id, version);
    if (result !== undefined && reusable(result, age)) return result;
    if (!(await deps.cache.claimed(study, id, version))) return undefined;
    await sleep(deps.claimPollMs ?? 100);
  }
}

/** Study-level failures worth reporting as the answer when no model produced a result. */
const FATAL_FOR_STUDY = new Set(['UPSTREAM_FAILED', 'OUTBOUND_NOT_ALLOWED', 'DICOM_INVALID', 'DICOM_UNSUPPORTED', 'DICOM_TOO_LARGE']);

/** Records that `profile`'s model refused: outside its validated use when `code` is given. */
function skip(skipped: SkipReason[], profile: ModelProfile, seriesUid: string | undefined, reason: string, code?: OutsideUseCode): void {
  skipped.push({ seriesUid, modelId: profile.model.id, reason, ...(code === undefined ? {} : { outsideUse: { code, modelName: profile.model.name } }) });
}

async function analyseWithModel(deps: AnalysisDeps, study: StudyToAnalyse, profile: ModelProfile, age: AgeBeforeFetch, skipped: SkipReason[], deferred: DeferredMap[] | undefined, release: () => Promise<void>): Promise<ModelStudyResult | undefined> {
  const modelId = profile.model.id;
  if (profile.series === 'cine-short-axis') {
    const cine = await analyseCineStudy(deps, study, profile, age, (seriesUid, reason, code) => { skip(skipped, profile, seriesUid, reason, code); });
    return cine === undefined ? undefined : withPacsObjects(deps, study, cine);
  }
  for (const { series } of preselectSeries(profile, study.series).filter((v) => v.accepted)) {
    if (series.dicomWebRoot === undefined) {
      skip(skipped, profile, series.uid, 'no DICOMweb endpoint for this series and no default configured');
      continue;
    }
    const instanceUids = series.instanceUids.length > 0 ? series.instanceUids : await deps.images.listInstances(series.dicomWebRoot, study.studyInstanceUid, series.uid);
    const first = instanceUids[0];
    if (first === undefined) {
      skip(skipped, profile, series.uid, 'the series has no instances');
      continue;
    }
    // A 2D classifier looks at one image: the first instance of the first fitting series.
    const { info, frames } = await deps.images.loadInstance(series.dicomWebRoot, study.studyInstanceUid, series.uid, first);
    const rejection = rejectImage(profile, info);
    const frame = frames[0];
    if (rejection !== undefined || frame === undefined) {
      skip(skipped, profile, series.uid, rejection?.reason ?? 'the image has no frames', rejection?.outsideUse);
      continue;
    }
    // The EHR's data decided the age before the fetch; otherwise the header may.
    const ageChecked = age.kind === 'pass' ? { from: age.from } : ageAfterFetch(profile.accepts, study, info);
    if ('code' in ageChecked) {
      skip(skipped, profile, series.uid, ageChecked.reason, ageChecked.code);
      continue;
    }
    const display = deps.images.toDisplay(frame, profile.windowing);
    // Spacing lets a segmentation model state areas in mm²; Imager Pixel Spacing is not used
    // because it is measured at the detector, not the patient.
    const image = info.pixelSpacing === undefined ? display : { ...display, pixelSpacingMm: info.pixelSpacing };
    let result;
    try {
      result = await deps.models.run(modelId, image, { deferMap: deferred !== undefined });
    } catch (err) {
      // This image does not suit this model (e.g. no field of view): another series may.
      if (!isAppError(err) || err.code !== 'IMAGE_UNSUITABLE') throw err;
      skipped.push({ seriesUid: series.uid, modelId, reason: err.message });
      continue;
    }
    const mapSubject = result.findings.find((f) => f.interpretation === 'positive' || f.needsReview)?.display ?? result.measurements[0]?.display ?? profile.model.name;
    if (result.mapDeferred === true) deferred?.push({ modelId, image: display, subject: mapSubject, release });
    const studyResult: ModelStudyResult = {
      studyInstanceUid: study.studyInstanceUid,
      model: profile.model,
      series: seriesForReport(series, info, 1, acceptanceReason(info)),
      findings: result.findings,
      measurements: result.measurements,
      ...(result.map === undefined ? {} : { overlay: buildOverlay(display, result.map, mapSubject) }),
      ...(result.mapDeferred === true ? { overlayPending: true } : {}),
      inferenceMs: result.inferenceMs,
      analysedAt: (deps.now?.() ?? new Date()).toISOString(),
      ageFrom: ageChecked.from,
    };
    return withPacsObjectsOfImage(deps, studyResult, { root: series.dicomWebRoot, sopInstanceUid: info.sopInstanceUid }, result.classMaps);
  }
  return undefined;
}

/**
 * Whether a cached result may answer this call. When the EHR's data passed the age rule, any
 * result of these pixels may (the image rules depend on the pixels alone). When it decided
 * nothing, only one whose age came from the header or needed none: one made on a birth date the
 * EHR gave then but not now is analysed again. A result without `ageFrom` predates the rules.
 */
function reusable(cached: ModelStudyResult, age: AgeBeforeFetch): boolean {
  // A result whose map was never finished (its worker died): run again, and make the map.
  if (cached.ageFrom === undefined || cached.overlayPending === true) return false;
  return age.kind === 'pass' || cached.ageFrom === 'dicom' || cached.ageFrom === 'none';
}

/**
 * Analyses a study with every loaded model that fits it: series chosen, the model's validated
 * use checked (age on the EHR's data before the cache, image rules and header age after the
 * fetch), then the model run or its cached result used.
 *
 * @param deps - image source, model runner, cache
 * @param study - the study as its ImagingStudy describes it
 * @param deferred - when given, saliency maps are not made: each wanted one is listed here and
 *   its result marked `overlayPending` (see analyseStudyThenMaps)
 * @returns results per model, and why anything was passed over
 * @throws AppError - the first data error (PACS down, undecodable image) when no model produced a result
 */
export async function analyseStudy(deps: AnalysisDeps, study: StudyToAnalyse, deferred?: DeferredMap[]): Promise<StudyAnalysis> {
  const results: ModelStudyResult[] = [];
  const skipped: SkipReason[] = [];
  let firstError: AppError | undefined;
  let allCached = true;
  const profiles = deps.models.profiles();
  // No model loaded is not "no finding": say so rather than answer with no cards.
  if (profiles.length === 0) throw new AppError('MODEL_UNAVAILABLE', 'no AI model is loaded (see /readyz)');
  for (const profile of profiles) {
    const verdicts = preselectSeries(profile, study.series);
    for (const v of verdicts) if (!v.accepted) skip(skipped, profile, v.series.uid, v.reason);
    if (!verdicts.some((v) => v.accepted)) continue;
    // Before the cache: a result cached for this study must never reach a patient the EHR says
    // is outside the model's validated use.
    const age = ageBeforeFetch(profile.accepts, study);
    if (age.kind === 'refuse') {
      skip(skipped, profile, undefined, age.refusal.reason, age.refusal.code);
      continue;
    }
    const cached = await deps.cache.get(study, profile.model.id, profile.model.version);
    if (cached !== undefined && reusable(cached, age)) {
      results.push(cached);
      continue;
    }
    // Another job analysing the same pixels with the same model: wait for its result.
    const { id, version } = profile.model;
    const claimed = await deps.cache.claim(study, id, version, deps.claimTtlMs ?? CLAIM_TTL_MS);
    const other = claimed ? undefined : await resultOfOther(deps, study, profile, age);
    if (other !== undefined) {
      results.push(other);
      continue;
    }
    const release = (): Promise<void> => (claimed ? deps.cache.release(study, id, version) : Promise.resolve());
    let keepClaim = false;
    try {
      const result = await analyseWithModel(deps, study, profile, age, skipped, deferred, release);
      if (result !== undefined) {
        allCached = false;
        await deps.cache.set(study, result);
        results.push(result);
        // Its map is still to be made: the claim is given back once it is (analyseStudyThenMaps).
        keepClaim = result.overlayPending === true;
      }
    } catch (err) {
      if (!isAppError(err) || !FATAL_FOR_STUDY.has(err.code)) throw err;
      firstError ??= err;
      skip(skipped, profile, undefined, err.message);
    } finally {
      if (!keepClaim) await release();
    }
  }
  if (results.length === 0 && firstError !== undefined) throw firstError;
  return { studyInstanceUid: study.studyInstanceUid, results, skipped, fromCache: allCached && results.length > 0 };
}
