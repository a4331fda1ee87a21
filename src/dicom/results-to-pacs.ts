/**
 * Results back to the PACS (IHE AI Results): a segmentation's masks, per source image, become a
 * DICOM SEG, and its measurements a TID 1500 SR on that SEG; both go to the study's DICOMweb root
 * with STOW-RS. The source instances are retrieved again (their headers are copied and
 * referenced; a multi-frame source's frames by number); masks are resampled to each source's Rows × Columns. UIDs are derived from study
 * and model, so storing the same result again replaces nothing and duplicates nothing.
 */
import { AppError } from '../errors.js';
import type { Code, ModelIdentity, SourceHeader } from './derived.js';
import { readSourceHeader } from './derived.js';
import { frameHeader } from './enhanced-frames.js';
import type { DicomWebClient } from './dicomweb-client.js';
import { maskAtSourceResolution } from './mask.js';
import { buildSegmentation } from './seg.js';
import { segmentDescription } from './segment-codes.js';
import { buildMeasurementReport, MEASUREMENT_CODES, PRELIMINARY_AI_TEXT, UNITS } from './sr.js';
import type { SegmentMeasurement } from './sr.js';

/** What a measurement is; each kind has its concept name and unit below. */
export type ResultMeasurementKind = 'fov-share' | 'area' | 'lv-edv' | 'lv-esv' | 'lv-sv' | 'lv-ef' | 'lv-mass' | 'rv-edv' | 'rv-esv' | 'rv-ef';

export interface SegmentationResultsInput {
  readonly root: string;
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly model: ModelIdentity;
  /** Class keys in plane order; each needs a segment description (segment-codes.ts). */
  readonly classKeys: readonly string[];
  /** Source images with one 0/1 plane per class at `width × height`, and a cine phase when there is one. */
  readonly images: readonly {
    readonly sopInstanceUid: string;
    /** 1-based frame of a multi-frame source (an enhanced MR frame); absent for a single-frame image. */
    readonly frameNumber?: number | undefined;
    readonly temporalPosition?: number | undefined;
    readonly width: number;
    readonly height: number;
    readonly planes: readonly Uint8Array[];
  }[];
  readonly measurements: readonly { readonly kind: ResultMeasurementKind; readonly classKey: string; readonly value: number }[];
  readonly createdAt: Date;
  /** The FHIR DiagnosticReport's business identifier (`system|value`), named in the SR's comment. */
  readonly reportIdentifier?: string | undefined;
}

export interface StoredResultObjects {
  readonly segSeriesInstanceUid: string;
  readonly segSopInstanceUid: string;
  readonly srSeriesInstanceUid: string;
  readonly srSopInstanceUid: string;
}

const ln = (value: string, meaning: string): Code => ({ value, scheme: 'LN', meaning });
const MILLILITRE: Code = { value: 'ml', scheme: 'UCUM', meaning: 'milliliter' };
const GRAM: Code = { value: 'g', scheme: 'UCUM', meaning: 'gram' };

/**
 * Concept names and units. The cardiac ones are the LOINC and SNOMED CT concepts PS3.16 lists for
 * ventricular volumes, ejection fraction and mass (CIDs 3468, 3469, 3833, 12200, 12202, 12203).
 */
export const RESULT_MEASUREMENTS: Readonly<Record<ResultMeasurementKind, { readonly name: Code; readonly unit: Code }>> = {
  'fov-share': { name: MEASUREMENT_CODES.fieldOfViewShare, unit: UNITS.percent },
  area: { name: MEASUREMENT_CODES.area, unit: UNITS.squareMillimetre },
  'lv-edv': { name: ln('18026-5', 'Left Ventricular End Diastolic Volume'), unit: MILLILITRE },
  'lv-esv': { name: ln('18148-7', 'Left Ventricular End Systolic Volume'), unit: MILLILITRE },
  'lv-sv': { name: { value: '90096001', scheme: 'SCT', meaning: 'Stroke Volume' }, unit: MILLILITRE },
  'lv-ef': { name: ln('8811-2', 'Left ventricular ejection fraction by MR'), unit: UNITS.percent },
  'lv-mass': { name: ln('18087-7', 'Left Ventricle Mass'), unit: GRAM },
  'rv-edv': { name: ln('8822-9', 'Right Ventricular ED Volume'), unit: MILLILITRE },
  'rv-esv': { name: ln('8824-5', 'Right Ventricular ES Volume'), unit: MILLILITRE },
  'rv-ef': { name: ln('8818-7', 'Right ventricular ejection fraction by MR'), unit: UNITS.percent },
};

/**
 * Builds and stores the SEG and SR of one segmentation result.
 *
 * @param client - the DICOMweb client (allow-list, auth, byte caps)
 * @param input - the masks and measurements
 * @throws AppError UPSTREAM_FAILED when the PACS refuses an object; the client's errors otherwise
 */
export async function storeSegmentationResults(client: DicomWebClient, input: SegmentationResultsInput): Promise<StoredResultObjects> {
  const headers: SourceHeader[] = [];
  // Each instance once, however many of its frames are sources.
  const read = new Map<string, SourceHeader>();
  for (const image of input.images) {
    let header = read.get(image.sopInstanceUid);
    if (header === undefined) {
      header = readSourceHeader(await client.retrieveInstance(input.root, input.studyInstanceUid, input.seriesInstanceUid, image.sopInstanceUid));
      read.set(image.sopInstanceUid, header);
    }
    if (image.frameNumber === undefined) {
      headers.push(header);
      continue;
    }
    const frame = frameHeader(header, image.frameNumber);
    if (frame === undefined) throw new AppError('DICOM_UNSUPPORTED', `Frame ${image.frameNumber} of a source instance has no functional groups to reference it by.`);
    headers.push(frame);
  }
  const segments = input.classKeys.map((key, c) => {
    const description = segmentDescription(input.model.id, key);
    if (description === undefined) throw new RangeError(`No segment description for ${input.model.id} class ${key}.`);
    return {
      description,
      masks: input.images.map((image, i) => {
        const h = headers[i] as SourceHeader;
        const plane = image.planes[c] ?? new Uint8Array(image.width * image.height);
        return maskAtSourceResolution({ width: image.width, height: image.height, values: Float32Array.from(plane) }, 0.5, { width: h.columns, height: h.rows });
      }),
    };
  });
  const cine = input.images.every((i) => i.temporalPosition !== undefined);
  const seg = buildSegmentation({
    sources: headers,
    segments,
    model: input.model,
    createdAt: input.createdAt,
    ...(cine ? { temporalPositions: input.images.map((i) => i.temporalPosition as number) } : {}),
  });
  const measurements: SegmentMeasurement[] = input.measurements.map((m) => ({ segmentNumber: input.classKeys.indexOf(m.classKey) + 1, ...RESULT_MEASUREMENTS[m.kind], value: m.value }));
  const sr = buildMeasurementReport({
    segmentation: seg,
    measurements,
    model: input.model,
    createdAt: input.createdAt,
    comment: input.reportIdentifier === undefined ? PRELIMINARY_AI_TEXT : `${PRELIMINARY_AI_TEXT} The same result as a FHIR DiagnosticReport: identifier ${input.reportIdentifier}.`,
  });
  const stored = await client.storeInstances(input.root, [seg.part10, sr.part10]);
  if (stored.failed.length > 0) throw new AppError('UPSTREAM_FAILED', `The PACS refused ${stored.failed.length} of the 2 result objects (STOW-RS).`);
  return { segSeriesInstanceUid: seg.seriesInstanceUid, segSopInstanceUid: seg.sopInstanceUid, srSeriesInstanceUid: sr.seriesInstanceUid, srSopInstanceUid: sr.sopInstanceUid };
}
