/**
 * Results back to the PACS (IHE AI Results) against a real Orthanc: the SEG of the vessel masks
 * and the TID 1500 SR of their measurement are stored with STOW-RS into the source study, read
 * back with QIDO-RS and WADO-RS (references checked, the SR read by dsrdump), and stored again:
 * the same UIDs, no new instance.
 */
import { createOriginAllowList } from '../../src/auth/index.js';
import {
  buildMeasurementReport,
  buildSegmentation,
  createDicomWebClient,
  jsonString,
  MEASUREMENT_CODES,
  readSourceHeader,
  segmentDescription,
  UNITS,
} from '../../src/dicom/index.js';
import type { DerivedInstance, DicomWebClient, SegmentationObject, SegmentDescription } from '../../src/dicom/index.js';
import { dciodvfy, dsrdump, missingBinaries } from '../support/dciodvfy.js';
import { startOrthanc } from '../support/orthanc.js';
import type { OrthancServer } from '../support/orthanc.js';
import { fundusPhotograph, STUDY_UID } from '../unit/dicom/support/derived-sources.js';

const MODEL = { id: 'retina-vessels-drive', version: '1.0.0', name: 'Retinal vessel segmentation', manufacturer: 'imaging-cds project' };
const SOURCE_SOP = '1.2.826.0.1.3680043.8.498.7702.3';

const missing = missingBinaries();
if (missing.length > 0) process.stdout.write(`skipped: results to the PACS: ${missing.join(', ')} not installed; run scripts/provision-test-deps.sh\n`);
const describeWithTools = missing.length === 0 ? describe : describe.skip;

describeWithTools('SEG and SR stored to Orthanc with STOW-RS', () => {
  let orthanc: OrthancServer | undefined;
  let client: DicomWebClient;
  let seg: SegmentationObject;
  let sr: DerivedInstance;

  async function countInstances(): Promise<number> {
    const server = orthanc as OrthancServer;
    const res = await fetch(`${server.baseUrl}/statistics`, { headers: { authorization: `Basic ${Buffer.from(`${server.username}:${server.password}`).toString('base64')}` } });
    return ((await res.json()) as { CountInstances: number }).CountInstances;
  }

  beforeAll(async () => {
    orthanc = await startOrthanc();
    const source = fundusPhotograph();
    await orthanc.upload(source);
    client = createDicomWebClient({
      allowList: createOriginAllowList([orthanc.baseUrl]),
      auth: { kind: 'basic', username: orthanc.username, password: orthanc.password },
      timeoutMs: 10_000,
      retries: 1,
      retryBaseDelayMs: 10,
    });
    const data = new Uint8Array(64 * 48).map((_, i) => (i % 64 > 20 && i % 64 < 26 ? 1 : 0));
    const createdAt = new Date('2024-01-05T10:20:30Z');
    seg = buildSegmentation({ sources: [source], segments: [{ description: segmentDescription(MODEL.id, 'vessel') as SegmentDescription, masks: [{ width: 64, height: 48, data }] }], model: MODEL, createdAt });
    sr = buildMeasurementReport({ segmentation: seg, measurements: [{ segmentNumber: 1, name: MEASUREMENT_CODES.fieldOfViewShare, value: 9.4, unit: UNITS.percent }], model: MODEL, createdAt });
  }, 60_000);

  afterAll(async () => {
    await orthanc?.stop();
  });

  it('stores both into the source study', async () => {
    expect((await dciodvfy(seg.part10)).errors).toEqual([]);
    expect((await dciodvfy(sr.part10)).errors).toEqual([]);
    const result = await client.storeInstances((orthanc as OrthancServer).dicomWebRoot, [seg.part10, sr.part10]);
    expect(result.failed).toEqual([]);
    expect(result.stored.map((s) => s.sopInstanceUid).sort()).toEqual([seg.sopInstanceUid, sr.sopInstanceUid].sort());
    expect(await countInstances()).toBe(3);
  });

  it('lists the SEG and SR series in the study (QIDO-RS)', async () => {
    const series = await client.searchSeries((orthanc as OrthancServer).dicomWebRoot, STUDY_UID);
    const byUid = new Map(series.map((s) => [jsonString(s, '0020000E'), jsonString(s, '00080060')]));
    expect(byUid.get(seg.seriesInstanceUid)).toBe('SEG');
    expect(byUid.get(sr.seriesInstanceUid)).toBe('SR');
  });

  it('returns the SEG (WADO-RS) referencing the source image, and the SR referencing the SEG and the source', async () => {
    const root = (orthanc as OrthancServer).dicomWebRoot;
    const segBack = readSourceHeader(await client.retrieveInstance(root, STUDY_UID, seg.seriesInstanceUid, seg.sopInstanceUid));
    expect(segBack.sopInstanceUid).toBe(seg.sopInstanceUid);
    expect(JSON.stringify(segBack.attributes['ReferencedSeriesSequence'])).toContain(SOURCE_SOP);
    expect(JSON.stringify(segBack.attributes['PerFrameFunctionalGroupsSequence'])).toContain(SOURCE_SOP);
    const srBytes = await client.retrieveInstance(root, STUDY_UID, sr.seriesInstanceUid, sr.sopInstanceUid);
    const dump = await dsrdump(srBytes);
    expect(dump).toContain(`(121214,DCM,"Referenced Segmentation Frame")=("1.2.840.10008.5.1.4.1.1.66.4","${seg.sopInstanceUid}",1)`);
    expect(dump).toContain(`(121233,DCM,"Source image for segmentation")=("1.2.840.10008.5.1.4.1.1.77.1.5.1","${SOURCE_SOP}")`);
    expect(dump).toContain('"9.4" (%,UCUM,"Percent")');
  });

  it('stores again idempotently: same UIDs, no new instance', async () => {
    const root = (orthanc as OrthancServer).dicomWebRoot;
    const before = await countInstances();
    const result = await client.storeInstances(root, [seg.part10, sr.part10]);
    expect(result.failed).toEqual([]);
    expect(await countInstances()).toBe(before);
    const segInstances = await client.searchInstances(root, STUDY_UID, seg.seriesInstanceUid);
    expect(segInstances.map((i) => jsonString(i, '00080018'))).toEqual([seg.sopInstanceUid]);
  });
});
