/**
 * SEG and TID 1500 SR built from synthetic sources, checked by independent tools: dicom3tools'
 * dciodvfy (no "Error" line; warnings are printed and must be the known private-scheme ones) and
 * dcmtk's dsrdump (reads the SR's content tree). Read back with dcmjs for the references and bits.
 */
import dcmjs from 'dcmjs';
import { buildMeasurementReport, buildSegmentation, derivedUid, MEASUREMENT_CODES, segmentDescription, UNITS } from '../../../src/dicom/index.js';
import type { Mask, SegmentationObject, SegmentDescription } from '../../../src/dicom/index.js';
import { dciodvfy, dsrdump, missingBinaries } from '../../support/dciodvfy.js';
import { cineSlice, fundusPhotograph, STUDY_UID } from './support/derived-sources.js';

const missing = missingBinaries();
if (missing.length > 0) process.stdout.write(`skipped: derived objects (SEG/SR) validation: ${missing.join(', ')} not installed; run scripts/provision-test-deps.sh\n`);
const describeWithTools = missing.length === 0 ? describe : describe.skip;

const MODEL = { id: 'retina-vessels-drive', version: '1.0.0', name: 'Retinal vessel segmentation', manufacturer: 'imaging-cds project' };
const CREATED = new Date('2024-01-05T10:20:30Z');
const VESSELS = segmentDescription('retina-vessels-drive', 'vessel') as SegmentDescription;

/** A diagonal band of ones, so the packed bits are easy to check. */
function bandMask(width: number, height: number): Mask {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = Math.abs(x - y) < 3 ? 1 : 0;
  return { width, height, data };
}

function read(part10: Uint8Array): Record<string, unknown> {
  const file = dcmjs.data.DicomMessage.readFile(new Uint8Array(part10).buffer);
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.dict);
}

/** dciodvfy finds no error; its warnings, printed, are only the private coding scheme's. */
async function expectValid(part10: Uint8Array, name: string): Promise<void> {
  const report = await dciodvfy(part10);
  if (report.warnings.length > 0) process.stdout.write(`dciodvfy warnings (${name}):\n  ${report.warnings.join('\n  ')}\n`);
  expect({ name, errors: report.errors }).toEqual({ name, errors: [] });
  expect(report.warnings.filter((w) => !w.includes('<99IMGCDS>'))).toEqual([]);
}

function fundusSeg(): SegmentationObject {
  return buildSegmentation({ sources: [fundusPhotograph()], segments: [{ description: VESSELS, masks: [bandMask(64, 48)] }], model: MODEL, createdAt: CREATED });
}

describeWithTools('SEG of a colour fundus photograph (2-D, no Frame of Reference)', () => {
  const seg = fundusSeg();

  it('passes dciodvfy', async () => {
    await expectValid(seg.part10, 'fundus SEG');
  });

  it('is one binary frame of one automatic segment, referencing its source in the same study', () => {
    const ds = read(seg.part10);
    expect(ds).toMatchObject({ Modality: 'SEG', SegmentationType: 'BINARY', StudyInstanceUID: STUDY_UID, PatientID: 'PAT-7702', NumberOfFrames: 1, Rows: 48, Columns: 64, BitsAllocated: 1 });
    expect(ds['FrameOfReferenceUID']).toBeUndefined();
    const segment = (ds['SegmentSequence'] as Record<string, unknown>[])[0];
    expect(segment).toMatchObject({
      SegmentNumber: 1,
      SegmentLabel: 'Retinal blood vessels',
      SegmentAlgorithmType: 'AUTOMATIC',
      SegmentAlgorithmName: 'retina-vessels-drive 1.0.0',
      SegmentedPropertyCategoryCodeSequence: [{ CodeValue: '91723000', CodingSchemeDesignator: 'SCT' }],
      SegmentedPropertyTypeCodeSequence: [{ CodeValue: '59820001', CodingSchemeDesignator: 'SCT' }],
    });
    const series = (ds['ReferencedSeriesSequence'] as Record<string, unknown>[])[0];
    expect(series).toMatchObject({ ReferencedInstanceSequence: [{ ReferencedSOPInstanceUID: '1.2.826.0.1.3680043.8.498.7702.3' }] });
    const frame = (ds['PerFrameFunctionalGroupsSequence'] as Record<string, unknown>[])[0];
    expect(frame).toMatchObject({ DerivationImageSequence: [{ SourceImageSequence: [{ ReferencedSOPInstanceUID: '1.2.826.0.1.3680043.8.498.7702.3' }] }], SegmentIdentificationSequence: [{ ReferencedSegmentNumber: 1 }] });
  });

  it('packs the mask one bit per pixel, first pixel in the least significant bit', () => {
    const pixels = new Uint8Array((read(seg.part10)['PixelData'] as ArrayBuffer[])[0] as ArrayBuffer);
    const mask = bandMask(64, 48).data;
    const unpacked = Array.from(mask, (_, i) => ((pixels[i >> 3] as number) >> (i & 7)) & 1);
    expect(unpacked).toEqual(Array.from(mask));
  });

  it('has deterministic UIDs and bytes: 2.25 UIDs of (study, model@version, kind)', () => {
    const again = fundusSeg();
    expect(Buffer.from(again.part10).equals(Buffer.from(seg.part10))).toBe(true);
    expect(seg.sopInstanceUid).toBe(derivedUid([STUDY_UID, 'retina-vessels-drive@1.0.0', 'seg-instance']));
    expect(seg.sopInstanceUid).toMatch(/^2\.25\.[1-9][0-9]{0,38}$/);
    expect(seg.seriesInstanceUid).not.toBe(seg.sopInstanceUid);
    const other = buildSegmentation({ sources: [fundusPhotograph()], segments: [{ description: VESSELS, masks: [bandMask(64, 48)] }], model: { ...MODEL, version: '1.0.1' }, createdAt: CREATED });
    expect(other.sopInstanceUid).not.toBe(seg.sopInstanceUid);
  });

  it('refuses a mask that is not at the source resolution', () => {
    expect(() => buildSegmentation({ sources: [fundusPhotograph()], segments: [{ description: VESSELS, masks: [bandMask(32, 24)] }], model: MODEL, createdAt: CREATED })).toThrow(RangeError);
  });
});

describeWithTools('TID 1500 Measurement Report on the fundus SEG', () => {
  const seg = fundusSeg();
  const sr = buildMeasurementReport({ segmentation: seg, measurements: [{ segmentNumber: 1, name: MEASUREMENT_CODES.fieldOfViewShare, value: 12.3456, unit: UNITS.percent }], model: MODEL, createdAt: CREATED });

  it('passes dciodvfy', async () => {
    await expectValid(sr.part10, 'fundus SR');
  });

  it('reads in dsrdump as a preliminary device-observed report referencing the SEG frame and the source image', async () => {
    const dump = await dsrdump(sr.part10);
    expect(dump).toContain('Preliminary Flag    : PRELIMINARY');
    expect(dump).toContain('Verification Flag   : UNVERIFIED');
    expect(dump).toContain('<CONTAINER:(126000,DCM,"Imaging Measurement Report")=SEPARATE>');
    expect(dump).toContain('<has obs context CODE:(121005,DCM,"Observer Type")=(121007,DCM,"Device")>');
    expect(dump).toContain('<has obs context TEXT:(121015,DCM,"Device Observer Model Name")="retina-vessels-drive 1.0.0">');
    expect(dump).toContain(`<contains IMAGE:(121214,DCM,"Referenced Segmentation Frame")=("1.2.840.10008.5.1.4.1.1.66.4","${seg.sopInstanceUid}",1)>`);
    expect(dump).toContain('<contains IMAGE:(121233,DCM,"Source image for segmentation")=("1.2.840.10008.5.1.4.1.1.77.1.5.1","1.2.826.0.1.3680043.8.498.7702.3")>');
    expect(dump).toContain('<contains NUM:(fov-share,99IMGCDS,"Share of the field of view")="12.3456" (%,UCUM,"Percent")>');
    expect(dump).toContain('<contains TEXT:(121106,DCM,"Comment")="Preliminary AI output');
  });

  it('lists the SEG and the source as evidence, in the source study and with the source patient', () => {
    const ds = read(sr.part10);
    expect(ds).toMatchObject({ Modality: 'SR', StudyInstanceUID: STUDY_UID, PatientID: 'PAT-7702', CompletionFlag: 'COMPLETE' });
    const evidence = JSON.stringify(ds['CurrentRequestedProcedureEvidenceSequence']);
    expect(evidence).toContain(seg.sopInstanceUid);
    expect(evidence).toContain('1.2.826.0.1.3680043.8.498.7702.3');
    expect(sr.sopInstanceUid).toBe(derivedUid([STUDY_UID, 'retina-vessels-drive@1.0.0', 'sr-instance']));
  });
});

describeWithTools('SEG and SR of cine MR slices (Frame of Reference, slices × phases, 3 segments)', () => {
  const slices = [cineSlice(0, 0), cineSlice(0, 1), cineSlice(1, 0), cineSlice(1, 1)];
  const cardiacModel = { ...MODEL, id: 'cardiac-test', name: 'Cardiac test segmentation' };
  const lv = (label: string, value: string, meaning: string): SegmentDescription => ({ label, category: { value: '91723000', scheme: 'SCT', meaning: 'Anatomical Structure' }, type: { value, scheme: 'SCT', meaning } });
  const descriptions = [lv('LV blood pool', '87878005', 'Left Ventricle'), lv('LV myocardium', '49848007', 'Left Ventricle Myocardium'), lv('RV blood pool', '53085002', 'Right ventricle')];
  const seg = buildSegmentation({
    sources: slices,
    temporalPositions: [1, 2, 1, 2],
    segments: descriptions.map((description) => ({ description, masks: slices.map(() => bandMask(32, 32)) })),
    model: cardiacModel,
    createdAt: CREATED,
  });

  it('shares the Frame of Reference and indexes frames by segment, position and time; passes dciodvfy', async () => {
    expect(seg.frameOfReferenceUid).toBe('1.2.826.0.1.3680043.8.498.7703.9');
    expect(seg.frames).toHaveLength(12);
    const ds = read(seg.part10);
    const perFrame = ds['PerFrameFunctionalGroupsSequence'] as Record<string, unknown>[];
    expect(perFrame.map((f) => (f['FrameContentSequence'] as Record<string, unknown>[])[0]?.['DimensionIndexValues'])).toEqual(
      [1, 2, 3].flatMap((s) => [[s, 1, 1], [s, 1, 2], [s, 2, 1], [s, 2, 2]]),
    );
    expect(perFrame[2]).toMatchObject({ PlanePositionSequence: [{ ImagePositionPatient: [-100, -100, 8] }] });
    await expectValid(seg.part10, 'cine SEG');
  });

  it('reports one TID 1411 group per segment, referencing the whole segment; passes dciodvfy and dsrdump', async () => {
    const sr = buildMeasurementReport({
      segmentation: seg,
      measurements: [1, 2, 3].map((n) => ({ segmentNumber: n, name: MEASUREMENT_CODES.area, value: 100 * n, unit: UNITS.squareMillimetre })),
      model: cardiacModel,
      createdAt: CREATED,
    });
    await expectValid(sr.part10, 'cine SR');
    const dump = await dsrdump(sr.part10);
    expect(dump.match(/Referenced Segment"\)=/g)).toHaveLength(3);
    expect(dump).toContain('<contains NUM:(42798000,SCT,"Area")="300" (mm2,UCUM,"square millimeter")>');
  });
});
