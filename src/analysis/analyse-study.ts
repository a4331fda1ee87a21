/**
 * The use case, behind one function: study in, findings out. For each loaded model it picks a
 * series, fetches one image over DICOMweb, decodes it, runs the model and returns plain
 * results; it answers from the cache when this study was already analysed by this model
 * version. It runs inside the hook request and knows nothing of HTTP.
 */
import { AppError, isAppError } from '../errors.js';
import { buildOverlay } from './overlay.js';
import type { ResultCache } from './result-cache.js';
import { acceptanceReason, preselectSeries, rejectImage } from './series-selection.js';
import type { ImageSource, ModelProfile, ModelRunner, ModelStudyResult, SkipReason, StudyAnalysis, StudyToAnalyse } from './types.js';

export interface AnalysisDeps {
  readonly images: ImageSource;
  readonly models: ModelRunner;
  readonly cache: ResultCache;
  readonly now?: () => Date;
}

/** Study-level failures worth reporting as the answer when no model produced a result. */
const FATAL_FOR_STUDY = new Set(['UPSTREAM_FAILED', 'OUTBOUND_NOT_ALLOWED', 'DICOM_INVALID', 'DICOM_UNSUPPORTED', 'DICOM_TOO_LARGE']);

async function analyseWithModel(deps: AnalysisDeps, study: StudyToAnalyse, profile: ModelProfile, skipped: SkipReason[]): Promise<ModelStudyResult | undefined> {
  const modelId = profile.model.id;
  const verdicts = preselectSeries(profile, study.series);
  for (const v of verdicts) if (!v.accepted) skipped.push({ seriesUid: v.series.uid, modelId, reason: v.reason });
  for (const { series } of verdicts.filter((v) => v.accepted)) {
    if (series.dicomWebRoot === undefined) {
      skipped.push({ seriesUid: series.uid, modelId, reason: 'no DICOMweb endpoint for this series and no default configured' });
      continue;
    }
    const instanceUids = series.instanceUids.length > 0 ? series.instanceUids : await deps.images.listInstances(series.dicomWebRoot, study.studyInstanceUid, series.uid);
    const first = instanceUids[0];
    if (first === undefined) {
      skipped.push({ seriesUid: series.uid, modelId, reason: 'the series has no instances' });
      continue;
    }
    // A 2D classifier looks at one image: the first instance of the first fitting series.
    const { info, frames } = await deps.images.loadInstance(series.dicomWebRoot, study.studyInstanceUid, series.uid, first);
    const rejection = rejectImage(profile, info);
    const frame = frames[0];
    if (rejection !== undefined || frame === undefined) {
      skipped.push({ seriesUid: series.uid, modelId, reason: rejection ?? 'the image has no frames' });
      continue;
    }
    const display = deps.images.toDisplay(frame, profile.windowing);
    // Spacing lets a segmentation model state areas in mm²; Imager Pixel Spacing is not used
    // because it is measured at the detector, not the patient.
    const image = info.pixelSpacing === undefined ? display : { ...display, pixelSpacingMm: info.pixelSpacing };
    let result;
    try {
      result = await deps.models.run(modelId, image);
    } catch (err) {
      // This image does not suit this model (e.g. no field of view): another series may.
      if (!isAppError(err) || err.code !== 'IMAGE_UNSUITABLE') throw err;
      skipped.push({ seriesUid: series.uid, modelId, reason: err.message });
      continue;
    }
    const mapSubject = result.findings.find((f) => f.interpretation === 'positive' || f.needsReview)?.display ?? result.measurements[0]?.display ?? profile.model.name;
    return {
      studyInstanceUid: study.studyInstanceUid,
      model: profile.model,
      series: {
        seriesInstanceUid: series.uid,
        description: series.description ?? info.seriesDescription,
        modality: info.modality,
        bodyPart: info.bodyPartExamined ?? series.bodyPart,
        viewPosition: info.viewPosition,
        imageCount: 1,
        selectionReason: acceptanceReason(info),
      },
      findings: result.findings,
      measurements: result.measurements,
      ...(result.map === undefined ? {} : { overlay: buildOverlay(display, result.map, mapSubject) }),
      inferenceMs: result.inferenceMs,
      analysedAt: (deps.now?.() ?? new Date()).toISOString(),
    };
  }
  return undefined;
}

/**
 * Analyses a study with every loaded model that fits it.
 *
 * @param deps - image source, model runner, cache
 * @param study - the study as its ImagingStudy describes it
 * @returns results per model, and why anything was passed over
 * @throws AppError - the first data error (PACS down, undecodable image) when no model produced a result
 */
export async function analyseStudy(deps: AnalysisDeps, study: StudyToAnalyse): Promise<StudyAnalysis> {
  const results: ModelStudyResult[] = [];
  const skipped: SkipReason[] = [];
  let firstError: AppError | undefined;
  let allCached = true;
  const profiles = deps.models.profiles();
  // No model loaded is not "no finding": say so rather than answer with no cards.
  if (profiles.length === 0) throw new AppError('MODEL_UNAVAILABLE', 'no AI model is loaded (see /readyz)');
  for (const profile of profiles) {
    const cached = await deps.cache.get(study, profile.model.id, profile.model.version);
    if (cached !== undefined) {
      results.push(cached);
      continue;
    }
    try {
      const result = await analyseWithModel(deps, study, profile, skipped);
      if (result !== undefined) {
        allCached = false;
        await deps.cache.set(study, result);
        results.push(result);
      }
    } catch (err) {
      if (!isAppError(err) || !FATAL_FOR_STUDY.has(err.code)) throw err;
      firstError ??= err;
      skipped.push({ seriesUid: undefined, modelId: profile.model.id, reason: err.message });
    }
  }
  if (results.length === 0 && firstError !== undefined) throw firstError;
  return { studyInstanceUid: study.studyInstanceUid, results, skipped, fromCache: allCached && results.length > 0 };
}
