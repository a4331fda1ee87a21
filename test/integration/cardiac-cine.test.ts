/**
 * Cardiac cine MR through the service's own path, with a real Orthanc: the ACDC validation
 * patients wrapped as realistic MR series (16-bit, PixelSpacing, slice positions along the normal,
 * trigger times, ED and ES), stored in Orthanc, fetched over QIDO-RS and WADO-RS, arranged as
 * slices × phases, segmented by `cardiac-mri-sax-seg` and measured. The LV EF agrees with the
 * reference EF as the model card states. ACDC is research data never shipped, and the model is
 * built locally from it (`npm run model:cardiac`): without either this suite skips, saying which.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { analyseCine, type ModelProfile, type ModelRunner } from '../../src/analysis/index.js';
import { createOriginAllowList } from '../../src/auth/index.js';
import { createDicomWebImageSource } from '../../src/dicom/index.js';
import { createInferenceEngine, type InferenceEngine } from '../../src/inference/index.js';
import { resolveDataDir } from '../../tools/eval/index.js';
import { readNpz, type NpyArray } from '../../tools/eval/npz.js';
import { startOrthanc, type OrthancServer } from '../support/orthanc.js';
import { buildPart10, imageElements, u16le } from '../unit/dicom/support/part10-builder.js';

const MODEL = 'cardiac-mri-sax-seg';
const VAL = path.join(resolveDataDir(path.resolve('.')), 'acdc', 'acdc_val.npz');
const ONNX = path.resolve('models', MODEL, 'model.onnx');
const missing = [VAL, ONNX].filter((p) => !existsSync(p));
if (missing.length > 0) process.stdout.write(`skipped: cardiac cine test: not found at ${missing.join(', ')} (ACDC data: IMAGING_CDS_DATA; the model: npm run model:cardiac)\n`);
const describeWithData = missing.length === 0 ? describe : describe.skip;

/** Assumed geometry (this ACDC copy states no spacing; EF is a ratio, so it does not depend on it). */
const PIXEL_MM = 1.5;
const SLICE_MM = 10;
const TRIGGER_MS = [0, 320];

interface Patient {
  readonly id: string;
  readonly shape: readonly [number, number, number];
  readonly ed: Uint16Array;
  readonly es: Uint16Array;
  readonly efReference: number;
}

async function valPatients(): Promise<Patient[]> {
  const z = await readNpz(VAL);
  const get = (k: string): NpyArray => {
    const a = z.get(k);
    if (a === undefined) throw new Error(`${VAL} has no ${k}`);
    return a;
  };
  const names = get('patient').data as readonly string[];
  const shapes = get('shape').data as Int32Array;
  const offsets = get('offsets').data as BigInt64Array;
  const ed = get('ed_image').data as Uint16Array;
  const es = get('es_image').data as Uint16Array;
  const ef = get('lv_ef').data as Float64Array;
  return names.map((id, i) => {
    const from = Number(offsets[i]);
    const to = Number(offsets[i + 1]);
    return { id, shape: [shapes[3 * i], shapes[3 * i + 1], shapes[3 * i + 2]] as [number, number, number], ed: ed.subarray(from, to), es: es.subarray(from, to), efReference: ef[i] as number };
  });
}

/** One slice of one phase as an MR Image Storage instance. */
function mrSlice(p: Patient, n: number, phase: number, slice: number): Uint8Array {
  const [, rows, columns] = p.shape;
  const plane = rows * columns;
  const voxels = (phase === 0 ? p.ed : p.es).subarray(slice * plane, (slice + 1) * plane);
  const uid = (k: number): string => `1.2.826.0.1.3680043.8.498.7702.${n}.${k}`;
  const own = [
    { tag: 0x00080008, vr: 'CS', value: 'ORIGINAL\\PRIMARY\\M\\ND' },
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.4' },
    { tag: 0x00080018, vr: 'UI', value: uid(1000 + phase * 100 + slice) },
    { tag: 0x00080020, vr: 'DA', value: '20260101' },
    { tag: 0x00080060, vr: 'CS', value: 'MR' },
    { tag: 0x0008103e, vr: 'LO', value: 'SAX cine' },
    { tag: 0x00101010, vr: 'AS', value: '045Y' },
    { tag: 0x00180015, vr: 'CS', value: 'HEART' },
    { tag: 0x00181060, vr: 'DS', value: String(TRIGGER_MS[phase]) },
    { tag: 0x0020000d, vr: 'UI', value: uid(1) },
    { tag: 0x0020000e, vr: 'UI', value: uid(2) },
    { tag: 0x00200013, vr: 'IS', value: String(phase * 100 + slice + 1) },
    { tag: 0x00200032, vr: 'DS', value: `0\\0\\${slice * SLICE_MM}` },
    { tag: 0x00200037, vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
    { tag: 0x00200100, vr: 'IS', value: String(phase + 1) },
    { tag: 0x00200105, vr: 'IS', value: '2' },
    { tag: 0x00280030, vr: 'DS', value: `${PIXEL_MM}\\${PIXEL_MM}` },
  ] as const;
  const base = imageElements({ rows, columns, bitsAllocated: 16, bitsStored: 12, pixels: u16le([...voxels]) }).filter((e) => !own.some((o) => o.tag === e.tag));
  return buildPart10([...base, ...own], 'explicit-le');
}

let orthanc: OrthancServer | undefined;
let engine: InferenceEngine | undefined;

afterAll(async () => {
  await engine?.close();
  await orthanc?.stop();
});

describeWithData('cine short-axis MR: LV ejection fraction through the service path', () => {
  it('measures every ACDC validation patient stored in Orthanc with the error the model card states', async () => {
    orthanc = await startOrthanc();
    const patients = await valPatients();
    for (const [n, p] of patients.entries()) for (let phase = 0; phase < 2; phase++) for (let s = 0; s < p.shape[0]; s++) await orthanc.upload(mrSlice(p, n, phase, s));
    engine = await createInferenceEngine({ modelsDir: path.resolve('models'), enabledModels: [MODEL], saliency: 'never' });
    const m = engine.models().find((x) => x.id === MODEL);
    if (m === undefined) throw new Error(`${MODEL} did not load: ${JSON.stringify(engine.status())}`);
    const profile: ModelProfile = {
      model: { id: m.id, version: m.version, name: m.name, manufacturer: m.manufacturer, task: m.task, intendedUse: m.intendedUse, templates: m.templates, performance: '' },
      accepts: m.accepts,
      windowing: m.input.windowing,
    };
    const loaded = engine;
    const models: ModelRunner = { profiles: () => [profile], run: (id, image) => loaded.run(id, image), explain: () => Promise.resolve(undefined) };
    const images = createDicomWebImageSource({ allowList: createOriginAllowList([orthanc.baseUrl]), auth: { kind: 'basic', username: orthanc.username, password: orthanc.password } });
    const errors: number[] = [];
    for (const [n, p] of patients.entries()) {
      const uid = (k: number): string => `1.2.826.0.1.3680043.8.498.7702.${n}.${k}`;
      const result = await analyseCine({ images, models }, profile, { root: orthanc.dicomWebRoot, studyUid: uid(1), seriesUid: uid(2) });
      expect([result.phaseCount, result.sliceCount, result.sliceSpacingMm]).toEqual([2, p.shape[0], SLICE_MM]);
      // ED is the larger LV cavity: the first frame of this copy for every patient.
      expect([result.measures.edPhase, result.measures.esPhase]).toEqual([0, 1]);
      expect(result.measures.lvEdvMl).toBeGreaterThan(0);
      errors.push((result.measures.lvEfPercent ?? Number.NaN) - p.efReference);
    }
    const mae = errors.reduce((s, e) => s + Math.abs(e), 0) / errors.length;
    const bias = errors.reduce((s, e) => s + e, 0) / errors.length;
    process.stdout.write(`cardiac cine: ${errors.length} val patients, LV EF error MAE ${mae.toFixed(2)}, bias ${bias.toFixed(2)} (card, pixels at 128×128: MAE 9.71, bias −8.43)\n`);
    // The card's numbers for what the service counts (pixels at the model's 128×128 input).
    expect(mae).toBeCloseTo(9.71, 0);
    expect(bias).toBeCloseTo(-8.43, 0);
  }, 300_000);
});
