/**
 * A cine model's analysis of a study: the first accepted series that is a regular cine
 * short-axis stack is measured as a whole (cine-analysis.ts); a series that is not (one image, a
 * localizer, missing slices) is passed over with its reason and the next one tried. The result
 * carries the cardiac measures, an overlay of the mid-ventricular slice at ED and ES, and the
 * masks a PACS write-back needs.
 */
import { isAppError } from '../errors.js';
import { efBand } from './cardiac-volumes.js';
import { analyseCine, type CineAnalysis } from './cine-analysis.js';
import { buildCineOverlay } from './cine-overlay.js';
import { acceptanceReason, preselectSeries, rejectImage, seriesForReport } from './series-selection.js';
import type { ImageSource, ModelProfile, ModelRunner, ModelStudyResult, OutsideUseCode, StudyToAnalyse } from './types.js';
import { ageAfterFetch, type AgeBeforeFetch } from './validated-use.js';

/** A cine result and what was measured to make it (the masks stay in the worker: they are not cached). */
export interface CineStudyResult {
  readonly result: ModelStudyResult;
  readonly cine: CineAnalysis;
  readonly root: string;
  readonly seriesUid: string;
}

type Skip = (seriesUid: string | undefined, reason: string, code?: OutsideUseCode) => void;

/**
 * @param deps - images, models and the clock
 * @param study - the study
 * @param profile - a model whose manifest says `input.series: "cine-short-axis"`
 * @param age - the verdict on the EHR's data, before any fetch
 * @param skip - records a series passed over, and why
 * @returns undefined when no series could be measured (each reason recorded)
 */
export async function analyseCineStudy(
  deps: { readonly images: ImageSource; readonly models: ModelRunner; readonly now?: () => Date },
  study: StudyToAnalyse,
  profile: ModelProfile,
  age: AgeBeforeFetch,
  skip: Skip,
): Promise<CineStudyResult | undefined> {
  for (const { series } of preselectSeries(profile, study.series).filter((v) => v.accepted)) {
    const root = series.dicomWebRoot;
    if (root === undefined) {
      skip(series.uid, 'no DICOMweb endpoint for this series and no default configured');
      continue;
    }
    let cine: CineAnalysis;
    try {
      cine = await analyseCine(deps, profile, { root, studyUid: study.studyInstanceUid, seriesUid: series.uid });
    } catch (err) {
      // Not a regular cine stack: another series of the study may be.
      if (!isAppError(err) || err.code !== 'IMAGE_UNSUITABLE') throw err;
      skip(series.uid, err.message);
      continue;
    }
    const rejection = rejectImage(profile, cine.firstInfo);
    if (rejection !== undefined) {
      skip(series.uid, rejection.reason, rejection.outsideUse);
      continue;
    }
    const ageChecked = age.kind === 'pass' ? { from: age.from } : ageAfterFetch(profile.accepts, study, cine.firstInfo);
    if ('code' in ageChecked) {
      skip(series.uid, ageChecked.reason, ageChecked.code);
      continue;
    }
    const m = cine.measures;
    const info = cine.firstInfo;
    const result: ModelStudyResult = {
      studyInstanceUid: study.studyInstanceUid,
      model: profile.model,
      series: seriesForReport(series, info, cine.phaseCount * cine.sliceCount, `${acceptanceReason(info)} A cine series of ${cine.sliceCount} slice positions × ${cine.phaseCount} cardiac phases, measured as a whole.`),
      findings: [],
      measurements: [],
      cardiac: {
        lvEdvMl: m.lvEdvMl,
        lvEsvMl: m.lvEsvMl,
        lvSvMl: m.lvSvMl,
        lvEfPercent: m.lvEfPercent,
        lvMassG: m.lvMassG,
        rvEdvMl: m.rvEdvMl,
        rvEsvMl: m.rvEsvMl,
        rvEfPercent: m.rvEfPercent,
        lvEfBand: m.lvEfPercent === undefined ? undefined : efBand(m.lvEfPercent),
        edPhase: m.edPhase + 1,
        esPhase: m.esPhase + 1,
        phaseCount: cine.phaseCount,
        sliceCount: cine.sliceCount,
        sliceSpacingMm: cine.sliceSpacingMm,
        pixelSpacingMm: cine.pixelSpacingMm,
      },
      overlay: buildCineOverlay(cine, profile.model.name),
      inferenceMs: cine.inferenceMs,
      analysedAt: (deps.now?.() ?? new Date()).toISOString(),
      ageFrom: ageChecked.from,
    };
    return { result, cine, root, seriesUid: series.uid };
  }
  return undefined;
}
