/**
 * Which series each model looks at, with a reason a physician can read. Two passes: the
 * ImagingStudy's own description (modality, body part) narrows the candidates before any
 * pixel is fetched; the DICOM header of the fetched image (body part, view, photometric
 * interpretation, size, spacing, image type) confirms or rejects the choice.
 */
import type { DicomImageInfo } from '../dicom/index.js';
import type { SeriesForReport } from '../reports/index.js';
import type { ModelProfile, OutsideUseCode, SeriesToAnalyse } from './types.js';
import { imageRefusal } from './validated-use.js';

export interface SeriesVerdict {
  readonly series: SeriesToAnalyse;
  readonly accepted: boolean;
  readonly reason: string;
}

const norm = (s: string | undefined): string | undefined => s?.trim().toUpperCase();

/**
 * First pass, on the ImagingStudy description only.
 *
 * @param profile - the model's acceptance rules
 * @param series - the study's series
 * @returns a verdict per series; accepted ones first, in the study's order
 */
export function preselectSeries(profile: ModelProfile, series: readonly SeriesToAnalyse[]): SeriesVerdict[] {
  const { modalities, bodyParts } = profile.accepts;
  const verdicts = series.map((s): SeriesVerdict => {
    const modality = norm(s.modality);
    if (modality === undefined) return { series: s, accepted: false, reason: `series ${s.uid} has no modality` };
    if (!modalities.includes(modality)) {
      return { series: s, accepted: false, reason: `modality ${modality} is not one the model accepts (${modalities.join(', ')})` };
    }
    const bodyPart = norm(s.bodyPart);
    if (bodyPart !== undefined && bodyParts.length > 0 && !bodyParts.includes(bodyPart)) {
      return { series: s, accepted: false, reason: `body part ${bodyPart} is not one the model accepts (${bodyParts.join(', ')})` };
    }
    return { series: s, accepted: true, reason: `modality ${modality}${bodyPart === undefined ? '' : `, body part ${bodyPart}`} match the model` };
  });
  return [...verdicts.filter((v) => v.accepted), ...verdicts.filter((v) => !v.accepted)];
}

/** Why an image was passed over; `outsideUse` when it breaks a rule of the model's validated use. */
export interface ImageRejection {
  readonly reason: string;
  readonly outsideUse?: OutsideUseCode | undefined;
}

/**
 * Second pass, on the fetched image's header: is it the kind of image the model takes (modality,
 * body part, an original image), and does it fit the model's validated use (view, photometric
 * interpretation, size, pixel spacing: see validated-use.ts)?
 *
 * @param profile - the model's acceptance rules
 * @param info - header of the image that would be analysed
 * @returns undefined when the image fits, else the reason it does not
 */
export function rejectImage(profile: ModelProfile, info: DicomImageInfo): ImageRejection | undefined {
  const { modalities, bodyParts } = profile.accepts;
  const modality = norm(info.modality);
  if (modality === undefined || !modalities.includes(modality)) return { reason: `image modality ${modality ?? 'missing'} is not one the model accepts` };
  const bodyPart = norm(info.bodyPartExamined);
  // A missing BodyPartExamined is common on real CR/DX; the modality and the order already
  // narrowed the study, so only a body part that is present and different rejects the image.
  if (bodyPart !== undefined && bodyPart !== '' && bodyParts.length > 0 && !bodyParts.includes(bodyPart)) {
    return { reason: `body part ${bodyPart} is not one the model accepts (${bodyParts.join(', ')})` };
  }
  const refusal = imageRefusal(profile.accepts, info);
  if (refusal !== undefined) return { reason: refusal.reason, outsideUse: refusal.code };
  const imageType = info.imageType.map((t) => t.toUpperCase());
  if (imageType.includes('LOCALIZER')) return { reason: 'the image is a localizer' };
  if (imageType[0] === 'DERIVED') return { reason: 'the image is DERIVED, the model expects ORIGINAL images' };
  return undefined;
}

/** The series as the report names it: the ImagingStudy's description, else the header's. */
export function seriesForReport(series: SeriesToAnalyse, info: DicomImageInfo, imageCount: number, selectionReason: string): SeriesForReport {
  return {
    seriesInstanceUid: series.uid,
    description: series.description ?? info.seriesDescription,
    modality: info.modality,
    bodyPart: info.bodyPartExamined ?? series.bodyPart,
    viewPosition: info.viewPosition,
    imageCount,
    selectionReason,
  };
}

/** A one-line account of why the image was used, for the card. */
export function acceptanceReason(info: DicomImageInfo): string {
  const parts = [info.modality, info.bodyPartExamined, info.viewPosition].filter((p): p is string => p !== undefined && p !== '');
  return `Chosen because ${parts.join(' ')} matches the model's intended input.`;
}
