/**
 * Which series of a study a model can use, judged from instance headers only (parsed files or
 * WADO-RS metadata, before any pixel is fetched), with one readable reason per series.
 *
 * This extends src/analysis/series-selection.ts (2D, one image) to models that take a volume:
 * localizers are left out, DERIVED images refused unless allowed, and a volume needs enough
 * slices that form one regular stack (see volume-geometry.ts).
 */
import { jsonNumber, jsonString } from './dicom-json.js';
import type { DicomImageInfo, DicomJsonDataset } from './types.js';
import { analyseSliceGeometry } from './volume-geometry.js';
import type { GeometryTolerances } from './volume-geometry.js';

/** What a model accepts; the first three fields are the analysis layer's `ModelProfile.accepts`. */
export interface SeriesAccepts {
  /** DICOM modalities (CID 29), upper case, e.g. ['CT']. */
  readonly modalities: readonly string[];
  /** BodyPartExamined values; empty accepts any. A series without one is not refused for it. */
  readonly bodyParts: readonly string[];
  /** ViewPosition values for 2D models (e.g. PA, AP); empty accepts any. */
  readonly viewPositions: readonly string[];
  /** `image`: one 2D image (default); `volume`: a stack of slices. */
  readonly input?: 'image' | 'volume';
  /** Fewest slices a volume model needs. Default 2. */
  readonly minSlices?: number;
  /** Accept DERIVED (reformatted, processed) images. Default false. */
  readonly allowDerived?: boolean;
  readonly geometry?: GeometryTolerances;
}

/** The headers of one series' instances. */
export interface SeriesCandidate {
  readonly seriesInstanceUid: string;
  readonly instances: readonly DicomImageInfo[];
}

/** The verdict on one series. */
export interface SeriesChoice {
  readonly seriesInstanceUid: string;
  readonly accepted: boolean;
  /** One sentence for the card or the log: why the series is used, or why not. */
  readonly reason: string;
  /** The instances the model would get (localizers and refused DERIVED images left out), in spatial order for volumes. */
  readonly instances: readonly DicomImageInfo[];
}

const norm = (s: string | undefined): string | undefined => {
  const t = s?.trim().toUpperCase();
  return t === '' ? undefined : t;
};
const isLocalizer = (i: DicomImageInfo): boolean => i.imageType.some((t) => t.trim().toUpperCase() === 'LOCALIZER');
const isDerived = (i: DicomImageInfo): boolean => norm(i.imageType[0]) === 'DERIVED';

/**
 * Judges one series against what a model accepts.
 *
 * @returns accepted with a reason, or refused with the first reason that rules it out
 */
export function judgeSeries(accepts: SeriesAccepts, candidate: SeriesCandidate): SeriesChoice {
  const uid = candidate.seriesInstanceUid;
  const refuse = (reason: string): SeriesChoice => ({ seriesInstanceUid: uid, accepted: false, reason, instances: [] });
  const all = candidate.instances;
  if (all.length === 0) return refuse(`series ${uid} has no instances`);
  const modality = norm(all[0]?.modality);
  if (modality === undefined) return refuse(`series ${uid} has no modality`);
  if (!accepts.modalities.map((m) => m.toUpperCase()).includes(modality)) {
    return refuse(`modality ${modality} is not one the model accepts (${accepts.modalities.join(', ')})`);
  }
  const bodyPart = norm(all.find((i) => norm(i.bodyPartExamined) !== undefined)?.bodyPartExamined);
  if (bodyPart !== undefined && accepts.bodyParts.length > 0 && !accepts.bodyParts.map((b) => b.toUpperCase()).includes(bodyPart)) {
    return refuse(`body part ${bodyPart} is not one the model accepts (${accepts.bodyParts.join(', ')})`);
  }
  const notes: string[] = [];
  const localizers = all.filter(isLocalizer).length;
  let usable = all.filter((i) => !isLocalizer(i));
  if (usable.length === 0) return refuse('the series holds only localizer (scout) images');
  if (localizers > 0) notes.push(`${localizers} localizer image(s) left out`);
  if (accepts.allowDerived !== true) {
    const derived = usable.filter(isDerived).length;
    if (derived === usable.length) return refuse('the series is DERIVED (reformatted or processed); the model expects ORIGINAL images');
    if (derived > 0) notes.push(`${derived} DERIVED image(s) left out`);
    usable = usable.filter((i) => !isDerived(i));
  }
  const described = [modality, bodyPart].filter((p) => p !== undefined).join(' ');
  const suffix = notes.length > 0 ? ` (${notes.join('; ')})` : '';
  return accepts.input === 'volume' ? judgeVolume(accepts, uid, usable, described, suffix) : judgeImage(accepts, uid, usable, described, suffix);
}

function judgeImage(accepts: SeriesAccepts, uid: string, usable: readonly DicomImageInfo[], described: string, suffix: string): SeriesChoice {
  const views = accepts.viewPositions.map((v) => v.toUpperCase());
  const fitting = views.length === 0 ? usable : usable.filter((i) => norm(i.viewPosition) === undefined || views.includes(norm(i.viewPosition) as string));
  if (fitting.length === 0) {
    const seen = [...new Set(usable.map((i) => norm(i.viewPosition)))].join(', ');
    return { seriesInstanceUid: uid, accepted: false, reason: `view position ${seen} is not one the model accepts (${accepts.viewPositions.join(', ')})`, instances: [] };
  }
  const view = norm(fitting[0]?.viewPosition);
  return {
    seriesInstanceUid: uid,
    accepted: true,
    reason: `${described}${view === undefined ? '' : ` ${view}`} ORIGINAL image matches the model's intended input${suffix}`,
    instances: fitting,
  };
}

function judgeVolume(accepts: SeriesAccepts, uid: string, usable: readonly DicomImageInfo[], described: string, suffix: string): SeriesChoice {
  const refuse = (reason: string): SeriesChoice => ({ seriesInstanceUid: uid, accepted: false, reason: reason + suffix, instances: [] });
  const minSlices = accepts.minSlices ?? 2;
  if (usable.some((i) => i.numberOfFrames > 1)) return refuse('the series stores its slices as multi-frame instances, which volume models do not take yet');
  if (usable.some((i) => i.samplesPerPixel !== 1)) return refuse('the series is colour; volume models take monochrome slices');
  if (usable.length < minSlices) return refuse(`the series has ${usable.length} slice(s); the model needs at least ${minSlices}`);
  const geometry = analyseSliceGeometry(usable.map((info) => ({ info })), accepts.geometry);
  if (geometry.problems.length > 0) return refuse(`the slices do not form one regular volume: ${geometry.problems.join('; ')}`);
  const spacing = geometry.sliceSpacing === undefined ? '' : ` ${Number(geometry.sliceSpacing.toFixed(2))} mm apart`;
  return {
    seriesInstanceUid: uid,
    accepted: true,
    reason: `${described} series of ${usable.length} ORIGINAL slices${spacing} forms a regular volume${suffix}`,
    instances: geometry.ordered.map((s) => s.info),
  };
}

/**
 * Judges every series of a study; accepted ones first, volumes with more (then thinner)
 * slices before others, 2D series in study order.
 */
export function selectSeries(accepts: SeriesAccepts, candidates: readonly SeriesCandidate[]): SeriesChoice[] {
  const judged = candidates.map((c, index) => ({ choice: judgeSeries(accepts, c), index }));
  judged.sort((a, b) => Number(b.choice.accepted) - Number(a.choice.accepted) || b.choice.instances.length - a.choice.instances.length || a.index - b.index);
  return judged.map((j) => j.choice);
}

/**
 * The header fields selection needs, from a WADO-RS metadata or QIDO-RS instance data set
 * (PS3.18 F.2), so a study can be judged before any pixel is retrieved.
 */
export function imageInfoFromMetadata(ds: DicomJsonDataset): DicomImageInfo {
  const strings = (tag: string): string[] => (ds[tag]?.Value ?? []).filter((v): v is string => typeof v === 'string');
  const numbers = (tag: string, n: number): number[] | undefined => {
    const values = (ds[tag]?.Value ?? []).map((v) => (typeof v === 'string' ? Number(v) : v));
    return values.length === n && values.every((v): v is number => typeof v === 'number' && Number.isFinite(v)) ? values : undefined;
  };
  const int = (tag: string, fallback: number): number => jsonNumber(ds, tag) ?? fallback;
  return {
    studyInstanceUid: jsonString(ds, '0020000D') ?? '',
    seriesInstanceUid: jsonString(ds, '0020000E') ?? '',
    sopInstanceUid: jsonString(ds, '00080018') ?? '',
    sopClassUid: jsonString(ds, '00080016'),
    transferSyntaxUid: jsonString(ds, '00020010') ?? '',
    modality: jsonString(ds, '00080060'),
    bodyPartExamined: jsonString(ds, '00180015'),
    viewPosition: jsonString(ds, '00185101'),
    imageType: strings('00080008'),
    rows: int('00280010', 0),
    columns: int('00280011', 0),
    numberOfFrames: int('00280008', 1),
    photometricInterpretation: jsonString(ds, '00280004') ?? 'MONOCHROME2',
    samplesPerPixel: int('00280002', 1),
    bitsAllocated: int('00280100', 16),
    bitsStored: int('00280101', int('00280100', 16)),
    pixelRepresentation: jsonNumber(ds, '00280103') === 1 ? 1 : 0,
    seriesDescription: jsonString(ds, '0008103E'),
    instanceNumber: jsonNumber(ds, '00200013'),
    imagePositionPatient: numbers('00200032', 3) as [number, number, number] | undefined,
    imageOrientationPatient: numbers('00200037', 6) as [number, number, number, number, number, number] | undefined,
    pixelSpacing: numbers('00280030', 2) as [number, number] | undefined,
  };
}
