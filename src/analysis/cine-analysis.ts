/**
 * A cine short-axis MR series through a 2-D cardiac segmentation model: every image of the series
 * is fetched (QIDO-RS, then WADO-RS one instance at a time, each under the client's byte cap),
 * arranged as slices × cardiac phases (src/dicom/cine.ts, which refuses what cannot be measured),
 * segmented, and each structure's areas summed into volumes per phase; ED and ES, volumes, EF and
 * mass follow (cardiac-volumes.ts). Only classic single-frame MR images are read: an enhanced
 * multi-frame series is refused with that reason.
 */
import { AppError } from '../errors.js';
import { analyseCineSeries } from '../dicom/index.js';
import type { DicomImageInfo, ModalityFrame } from '../dicom/index.js';
import { cardiacMeasures, phaseVolumes, type CardiacMeasures } from './cardiac-volumes.js';
import type { ImageSource, ModelProfile, ModelRunner } from './types.js';

/** The measurement keys a cardiac model's classes must carry. */
export const CARDIAC_CLASS_KEYS = { rv: 'rv_cavity', myo: 'lv_myocardium', lv: 'lv_cavity' } as const;

/** What a cine series measured, and how it was arranged. */
export interface CineAnalysis {
  readonly measures: CardiacMeasures;
  readonly phaseCount: number;
  readonly sliceCount: number;
  readonly sliceSpacingMm: number;
  readonly pixelSpacingMm: readonly [number, number];
  /** SOP Instance UIDs of the ED and ES images, slice by slice (for references and overlays). */
  readonly edInstances: readonly string[];
  readonly esInstances: readonly string[];
}

interface LoadedImage {
  readonly info: DicomImageInfo;
  readonly frame: ModalityFrame;
}

/** Every image of a series, decoded; a multi-frame instance is refused (enhanced MR is not read). */
async function loadSeries(images: ImageSource, root: string, studyUid: string, seriesUid: string): Promise<LoadedImage[]> {
  const uids = await images.listInstances(root, studyUid, seriesUid);
  const loaded: LoadedImage[] = [];
  for (const uid of uids) {
    const { info, frames } = await images.loadInstance(root, studyUid, seriesUid, uid);
    if (frames.length !== 1 || frames[0] === undefined) throw new AppError('DICOM_UNSUPPORTED', 'The cine series has multi-frame (enhanced) MR instances; only classic single-frame MR images are read.');
    loaded.push({ info, frame: frames[0] });
  }
  return loaded;
}

/** One image's areas (mm²) of the three structures. */
async function areasOf(models: ModelRunner, profile: ModelProfile, images: ImageSource, image: LoadedImage, pixelSpacingMm: readonly [number, number]): Promise<{ rv: number; myo: number; lv: number }> {
  const display = images.toDisplay(image.frame, profile.windowing);
  const result = await models.run(profile.model.id, { ...display, pixelSpacingMm });
  const area = (key: string): number => {
    const m = result.measurements.find((x) => x.key === key);
    if (m?.areaMm2 === undefined) throw new AppError('INFERENCE_FAILED', `Model ${profile.model.id} gave no area for ${key}.`);
    return m.areaMm2;
  };
  return { rv: area(CARDIAC_CLASS_KEYS.rv), myo: area(CARDIAC_CLASS_KEYS.myo), lv: area(CARDIAC_CLASS_KEYS.lv) };
}

/**
 * Measures one cine short-axis series.
 *
 * @param deps - image source and model runner
 * @param profile - the cardiac segmentation model
 * @param at - where the series is
 * @throws AppError IMAGE_UNSUITABLE when the series is not a regular cine stack (with every reason);
 *   DICOM_UNSUPPORTED for multi-frame instances; the data errors of the image source
 */
export async function analyseCine(
  deps: { readonly images: ImageSource; readonly models: ModelRunner },
  profile: ModelProfile,
  at: { readonly root: string; readonly studyUid: string; readonly seriesUid: string },
): Promise<CineAnalysis> {
  const loaded = await loadSeries(deps.images, at.root, at.studyUid, at.seriesUid);
  const geometry = analyseCineSeries(loaded);
  const { sliceSpacing, pixelSpacing } = geometry;
  if (geometry.problems.length > 0 || sliceSpacing === undefined || pixelSpacing === undefined) {
    throw new AppError('IMAGE_UNSUITABLE', `The series cannot be measured reliably: ${geometry.problems.join('; ') || 'no slice or pixel spacing'}.`);
  }
  const volumes = [];
  for (const phase of geometry.phases) {
    const areas = [];
    for (const image of phase) areas.push(await areasOf(deps.models, profile, deps.images, image, pixelSpacing));
    volumes.push(phaseVolumes(areas, sliceSpacing));
  }
  const measures = cardiacMeasures(volumes);
  const uidsOf = (p: number): string[] => (geometry.phases[p] ?? []).map((i) => i.info.sopInstanceUid);
  return {
    measures,
    phaseCount: geometry.phases.length,
    sliceCount: geometry.slicePositions.length,
    sliceSpacingMm: sliceSpacing,
    pixelSpacingMm: pixelSpacing,
    edInstances: uidsOf(measures.edPhase),
    esInstances: uidsOf(measures.esPhase),
  };
}
