/**
 * ACDC (`acdc/acdc_val.npz` under the data folder) for the cardiac evaluation and the cardiac
 * tests: each patient's ED and ES stacks with their labels, and an image source that hands them to
 * the service's cine analysis as a cine series of 2 phases (the headers the DICOM layer would read:
 * positions along the normal, orientation, pixel spacing, trigger times). This copy states no
 * voxel spacing, so a fixed one is assumed: EF and Dice do not depend on it, volumes in mL do.
 */
import path from 'node:path';
import type { ImageSource } from '../../src/analysis/index.js';
import { toDisplayImage, type DicomImageInfo, type ModalityFrame } from '../../src/dicom/index.js';
import { readNpz, type NpyArray } from './npz.js';

/** The file under the data folder. */
export const acdcValPath = (dataDir: string): string => path.join(dataDir, 'acdc', 'acdc_val.npz');

/** Assumed geometry, mm (see above). */
export const ACDC_PIXEL_MM = 1.5;
export const ACDC_SLICE_MM = 10;
/** Trigger times given to the ED and ES frames, ms. */
export const ACDC_TRIGGER_MS = [0, 320] as const;

export interface AcdcPatient {
  readonly id: string;
  /** [slices, rows, columns]. */
  readonly shape: readonly [number, number, number];
  readonly ed: Uint16Array;
  readonly es: Uint16Array;
  /** Labels: 0 background, 1 RV cavity, 2 LV myocardium, 3 LV cavity. */
  readonly edLabel: Uint8Array;
  readonly esLabel: Uint8Array;
  /** The data set's LV EF, %. */
  readonly efReference: number;
}

/** Every val patient. @throws Error when the file lacks an array */
export async function readAcdcVal(file: string): Promise<AcdcPatient[]> {
  const z = await readNpz(file);
  const get = (k: string): NpyArray => {
    const a = z.get(k);
    if (a === undefined) throw new Error(`${file} has no ${k}`);
    return a;
  };
  const names = get('patient').data as readonly string[];
  const shapes = get('shape').data as Int32Array;
  const offsets = get('offsets').data as BigInt64Array;
  const [ed, es] = [get('ed_image').data as Uint16Array, get('es_image').data as Uint16Array];
  const [edLabel, esLabel] = [get('ed_label').data as Uint8Array, get('es_label').data as Uint8Array];
  const ef = get('lv_ef').data as Float64Array;
  return names.map((id, i) => {
    const [from, to] = [Number(offsets[i]), Number(offsets[i + 1])];
    return {
      id,
      shape: [shapes[3 * i], shapes[3 * i + 1], shapes[3 * i + 2]] as [number, number, number],
      ed: ed.subarray(from, to),
      es: es.subarray(from, to),
      edLabel: edLabel.subarray(from, to),
      esLabel: esLabel.subarray(from, to),
      efReference: ef[i] as number,
    };
  });
}

/** The header of one slice of one phase (UIDs `<phase>.<slice>` under a fixed root). */
function header(p: AcdcPatient, phase: number, slice: number): DicomImageInfo {
  const [, rows, columns] = p.shape;
  return {
    studyInstanceUid: '2.25.1', seriesInstanceUid: '2.25.1.1', sopInstanceUid: `2.25.1.1.${phase}.${slice}`, sopClassUid: '1.2.840.10008.5.1.4.1.1.4',
    transferSyntaxUid: '1.2.840.10008.1.2.1', modality: 'MR', bodyPartExamined: 'HEART', viewPosition: undefined, imageType: ['ORIGINAL', 'PRIMARY', 'M', 'ND'],
    rows, columns, numberOfFrames: 1, photometricInterpretation: 'MONOCHROME2', samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 16, pixelRepresentation: 0,
    imagePositionPatient: [0, 0, slice * ACDC_SLICE_MM], imageOrientationPatient: [1, 0, 0, 0, 1, 0], pixelSpacing: [ACDC_PIXEL_MM, ACDC_PIXEL_MM],
    triggerTime: ACDC_TRIGGER_MS[phase], temporalPositionIdentifier: phase + 1, numberOfTemporalPositions: 2, patientAge: '045Y',
  };
}

/** One patient as a cine series of 2 phases (ED, ES), decoded as the DICOM layer would decode it. */
export function acdcImageSource(p: AcdcPatient): ImageSource {
  const [slices, rows, columns] = p.shape;
  const plane = rows * columns;
  return {
    listInstances: () => Promise.resolve(Array.from({ length: 2 * slices }, (_, i) => `2.25.1.1.${Math.floor(i / slices)}.${i % slices}`)),
    loadInstance: (_root, _study, _series, sop) => {
      const [phase, slice] = sop.split('.').slice(-2).map(Number) as [number, number];
      const info = header(p, phase, slice);
      const values = Float32Array.from((phase === 0 ? p.ed : p.es).subarray(slice * plane, (slice + 1) * plane));
      const frame: ModalityFrame = { info, frameIndex: 0, rows, columns, samplesPerPixel: 1, values, window: undefined, invert: false };
      return Promise.resolve({ info, frames: [frame] });
    },
    toDisplay: (frame, windowing) => toDisplayImage(frame, windowing),
  };
}
