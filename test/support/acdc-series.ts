/**
 * ACDC validation patients as realistic cine short-axis MR series (16-bit, PixelSpacing, slice
 * positions along the normal, trigger times, ED and ES as two phases), built at test time from
 * `../shared/data/acdc` (research data, never committed or shipped). `root` varies the UIDs so
 * suites can store the same patient as different studies.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ACDC_PIXEL_MM, ACDC_SLICE_MM, ACDC_TRIGGER_MS, acdcValPath, readAcdcVal, type AcdcPatient } from '../../tools/eval/acdc.js';
import { resolveDataDir } from '../../tools/eval/index.js';
import { buildPart10, imageElements, sequenceValue, u16le } from '../unit/dicom/support/part10-builder.js';

export const ACDC_VAL = acdcValPath(resolveDataDir(path.resolve('.')));
export const CARDIAC_ONNX = path.resolve('models', 'cardiac-mri-sax-seg', 'model.onnx');

/** Why the cardiac suites cannot run here (one line naming the missing paths), or undefined. */
export function acdcSkipReason(): string | undefined {
  const missing = [ACDC_VAL, CARDIAC_ONNX].filter((p) => !existsSync(p));
  return missing.length === 0 ? undefined : `not found at ${missing.join(', ')} (ACDC data: IMAGING_CDS_DATA; the model: npm run model:cardiac)`;
}

/** Assumed geometry (this ACDC copy states no spacing; EF is a ratio, so it does not depend on it). */
export const PIXEL_MM = ACDC_PIXEL_MM;
export const SLICE_MM = ACDC_SLICE_MM;
export type Patient = AcdcPatient;

/** The ACDC val patients (tools/eval/acdc.ts reads them for the evaluation too). */
export function valPatients(): Promise<Patient[]> {
  return readAcdcVal(ACDC_VAL);
}

/**
 * The EF errors' MAE and bias beside what the manifest states, printed once with `label`.
 *
 * @param errors - measured − reference EF per patient, percentage points
 */
export function efErrorAgainstManifest(label: string, errors: readonly number[]): { mae: number; bias: number; stated: { mae: number; bias: number } } {
  const mae = errors.reduce((t, e) => t + Math.abs(e), 0) / errors.length;
  const bias = errors.reduce((t, e) => t + e, 0) / errors.length;
  const stated = statedEfError();
  process.stdout.write(`${label}: ${errors.length} val patients, LV EF error MAE ${mae.toFixed(2)}, bias ${bias.toFixed(2)} (manifest, from npm run eval:cardiac: MAE ${stated.mae}, bias ${stated.bias})\n`);
  return { mae, bias, stated };
}

/** The LV EF error the cardiac manifest states (written by npm run eval:cardiac). */
export function statedEfError(): { mae: number; bias: number } {
  const manifest = JSON.parse(readFileSync(path.resolve('models', 'cardiac-mri-sax-seg', 'manifest.json'), 'utf8')) as { metrics: { lvEjectionFraction: { mae: number; bias: number } } };
  return manifest.metrics.lvEjectionFraction;
}

/** One slice of one phase as an MR Image Storage instance. */
export function mrSlice(p: Patient, n: number, phase: number, slice: number, root = '1.2.826.0.1.3680043.8.498.7702'): Uint8Array {
  const [, rows, columns] = p.shape;
  const plane = rows * columns;
  const voxels = (phase === 0 ? p.ed : p.es).subarray(slice * plane, (slice + 1) * plane);
  const uid = (k: number): string => `${root}.${n}.${k}`;
  const own = [
    { tag: 0x00080008, vr: 'CS', value: 'ORIGINAL\\PRIMARY\\M\\ND' },
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.4' },
    { tag: 0x00080018, vr: 'UI', value: uid(1000 + phase * 100 + slice) },
    { tag: 0x00080020, vr: 'DA', value: '20260101' },
    { tag: 0x00080060, vr: 'CS', value: 'MR' },
    { tag: 0x0008103e, vr: 'LO', value: 'SAX cine' },
    { tag: 0x00101010, vr: 'AS', value: '045Y' },
    { tag: 0x00180015, vr: 'CS', value: 'HEART' },
    { tag: 0x00180050, vr: 'DS', value: String(SLICE_MM) },
    { tag: 0x00181060, vr: 'DS', value: String(ACDC_TRIGGER_MS[phase]) },
    { tag: 0x0020000d, vr: 'UI', value: uid(1) },
    { tag: 0x0020000e, vr: 'UI', value: uid(2) },
    { tag: 0x00200013, vr: 'IS', value: String(phase * 100 + slice + 1) },
    { tag: 0x00200032, vr: 'DS', value: `0\\0\\${slice * SLICE_MM}` },
    { tag: 0x00200037, vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
    { tag: 0x00200052, vr: 'UI', value: uid(9) },
    { tag: 0x00200100, vr: 'IS', value: String(phase + 1) },
    { tag: 0x00200105, vr: 'IS', value: '2' },
    { tag: 0x00280030, vr: 'DS', value: `${PIXEL_MM}\\${PIXEL_MM}` },
  ] as const;
  const base = imageElements({ rows, columns, bitsAllocated: 16, bitsStored: 12, pixels: u16le([...voxels]) }).filter((e) => !own.some((o) => o.tag === e.tag));
  return buildPart10([...base, ...own], 'explicit-le');
}


/**
 * The patient's ED and ES stacks as one Enhanced MR Image Storage instance (series `<root>.<n>.3`):
 * frames slice by slice, ED then ES, each placed by its Per-frame Functional Groups (Plane
 * Position, Frame Content TemporalPositionIndex, Cardiac Synchronization trigger delay), with
 * orientation and pixel spacing in the Shared Functional Groups.
 */
export function enhancedCine(p: Patient, n: number, root = '1.2.826.0.1.3680043.8.498.7702'): Uint8Array {
  const [slices, rows, columns] = p.shape;
  const plane = rows * columns;
  const uid = (k: number): string => `${root}.${n}.${k}`;
  const frames: { slice: number; phase: number }[] = [];
  for (let slice = 0; slice < slices; slice++) for (let phase = 0; phase < 2; phase++) frames.push({ slice, phase });
  const pixels = u16le(frames.flatMap(({ slice, phase }) => [...(phase === 0 ? p.ed : p.es).subarray(slice * plane, (slice + 1) * plane)]));
  const shared = sequenceValue([
    [
      { tag: 0x00289110, vr: 'SQ', value: sequenceValue([[{ tag: 0x00280030, vr: 'DS', value: `${PIXEL_MM}\\${PIXEL_MM}` }, { tag: 0x00180050, vr: 'DS', value: String(SLICE_MM) }]]) },
      { tag: 0x00209116, vr: 'SQ', value: sequenceValue([[{ tag: 0x00200037, vr: 'DS', value: '1\\0\\0\\0\\1\\0' }]]) },
    ],
  ]);
  const perFrame = sequenceValue(
    frames.map(({ slice, phase }) => [
      { tag: 0x00189118, vr: 'SQ', value: sequenceValue([[{ tag: 0x00209153, vr: 'FD', value: [ACDC_TRIGGER_MS[phase] ?? 0] }]]) },
      { tag: 0x00209111, vr: 'SQ', value: sequenceValue([[{ tag: 0x00209128, vr: 'UL', value: [phase + 1] }]]) },
      { tag: 0x00209113, vr: 'SQ', value: sequenceValue([[{ tag: 0x00200032, vr: 'DS', value: `0\\0\\${slice * SLICE_MM}` }]]) },
    ]),
  );
  const own = [
    { tag: 0x00080008, vr: 'CS', value: 'ORIGINAL\\PRIMARY\\M\\NONE' },
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.4.1' },
    { tag: 0x00080018, vr: 'UI', value: uid(3000) },
    { tag: 0x00080020, vr: 'DA', value: '20260101' },
    { tag: 0x00080060, vr: 'CS', value: 'MR' },
    { tag: 0x0008103e, vr: 'LO', value: 'SAX cine (enhanced)' },
    { tag: 0x00101010, vr: 'AS', value: '045Y' },
    { tag: 0x00180015, vr: 'CS', value: 'HEART' },
    { tag: 0x0020000d, vr: 'UI', value: uid(1) },
    { tag: 0x0020000e, vr: 'UI', value: uid(3) },
    { tag: 0x00200013, vr: 'IS', value: '1' },
    { tag: 0x00200052, vr: 'UI', value: uid(9) },
    { tag: 0x52009229, vr: 'SQ', value: shared },
    { tag: 0x52009230, vr: 'SQ', value: perFrame },
  ] as const;
  const base = imageElements({ rows, columns, bitsAllocated: 16, bitsStored: 12, frames: frames.length, pixels }).filter((e) => !own.some((o) => o.tag === e.tag));
  return buildPart10([...base, ...own], 'explicit-le');
}
