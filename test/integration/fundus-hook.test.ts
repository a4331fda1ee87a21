/**
 * A real colour fundus photograph (DRIVE test image 01, stored as an 8-bit RGB Ophthalmic
 * Photography DICOM built here from the data set's TIFF) through the result hook against a real
 * Orthanc and FHIR server: both eye models run on it, the vessel segmentation model answers with
 * a measurement card, its Observation and an overlay PNG, and the referable-DR classifier with
 * its finding. The vessel share of the field of view is checked against the first observer's
 * manual annotation of the same image.
 *
 * The DICOM is made at test time from ../shared/data rather than committed: DRIVE's terms allow
 * research use, not redistribution in this repository.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decode as decodePng } from 'fast-png';
import request from 'supertest';
import type { DiagnosticReport, FhirResource, Observation } from 'fhir/r4.js';
import { readMaskGif, readRgbTiff, resolveDataDir } from '../../tools/eval/index.js';
import { sampleImagingStudy } from '../../src/cli/sample-fhir.js';
import { validateCdsResponse } from '../../src/cds-hooks/response-schema.js';
import type { CdsCard, CdsResponse } from '../../src/cds-hooks/types.js';
import { createOriginAllowList } from '../../src/auth/index.js';
import { createDicomWebClient, jsonString, parseDicom, readSourceHeader } from '../../src/dicom/index.js';
import { dciodvfy, dsrdump } from '../support/dciodvfy.js';
import { validateR4 } from '../support/fhir-validator.js';
import { ADULT_PATIENT_ID, NOW, startStack, type Stack, resultHookBody } from '../support/stack.js';
import { buildPart10, imageElements } from '../unit/dicom/support/part10-builder.js';

const drive = path.join(resolveDataDir(path.resolve('.')), 'drive', 'testing');
const STUDY_ID = 'fundus-drive-01';

/** DRIVE 01_test.tif as an Ophthalmic Photography 8 Bit Image (no Pixel Spacing: DRIVE states none). */
function fundusDicom(): Uint8Array {
  const rgb = readRgbTiff(readFileSync(path.join(drive, 'images', '01_test.tif')));
  const pixels = Uint8Array.from(rgb.data, (v) => Math.round(v * 255));
  const uid = (n: number): string => `1.2.826.0.1.3680043.8.498.7701.${n}`;
  const own = [
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.77.1.5.1' },
    { tag: 0x00080018, vr: 'UI', value: uid(3) },
    { tag: 0x00080060, vr: 'CS', value: 'OP' },
    { tag: 0x0020000d, vr: 'UI', value: uid(1) },
    { tag: 0x0020000e, vr: 'UI', value: uid(2) },
    { tag: 0x00180015, vr: 'CS', value: 'EYE' },
    { tag: 0x0008103e, vr: 'LO', value: 'Colour fundus photograph' },
  ] as const;
  // The builder's identification defaults give way to ours: one value per tag.
  const base = imageElements({ rows: rgb.height, columns: rgb.width, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'RGB', pixels }).filter((e) => !own.some((o) => o.tag === e.tag));
  return buildPart10([...base, ...own], 'explicit-le');
}

// DRIVE is research data that is never shipped: without it this suite skips, and says so once.
const haveDrive = existsSync(drive);
if (!haveDrive) process.stdout.write(`skipped: fundus hook test: data not found at ${drive}; set IMAGING_CDS_DATA to the data folder (npm run data:check)\n`);
const describeWithData = haveDrive ? describe : describe.skip;

let stack: Stack | undefined;
let bytes: Uint8Array;

async function setUp(): Promise<Stack> {
  // Segmentation results go back to the PACS too (SEG + SR, checked below).
  const started = await startStack({ files: [], env: { PACS_WRITE_BACK: 'true' } });
  stack = started;
  bytes = fundusDicom();
  await started.orthanc.upload(bytes);
  const info = parseDicom(bytes).info;
  const study = sampleImagingStudy(info, { id: STUDY_ID, patientId: ADULT_PATIENT_ID, endpointId: 'orthanc', started: NOW.toISOString(), description: 'Fundus photography' });
  await started.fhir.seed([study]);
  return started;
}

async function callHook(on: Stack): Promise<CdsResponse> {
  const res = await request(on.app).post('/cds-services/imaging-ai-result').send(resultHookBody(on.fhir.baseUrl, STUDY_ID, undefined, ADULT_PATIENT_ID));
  expect([res.status, res.status === 200 ? '' : JSON.stringify(res.body)]).toEqual([200, '']);
  expect(validateCdsResponse(res.body)).toEqual([]);
  return res.body as CdsResponse;
}

function resourcesOf(card: CdsCard): FhirResource[] {
  return (card.suggestions ?? []).flatMap((s) => s.actions ?? []).flatMap((a) => (a.resource === undefined ? [] : [a.resource]));
}

describeWithData('fundus photograph through the result hook', () => {
  let cards: readonly CdsCard[] = [];
  beforeAll(async () => {
    cards = (await callHook(await setUp())).cards;
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers with one card per eye model, every resource valid R4', () => {
    expect(cards.map((c) => c.source.label).sort()).toEqual([expect.stringContaining('Referable diabetic retinopathy'), expect.stringContaining('Retinal vessel segmentation')]);
    for (const card of cards) {
      for (const r of resourcesOf(card)) expect({ type: r.resourceType, problems: validateR4(r) }).toEqual({ type: r.resourceType, problems: [] });
    }
  });

  it('measures the vessel share of the field of view close to the first observer on the same image', () => {
    const card = cards.find((c) => c.source.label.includes('Retinal vessel segmentation'));
    expect(card?.indicator).toBe('info');
    expect(card?.summary).toMatch(/^Preliminary AI measurement: retinal blood vessels \d+\.\d% of field of view; needs confirmation$/);
    const obs = resourcesOf(card as CdsCard).find((r): r is Observation => r.resourceType === 'Observation');
    const measured = (obs?.valueQuantity?.value ?? Number.NaN) / 100;
    // The observer's share inside DRIVE's own field-of-view mask.
    const fov = readMaskGif(readFileSync(path.join(drive, 'mask', '01_test_mask.gif'))).mask;
    const manual = readMaskGif(readFileSync(path.join(drive, '1st_manual', '01_manual1.gif'))).mask;
    let inside = 0;
    let vessel = 0;
    fov.forEach((f, i) => {
      inside += f;
      if (f === 1 && manual[i] === 1) vessel += 1;
    });
    expect(Math.abs(measured - vessel / inside)).toBeLessThan(0.03);
    // The manifest's measurement error travels with the value (retina-vessels-drive: test MAE 1.7 points).
    expect(obs?.note?.[1]?.text).toMatch(/^Measurement error of this share: ±1\.7 percentage points \(mean absolute error against a manual annotation; on average 1\.6 points lower; /);
    expect(card?.detail).toContain('- Measurement error (Retinal blood vessels): ±1.7 percentage points');
    // No Pixel Spacing in the file: no area is claimed.
    expect(obs?.component?.map((c) => c.code.coding?.[0]?.code)).toEqual(['ai-decision-threshold', 'ai-field-of-view-fraction']);
  });

  it('attaches the segmentation overlay as a PNG the size a viewer shows whole', () => {
    const card = cards.find((c) => c.source.label.includes('Retinal vessel segmentation'));
    const report = resourcesOf(card as CdsCard).find((r): r is DiagnosticReport => r.resourceType === 'DiagnosticReport');
    const png = report?.presentedForm?.find((f) => f.contentType === 'image/png');
    expect(png?.title).toMatch(/^AI segmentation overlay: Retinal blood vessels/);
    const image = decodePng(Buffer.from(png?.data ?? '', 'base64'));
    // 565×584 shrunk so the longer side is 512.
    expect([image.width, image.height, image.channels]).toEqual([495, 512, 3]);
  });

  it('stores the vessel mask as a DICOM SEG and its measurement as an SR in the study, both valid, the report naming the SR', async () => {
    const on = stack as Stack;
    const client = createDicomWebClient({ allowList: createOriginAllowList([on.orthanc.baseUrl]), auth: { kind: 'basic', username: on.orthanc.username, password: on.orthanc.password }, timeoutMs: 10_000 });
    const studyUid = '1.2.826.0.1.3680043.8.498.7701.1';
    const series = await client.searchSeries(on.orthanc.dicomWebRoot, studyUid);
    const uidOf = (modality: string): string => jsonString(series.find((x) => jsonString(x, '00080060') === modality) ?? {}, '0020000E') ?? '';
    const fetchOne = async (seriesUid: string): Promise<{ sop: string; bytes: Uint8Array }> => {
      const [instance] = await client.searchInstances(on.orthanc.dicomWebRoot, studyUid, seriesUid);
      const sop = jsonString(instance ?? {}, '00080018') ?? '';
      return { sop, bytes: await client.retrieveInstance(on.orthanc.dicomWebRoot, studyUid, seriesUid, sop) };
    };
    const seg = await fetchOne(uidOf('SEG'));
    const sr = await fetchOne(uidOf('SR'));
    expect((await dciodvfy(seg.bytes)).errors).toEqual([]);
    expect((await dciodvfy(sr.bytes)).errors).toEqual([]);
    // One frame at the photograph's own size, referencing it.
    const header = readSourceHeader(seg.bytes);
    expect([Number(header.attributes['NumberOfFrames']), header.rows, header.columns]).toEqual([1, 584, 565]);
    expect(JSON.stringify(header.attributes['ReferencedSeriesSequence'])).toContain('1.2.826.0.1.3680043.8.498.7701.3');
    expect(await dsrdump(sr.bytes)).toContain('(fov-share,99IMGCDS,"Share of the field of view")');
    const card = cards.find((c) => c.source.label.includes('Retinal vessel segmentation'));
    const report = resourcesOf(card as CdsCard).find((r): r is DiagnosticReport => r.resourceType === 'DiagnosticReport');
    expect(report?.identifier).toContainEqual({ system: 'urn:dicom:uid', value: `urn:oid:${sr.sop}` });
  });
});
