/**
 * Results back to the PACS (IHE AI Results), as seen from the analysis layer: a port that takes a
 * segmentation's masks per source image and its measurements, as plain data, and stores them as
 * a DICOM SEG and a TID 1500 SR in the study (wiring plugs in the dicom layer's builders and
 * STOW-RS). The masks never enter the result cache; the stored objects' UIDs do, so the FHIR
 * DiagnosticReport can name them.
 */
import type { ImageMap } from '../inference/index.js';
import type { ModelForReport, PacsObjectsForReport } from '../reports/index.js';
import type { CineStudyResult } from './cine-study.js';
import type { ModelStudyResult, StudyToAnalyse } from './types.js';

/** What a measurement is, for the SR's concept names (the dicom layer holds the codes). */
export type PacsMeasurementKind = 'fov-share' | 'area' | 'lv-edv' | 'lv-esv' | 'lv-sv' | 'lv-ef' | 'lv-mass' | 'rv-edv' | 'rv-esv' | 'rv-ef';

export interface PacsMeasurement {
  readonly kind: PacsMeasurementKind;
  /** The class the measurement was made on (its segment in the SEG). */
  readonly classKey: string;
  readonly value: number;
}

/** One source image and its 0/1 masks, one plane per class, at the masks' own size. */
export interface MaskedImage {
  readonly sopInstanceUid: string;
  /** 1-based frame of a multi-frame source (an enhanced MR frame). */
  readonly frameNumber?: number | undefined;
  /** 1-based cardiac phase for a cine series (ED and ES images share a slice position). */
  readonly temporalPosition?: number | undefined;
  readonly width: number;
  readonly height: number;
  readonly planes: readonly Uint8Array[];
}

export interface SegmentationForPacs {
  readonly root: string;
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly model: ModelForReport;
  /** Class keys in plane order. */
  readonly classKeys: readonly string[];
  readonly images: readonly MaskedImage[];
  readonly measurements: readonly PacsMeasurement[];
  /** When the analysis finished: the same result gives the same bytes. */
  readonly createdAt: Date;
}

/** Stores a segmentation; undefined when it could not (the reason is logged by the store). */
export interface PacsResultStore {
  store(input: SegmentationForPacs): Promise<PacsObjectsForReport | undefined>;
}

const CINE_KEYS = ['rv_cavity', 'lv_myocardium', 'lv_cavity'] as const;

/** The cine result with its SEG (ED and ES masks) and SR (volumes, EF, mass) stored, when a store is configured. */
export async function withPacsObjects(deps: { readonly pacs?: PacsResultStore | undefined }, study: StudyToAnalyse, cine: CineStudyResult): Promise<ModelStudyResult> {
  const { result } = cine;
  const c = result.cardiac;
  if (deps.pacs === undefined || c === undefined) return result;
  const images = [
    ...cine.cine.edMasks.map((m) => ({ ...m, temporalPosition: c.edPhase })),
    ...cine.cine.esMasks.map((m) => ({ ...m, temporalPosition: c.esPhase })),
  ];
  const measurements: PacsMeasurement[] = [
    { kind: 'lv-edv', classKey: 'lv_cavity', value: c.lvEdvMl },
    { kind: 'lv-esv', classKey: 'lv_cavity', value: c.lvEsvMl },
    { kind: 'lv-sv', classKey: 'lv_cavity', value: c.lvSvMl },
    ...(c.lvEfPercent === undefined ? [] : [{ kind: 'lv-ef' as const, classKey: 'lv_cavity', value: c.lvEfPercent }]),
    { kind: 'lv-mass', classKey: 'lv_myocardium', value: c.lvMassG },
    { kind: 'rv-edv', classKey: 'rv_cavity', value: c.rvEdvMl },
    { kind: 'rv-esv', classKey: 'rv_cavity', value: c.rvEsvMl },
    ...(c.rvEfPercent === undefined ? [] : [{ kind: 'rv-ef' as const, classKey: 'rv_cavity', value: c.rvEfPercent }]),
  ];
  const stored = await deps.pacs.store({
    root: cine.root,
    studyInstanceUid: study.studyInstanceUid,
    seriesInstanceUid: cine.seriesUid,
    model: result.model,
    classKeys: CINE_KEYS,
    images,
    measurements,
    createdAt: new Date(result.analysedAt),
  });
  return stored === undefined ? result : { ...result, pacsObjects: stored };
}

/** A one-image segmentation (retinal vessels) with its SEG and SR stored, when a store is configured. */
export async function withPacsObjectsOfImage(
  deps: { readonly pacs?: PacsResultStore | undefined },
  result: ModelStudyResult,
  at: { readonly root: string; readonly sopInstanceUid: string },
  classMaps: readonly ImageMap[] | undefined,
): Promise<ModelStudyResult> {
  if (deps.pacs === undefined || classMaps === undefined || result.model.task !== 'segmentation' || result.measurements.length !== classMaps.length) return result;
  const first = classMaps[0];
  if (first === undefined) return result;
  const planes = classMaps.map((m) => Uint8Array.from(m.values, (v) => (v >= (m.threshold ?? 0.5) ? 1 : 0)));
  const measurements = result.measurements.flatMap((m): PacsMeasurement[] => [
    { kind: 'fov-share', classKey: m.key, value: m.fractionOfFieldOfView * 100 },
    ...(m.areaMm2 === undefined ? [] : [{ kind: 'area' as const, classKey: m.key, value: m.areaMm2 }]),
  ]);
  const stored = await deps.pacs.store({
    root: at.root,
    studyInstanceUid: result.studyInstanceUid,
    seriesInstanceUid: result.series.seriesInstanceUid,
    model: result.model,
    classKeys: result.measurements.map((m) => m.key),
    images: [{ sopInstanceUid: at.sopInstanceUid, width: first.width, height: first.height, planes }],
    measurements,
    createdAt: new Date(result.analysedAt),
  });
  return stored === undefined ? result : { ...result, pacsObjects: stored };
}
