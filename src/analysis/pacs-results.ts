/**
 * Results back to the PACS (IHE AI Results), as seen from the analysis layer: a port that takes a
 * segmentation's masks per source image and its measurements, as plain data, and stores them as
 * a DICOM SEG and a TID 1500 SR in the study (wiring plugs in the dicom layer's builders and
 * STOW-RS). The masks never enter the result cache; the stored objects' UIDs do, so the FHIR
 * DiagnosticReport can name them.
 */
import type { SegmentationResultsInput } from '../dicom/index.js';
import type { ImageMap } from '../inference/index.js';
import type { ModelForReport, PacsObjectsForReport } from '../reports/index.js';
import type { CineStudyResult } from './cine-study.js';
import type { ModelStudyResult, StudyToAnalyse } from './types.js';

/**
 * The segmentation as the dicom layer's builder takes it (masks per source image or frame, with
 * cine phases; measurements by kind), and the model as the report names it.
 */
export type SegmentationForPacs = Omit<SegmentationResultsInput, 'model' | 'reportIdentifier'> & { readonly model: ModelForReport };
type PacsMeasurement = SegmentationResultsInput['measurements'][number];

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
