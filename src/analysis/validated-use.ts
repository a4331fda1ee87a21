/**
 * A model's validated use (manifest `accepts`), checked before it runs. Two moments: what the EHR
 * told us (the patient's birth date, the study date) is checked before the result cache is asked,
 * so a cached result is never served for a patient outside the model's use; what only the image
 * header says (view, photometric interpretation, size, pixel spacing, and the age when the EHR
 * gave none) is checked once the image is fetched. Each refusal has a stable code for logs and
 * metrics and a reason a physician can read; neither carries the patient's age or birth date.
 */
import type { DicomImageInfo } from '../dicom/index.js';
import type { ModelAccepts } from '../inference/index.js';
import { describeAgeRange, judgeAge, restrictsAge } from './population.js';
import type { AgeSource, OutsideUseCode, StudyToAnalyse } from './types.js';

/** Why a model refused: its rule's code and the reason in words. */
export interface Refusal {
  readonly code: OutsideUseCode;
  readonly reason: string;
}

/** The age check on the EHR's data: decided (refused, or passed with its source), or left to the image header. */
export type AgeBeforeFetch = { readonly kind: 'refuse'; readonly refusal: Refusal } | { readonly kind: 'pass'; readonly from: AgeSource } | { readonly kind: 'undecided' };

const norm = (s: string | undefined): string => s?.trim().toUpperCase() ?? '';

function outOfRange(accepts: ModelAccepts): Refusal {
  const range = accepts.patientAge === undefined ? '' : describeAgeRange(accepts.patientAge);
  return { code: 'AGE_OUT_OF_RANGE', reason: `the patient's age at the study is outside the ${range} the model was validated on` };
}

/**
 * The age rule on what the EHR gave (birth date and study date), before any pixel is fetched.
 *
 * @param accepts - the model's rules
 * @param study - the analysis input
 */
export function ageBeforeFetch(accepts: ModelAccepts, study: StudyToAnalyse): AgeBeforeFetch {
  const rule = accepts.patientAge;
  if (!restrictsAge(rule)) return { kind: 'pass', from: 'none' };
  const verdict = judgeAge(rule, { birthDate: study.patientBirthDate, studyDate: study.studyDate });
  if (verdict.state === 'outside') return { kind: 'refuse', refusal: outOfRange(accepts) };
  if (verdict.state === 'inside') return { kind: 'pass', from: verdict.from };
  return { kind: 'undecided' };
}

/**
 * The age rule once the image header is known (the EHR's data first, then the header's).
 *
 * @param accepts - the model's rules
 * @param study - the analysis input
 * @param info - the fetched image's header
 * @returns the refusal, or where the age that passed came from (`none`: an unknown age the model accepts)
 */
export function ageAfterFetch(accepts: ModelAccepts, study: StudyToAnalyse, info: DicomImageInfo): Refusal | { readonly from: AgeSource } {
  const rule = accepts.patientAge;
  if (!restrictsAge(rule)) return { from: 'none' };
  const header = { patientAge: info.patientAge, patientBirthDate: info.patientBirthDate, studyDate: info.studyDate };
  const verdict = judgeAge(rule, { birthDate: study.patientBirthDate, studyDate: study.studyDate, header });
  if (verdict.state === 'outside') return outOfRange(accepts);
  if (verdict.state === 'inside') return { from: verdict.from };
  if (rule.unknown === 'accept') return { from: 'none' };
  return {
    code: 'AGE_UNKNOWN',
    reason: `the patient's age at the study is unknown (no birth date from the EHR, no Patient's Age or Birth Date in the image) and the model was validated on ${describeAgeRange(rule)} only`,
  };
}

const mm = (v: number): string => `${Number(v.toFixed(4))}`;

/**
 * The image rules (view, photometric interpretation, size, pixel spacing) on the fetched header.
 *
 * @param accepts - the model's rules
 * @param info - the image's header
 * @returns the first rule the image breaks, or undefined
 */
export function imageRefusal(accepts: ModelAccepts, info: DicomImageInfo): Refusal | undefined {
  const { viewPositions, photometricInterpretations: photometric, minRows, minColumns, pixelSpacingMm: spacing } = accepts;
  const view = norm(info.viewPosition);
  if (view === '' && accepts.missingViewPosition === 'refuse') {
    return { code: 'VIEW_POSITION_MISSING', reason: `the image states no View Position (0018,5101); the model was validated on ${viewPositions.join(', ')} views only` };
  }
  if (view !== '' && viewPositions.length > 0 && !viewPositions.includes(view)) {
    return { code: 'VIEW_POSITION_NOT_VALIDATED', reason: `view position ${view} is not one the model accepts (${viewPositions.join(', ')})` };
  }
  const pi = norm(info.photometricInterpretation);
  if (photometric.length > 0 && !photometric.includes(pi)) {
    return { code: 'PHOTOMETRIC_NOT_VALIDATED', reason: `photometric interpretation ${pi || 'missing'} is not one the model was validated on (${photometric.join(', ')})` };
  }
  if (info.rows < minRows || info.columns < minColumns) {
    return { code: 'RESOLUTION_BELOW_MINIMUM', reason: `the image is ${info.columns}×${info.rows} pixels, below the ${minColumns}×${minRows} the model was validated on` };
  }
  if (spacing !== undefined) {
    const range = `${mm(spacing.min)}–${mm(spacing.max)} mm`;
    if (info.pixelSpacing === undefined) return { code: 'PIXEL_SPACING_MISSING', reason: `the image states no Pixel Spacing (0028,0030); the model was validated on ${range}` };
    if (info.pixelSpacing.some((v) => v < spacing.min || v > spacing.max)) {
      return { code: 'PIXEL_SPACING_OUT_OF_RANGE', reason: `pixel spacing ${info.pixelSpacing.map(mm).join('×')} mm is outside the ${range} the model was validated on` };
    }
  }
  return undefined;
}
