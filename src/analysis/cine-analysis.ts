/**
 * A cine short-axis MR series through a 2-D cardiac segmentation model: every image of the series
 * is fetched (QIDO-RS, then WADO-RS one instance at a time, each under the client's byte cap),
 * arranged as slices × cardiac phases (src/dicom/cine.ts, which refuses what cannot be measured),
 * segmented, and each structure's areas summed into volumes per phase; ED and ES, volumes, EF and
 * mass follow (cardiac-volumes.ts). Classic single-frame MR images and enhanced multi-frame MR
 * (frames placed by their per-frame functional groups) are both read.
 *
 * Each structure is kept as its largest 26-connected component over the phase's stack
 * (largest-component.ts) before it is measured: stray blobs of the 2-D model are dropped.
 *
 * Besides the measures it keeps what the report and the PACS need: the thresholded masks of the
 * ED and ES images (for a DICOM SEG) and the mid-ventricular slice at ED and ES (for the overlay).
 */
import { AppError } from '../errors.js';
import { analyseCineSeries } from '../dicom/index.js';
import type { DicomImageInfo, ModalityFrame } from '../dicom/index.js';
import type { Image } from '../image/index.js';
import type { ImageMap } from '../inference/index.js';
import { cardiacMeasures, phaseVolumes, type CardiacMeasures } from './cardiac-volumes.js';
import { largestComponent3d } from './largest-component.js';
import type { ImageSource, ModelProfile, ModelRunner } from './types.js';

/** The measurement keys a cardiac model's classes must carry, in the order masks are kept. */
export const CARDIAC_CLASS_KEYS = { rv: 'rv_cavity', myo: 'lv_myocardium', lv: 'lv_cavity' } as const;
const KEY_ORDER = [CARDIAC_CLASS_KEYS.rv, CARDIAC_CLASS_KEYS.myo, CARDIAC_CLASS_KEYS.lv] as const;

/** One image's thresholded masks (RV cavity, LV myocardium, LV cavity), at the map's size. */
export interface ImageMasks {
  readonly sopInstanceUid: string;
  /** 1-based frame of a multi-frame instance (enhanced MR); absent for a single-frame image. */
  readonly frameNumber?: number | undefined;
  readonly width: number;
  readonly height: number;
  /** One 0/1 plane per structure, in {@link CARDIAC_CLASS_KEYS} order. */
  readonly planes: readonly [Uint8Array, Uint8Array, Uint8Array];
}

/** The mid-ventricular slice at one phase: the image the model saw and its masks. */
export interface SliceView {
  readonly display: Image;
  readonly masks: ImageMasks;
}

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
  /** Masks of the ED and ES images, slice by slice (same order as the instances). */
  readonly edMasks: readonly ImageMasks[];
  readonly esMasks: readonly ImageMasks[];
  /** Index of the mid-ventricular slice, and that slice at ED and ES. */
  readonly midSlice: number;
  readonly midEd: SliceView;
  readonly midEs: SliceView;
  /** The first image's header (modality, series description, body part) for the report. */
  readonly firstInfo: DicomImageInfo;
  /** Time spent in the model, summed over the images. */
  readonly inferenceMs: number;
}

interface LoadedImage {
  readonly info: DicomImageInfo;
  readonly frame: ModalityFrame;
  /** Set for a frame of a multi-frame instance. */
  readonly frameNumber?: number | undefined;
}

/**
 * Every image of a series, decoded: each frame of a multi-frame instance is an image with its own
 * header (the dicom layer reads an enhanced image's per-frame functional groups into it).
 */
async function loadSeries(images: ImageSource, root: string, studyUid: string, seriesUid: string): Promise<LoadedImage[]> {
  const uids = await images.listInstances(root, studyUid, seriesUid);
  const loaded: LoadedImage[] = [];
  for (const uid of uids) {
    const { info, frames } = await images.loadInstance(root, studyUid, seriesUid, uid);
    if (frames.length > 1 && frames.every((f) => f.info === info)) {
      throw new AppError('IMAGE_UNSUITABLE', 'The series has multi-frame instances without per-frame position and timing (functional groups): their frames cannot be placed.');
    }
    for (const frame of frames) loaded.push({ info: frame.info, frame, ...(frames.length > 1 ? { frameNumber: frame.frameIndex + 1 } : {}) });
  }
  return loaded;
}

function threshold(map: ImageMap): Uint8Array {
  const t = map.threshold ?? 0.5;
  return Uint8Array.from(map.values, (v) => (v >= t ? 1 : 0));
}

interface Segmented {
  readonly masks: ImageMasks;
  readonly display: Image;
  /** Area of one mask pixel on the patient, mm² (the mask covers the whole image). */
  readonly pixelAreaMm2: number;
  readonly inferenceMs: number;
}

/** One image's masks of the three structures, thresholded. */
async function segmentImage(models: ModelRunner, profile: ModelProfile, images: ImageSource, image: LoadedImage, pixelSpacingMm: readonly [number, number]): Promise<Segmented> {
  const display = images.toDisplay(image.frame, profile.windowing);
  const result = await models.run(profile.model.id, { ...display, pixelSpacingMm });
  const plane = (key: string): Uint8Array => {
    const map = result.classMaps?.[result.measurements.findIndex((x) => x.key === key)];
    if (map === undefined) throw new AppError('INFERENCE_FAILED', `Model ${profile.model.id} gave no mask for ${key}.`);
    return threshold(map);
  };
  const first = result.classMaps?.[0];
  if (first === undefined) throw new AppError('INFERENCE_FAILED', `Model ${profile.model.id} gave no mask.`);
  const masks: ImageMasks = { sopInstanceUid: image.info.sopInstanceUid, frameNumber: image.frameNumber, width: first.width, height: first.height, planes: [plane(KEY_ORDER[0]), plane(KEY_ORDER[1]), plane(KEY_ORDER[2])] };
  const pixelAreaMm2 = ((pixelSpacingMm[0] * display.height) / first.height) * ((pixelSpacingMm[1] * display.width) / first.width);
  return { masks, display, pixelAreaMm2, inferenceMs: result.inferenceMs };
}

/**
 * One phase's stack with each structure reduced to its largest 26-connected component, and the
 * structures' areas per slice, mm².
 */
function keepLargestBodies(phase: readonly Segmented[]): { slices: Segmented[]; areas: { rv: number; myo: number; lv: number }[] } {
  const first = phase[0];
  if (first === undefined) return { slices: [], areas: [] };
  const { width, height } = first.masks;
  if (phase.some((s) => s.masks.width !== width || s.masks.height !== height)) throw new AppError('INFERENCE_FAILED', 'The masks of one phase differ in size.');
  const largest = (k: 0 | 1 | 2): Uint8Array[] => largestComponent3d(phase.map((s) => s.masks.planes[k]), width, height);
  const [rv, myo, lv] = [largest(0), largest(1), largest(2)];
  const slices = phase.map((s, z): Segmented => ({ ...s, masks: { ...s.masks, planes: [rv[z] as Uint8Array, myo[z] as Uint8Array, lv[z] as Uint8Array] } }));
  const count = (p: Uint8Array): number => p.reduce((t, v) => t + v, 0);
  const areas = slices.map((s) => ({ rv: count(s.masks.planes[0]) * s.pixelAreaMm2, myo: count(s.masks.planes[1]) * s.pixelAreaMm2, lv: count(s.masks.planes[2]) * s.pixelAreaMm2 }));
  return { slices, areas };
}

/**
 * The mid-ventricular slice: the middle of the slices on which the ED LV cavity was found (the
 * stack often runs beyond the ventricle at base and apex).
 */
function midVentricular(edMasks: readonly ImageMasks[]): number {
  const withLv = edMasks.map((m, i) => (m.planes[2].some((v) => v === 1) ? i : -1)).filter((i) => i >= 0);
  if (withLv.length === 0) return edMasks.length >> 1;
  return withLv[withLv.length >> 1] as number;
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
  // Only the phases that may still be ED or ES keep their images and masks (a long cine series
  // would otherwise hold every decoded image at once).
  const kept = new Map<number, Segmented[]>();
  let inferenceMs = 0;
  for (const [p, phase] of geometry.phases.entries()) {
    const segmented: Segmented[] = [];
    for (const image of phase) segmented.push(await segmentImage(deps.models, profile, deps.images, image, pixelSpacing));
    inferenceMs += segmented.reduce((t, s) => t + s.inferenceMs, 0);
    const { slices, areas } = keepLargestBodies(segmented);
    volumes.push(phaseVolumes(areas, sliceSpacing));
    kept.set(p, slices);
    const { edPhase, esPhase } = cardiacMeasures(volumes);
    for (const k of kept.keys()) if (k !== edPhase && k !== esPhase) kept.delete(k);
  }
  const measures = cardiacMeasures(volumes);
  const ed = kept.get(measures.edPhase) ?? [];
  const es = kept.get(measures.esPhase) ?? [];
  const midSlice = midVentricular(ed.map((s) => s.masks));
  const view = (phase: readonly Segmented[]): SliceView => {
    const s = phase[midSlice] as Segmented;
    return { display: s.display, masks: s.masks };
  };
  return {
    measures,
    phaseCount: geometry.phases.length,
    sliceCount: geometry.slicePositions.length,
    sliceSpacingMm: sliceSpacing,
    pixelSpacingMm: pixelSpacing,
    edInstances: ed.map((s) => s.masks.sopInstanceUid),
    esInstances: es.map((s) => s.masks.sopInstanceUid),
    edMasks: ed.map((s) => s.masks),
    esMasks: es.map((s) => s.masks),
    midSlice,
    midEd: view(ed),
    midEs: view(es),
    firstInfo: (loaded[0] as LoadedImage).info,
    inferenceMs,
  };
}
