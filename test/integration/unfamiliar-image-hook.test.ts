/**
 * An image of another kind sent to a chest model through the result hook, against a real Orthanc
 * and FHIR server: a colour fundus photograph (DRIVE test image 01) turned grey and labelled as a
 * paediatric AP chest radiograph (DX, CHEST, AP, MONOCHROME2, 565×584) of the stack's 3-year-old
 * passes every header rule, so the chest model runs, and its unfamiliar-image check answers
 * "Unlike the images this model was validated on: review required" on the card, the Observation
 * and the DiagnosticReport. A breast ultrasound image (BreastMNIST, 28×28) labelled the same way
 * is refused before the model runs, by the minimum-size rule.
 *
 * The DICOM files are made at test time from ../shared/data, never committed (DRIVE's terms allow
 * research use, not redistribution).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { DiagnosticReport, FhirResource, Observation } from 'fhir/r4.js';
import { readRgbTiff, resolveDataDir } from '../../tools/eval/index.js';
import { readNpz } from '../../tools/eval/npz.js';
import { validateCdsResponse } from '../../src/cds-hooks/response-schema.js';
import type { CdsCard, CdsResponse } from '../../src/cds-hooks/types.js';
import { parseDicom } from '../../src/dicom/parse.js';
import { validateR4 } from '../support/fhir-validator.js';
import { PATIENT_ID, imagingStudyFor, startStack, type Stack, resultHookBody } from '../support/stack.js';
import { buildPart10, imageElements } from '../unit/dicom/support/part10-builder.js';

const data = resolveDataDir(path.resolve('.'));
const fundusFile = path.join(data, 'drive', 'testing', 'images', '01_test.tif');
const breastFile = path.join(data, 'medmnist', 'breastmnist.npz');
const UNLIKE = 'Unlike the images this model was validated on: review required';
const CHEST_MODEL = 'Paediatric pneumonia classifier, chest radiograph, 28x28';

/** 8-bit grey pixels as a paediatric AP chest radiograph (DX), displayed as v/255 by its window. */
function asChestDx(grey: Uint8Array, rows: number, columns: number, n: number): Uint8Array {
  const uid = (k: number): string => `1.2.826.0.1.3680043.8.498.7702.${n}.${k}`;
  const own = [
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.1.1' },
    { tag: 0x00080018, vr: 'UI', value: uid(3) },
    { tag: 0x00080060, vr: 'CS', value: 'DX' },
    { tag: 0x0020000d, vr: 'UI', value: uid(1) },
    { tag: 0x0020000e, vr: 'UI', value: uid(2) },
    { tag: 0x00180015, vr: 'CS', value: 'CHEST' },
    { tag: 0x00185101, vr: 'CS', value: 'AP' },
    { tag: 0x00281050, vr: 'DS', value: '128' },
    { tag: 0x00281051, vr: 'DS', value: '256' },
    { tag: 0x0008103e, vr: 'LO', value: 'Chest AP' },
  ] as const;
  const base = imageElements({ rows, columns, bitsAllocated: 8, photometric: 'MONOCHROME2', pixels: grey }).filter((e) => !own.some((o) => o.tag === e.tag));
  return buildPart10([...base, ...own], 'explicit-le');
}

/** DRIVE 01_test.tif in BT.601 grey. */
function fundusAsChest(): Uint8Array {
  const rgb = readRgbTiff(readFileSync(fundusFile));
  const grey = new Uint8Array(rgb.width * rgb.height);
  for (let i = 0; i < grey.length; i++) {
    grey[i] = Math.round(255 * (0.299 * (rgb.data[3 * i] as number) + 0.587 * (rgb.data[3 * i + 1] as number) + 0.114 * (rgb.data[3 * i + 2] as number)));
  }
  return asChestDx(grey, rgb.height, rgb.width, 1);
}

/** The first BreastMNIST test image (28×28 grey). */
async function breastAsChest(): Promise<Uint8Array> {
  const x = (await readNpz(breastFile)).get('test_images');
  if (x === undefined || !(x.data instanceof Uint8Array)) throw new Error('breastmnist.npz: no uint8 test_images');
  return asChestDx(x.data.slice(0, 28 * 28), 28, 28, 2);
}

const missing = [fundusFile, breastFile].filter((f) => !existsSync(f));
if (missing.length > 0) process.stdout.write(`skipped: unfamiliar-image hook test: data not found at ${missing.join(', ')}; set IMAGING_CDS_DATA to the data folder (npm run data:check)\n`);
const describeWithData = missing.length === 0 ? describe : describe.skip;

let stack: Stack | undefined;

async function callHook(on: Stack, studyId: string): Promise<readonly CdsCard[]> {
  const res = await request(on.app).post('/cds-services/imaging-ai-result').send(resultHookBody(on.fhir.baseUrl, studyId, undefined, PATIENT_ID));
  expect([res.status, res.status === 200 ? '' : JSON.stringify(res.body)]).toEqual([200, '']);
  expect(validateCdsResponse(res.body)).toEqual([]);
  return (res.body as CdsResponse).cards;
}

function resourcesOf(card: CdsCard): FhirResource[] {
  return (card.suggestions ?? []).flatMap((s) => s.actions ?? []).flatMap((a) => (a.resource === undefined ? [] : [a.resource]));
}

describeWithData('an image of another kind sent to the chest model', () => {
  let fundusCards: readonly CdsCard[] = [];
  let breastCards: readonly CdsCard[] = [];

  beforeAll(async () => {
    const started = await startStack({ files: [], envFor: () => ({ SALIENCY: 'never' }) });
    stack = started;
    const files = { 'fundus-as-chest': fundusAsChest(), 'breast-us-as-chest': await breastAsChest() };
    const studies = [];
    for (const [id, bytes] of Object.entries(files)) {
      await started.orthanc.upload(bytes);
      studies.push(imagingStudyFor(id, parseDicom(bytes).info, 1));
    }
    await started.fhir.seed(studies);
    fundusCards = await callHook(started, 'fundus-as-chest');
    breastCards = await callHook(started, 'breast-us-as-chest');
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('flags a fundus photograph labelled as a chest radiograph: "unlike the images …" first on the card, a warning', () => {
    const card = fundusCards.find((c) => c.source.label.includes(CHEST_MODEL));
    expect(card).toBeDefined();
    expect(card?.summary.startsWith(`${UNLIKE}. Preliminary AI: `)).toBe(true);
    expect(['warning', 'critical']).toContain(card?.indicator);
    expect(card?.detail?.split('\n')[0]).toMatch(new RegExp(`^\\*\\*${UNLIKE}\\. .*\\(Mahalanobis distance \\d+\\.\\d, limit 10\\.1\\)`));
  });

  it('says so in the Observation (Indeterminate with the reason, and a note) and the DiagnosticReport, all valid R4', () => {
    const card = fundusCards.find((c) => c.source.label.includes(CHEST_MODEL)) as CdsCard;
    const resources = resourcesOf(card);
    for (const r of resources) expect({ type: r.resourceType, problems: validateR4(r) }).toEqual({ type: r.resourceType, problems: [] });
    const obs = resources.find((r): r is Observation => r.resourceType === 'Observation');
    expect(obs?.interpretation).toContainEqual({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'IND', display: 'Indeterminate' }], text: UNLIKE });
    expect(obs?.note?.[0]?.text.startsWith(`${UNLIKE}. `)).toBe(true);
    const report = resources.find((r): r is DiagnosticReport => r.resourceType === 'DiagnosticReport');
    expect(report?.conclusion?.startsWith(`${UNLIKE}. `)).toBe(true);
    expect(report?.conclusionCode).toBeUndefined();
  });

  it('refuses a breast ultrasound image labelled as a chest radiograph by rule, before the model runs', () => {
    expect(breastCards).toHaveLength(1);
    expect(breastCards[0]).toMatchObject({ indicator: 'info', summary: 'Imaging AI did not analyse this study (not a finding): outside its validated use' });
    expect(breastCards[0]?.detail).toContain(`Not analysed by ${CHEST_MODEL}`);
    expect(breastCards[0]?.suggestions).toBeUndefined();
  });
});
