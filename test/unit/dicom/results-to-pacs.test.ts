/**
 * storeSegmentationResults with a fake DICOMweb client (the real Orthanc path is in
 * test/integration/results-to-pacs.test.ts, fundus-hook.test.ts and cardiac-hook.test.ts): masks
 * brought to the source size, one segment per class, the SR's concept names and units, and every
 * refusal an error rather than a silent success.
 */
import type { DicomWebClient } from '../../../src/dicom/dicomweb-client.js';
import dcmjs from 'dcmjs';
import { RESULT_MEASUREMENTS, storeSegmentationResults, type SegmentationResultsInput } from '../../../src/dicom/results-to-pacs.js';
import { enhancedCine, type Patient } from '../../support/acdc-series.js';
import { dciodvfy, missingBinaries } from '../../support/dciodvfy.js';
import { fundusPhotograph, STUDY_UID } from './support/derived-sources.js';

/** A Part 10 file's dataset, keyword-keyed. */
function naturalized(part10: Uint8Array): Record<string, unknown> {
  const bytes = part10.slice();
  const dict = dcmjs.data.DicomMessage.readFile(bytes.buffer);
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
}

const SOURCE_SOP = '1.2.826.0.1.3680043.8.498.7702.3';
const SERIES_UID = '1.2.826.0.1.3680043.8.498.7702.2';

function client(stored: Uint8Array[], refuse = false): DicomWebClient {
  const source = fundusPhotograph();
  return {
    retrieveInstance: (_root: string, _study: string, _series: string, sop: string) => (sop === SOURCE_SOP ? Promise.resolve(source) : Promise.reject(new Error(`no ${sop}`))),
    storeInstances: (_root: string, parts: readonly Uint8Array[]) => {
      stored.push(...parts);
      const entries = parts.map((_, i) => ({ sopClassUid: '1.2.840.10008.5.1.4.1.1.66.4', sopInstanceUid: `2.25.${i}` }));
      return Promise.resolve(refuse ? { stored: [], failed: entries.map((e) => ({ ...e, reason: 272 })) } : { stored: entries, failed: [] });
    },
  } as unknown as DicomWebClient;
}

const input = (over: Partial<SegmentationResultsInput> = {}): SegmentationResultsInput => ({
  root: 'http://pacs/dicom-web',
  studyInstanceUid: STUDY_UID,
  seriesInstanceUid: SERIES_UID,
  model: { id: 'retina-vessels-drive', version: '1.0.0', name: 'Retinal vessel segmentation', manufacturer: 'imaging-cds project' },
  classKeys: ['vessel'],
  // A 4×3 mask over a 64×48 photograph: the top-left quarter... of the mask grid.
  images: [{ sopInstanceUid: SOURCE_SOP, width: 4, height: 3, planes: [Uint8Array.from([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0])] }],
  measurements: [{ kind: 'fov-share', classKey: 'vessel', value: 12.5 }],
  createdAt: new Date('2026-11-23T12:00:00Z'),
  reportIdentifier: 'http://imaging-cds.org/fhir/sid/ai-result|1.2|retina-vessels-drive|1.0.0',
  ...over,
});

describe('storeSegmentationResults', () => {
  it('stores a SEG at the source size and an SR naming the DiagnosticReport, and returns their UIDs', async () => {
    const stored: Uint8Array[] = [];
    const uids = await storeSegmentationResults(client(stored), input());
    expect(stored).toHaveLength(2);
    const [seg, sr] = stored.map((p) => naturalized(p));
    expect([seg?.['SOPInstanceUID'], sr?.['SOPInstanceUID']]).toEqual([uids.segSopInstanceUid, uids.srSopInstanceUid]);
    expect([seg?.['Rows'], seg?.['Columns'], Number(seg?.['NumberOfFrames'])]).toEqual([48, 64, 1]);
    expect(JSON.stringify(sr?.['ContentSequence'])).toContain('identifier http://imaging-cds.org/fhir/sid/ai-result|1.2|retina-vessels-drive|1.0.0');
    // The same input gives the same UIDs: storing again replaces, never duplicates.
    expect(await storeSegmentationResults(client([]), input())).toEqual(uids);
  });

  it('names every cardiac measure with a LOINC or SNOMED CT concept and a UCUM unit', () => {
    for (const kind of ['lv-edv', 'lv-esv', 'lv-ef', 'lv-mass', 'rv-edv', 'rv-esv', 'rv-ef'] as const) expect(RESULT_MEASUREMENTS[kind].name.scheme).toBe('LN');
    expect(RESULT_MEASUREMENTS['lv-sv'].name).toEqual({ value: '90096001', scheme: 'SCT', meaning: 'Stroke Volume' });
    expect(RESULT_MEASUREMENTS['lv-edv'].unit).toEqual({ value: 'ml', scheme: 'UCUM', meaning: 'milliliter' });
    expect(RESULT_MEASUREMENTS['lv-mass'].unit.value).toBe('g');
  });

  it('fails when the PACS refuses the objects, or a class has no segment description', async () => {
    await expect(storeSegmentationResults(client([], true), input())).rejects.toMatchObject({ code: 'UPSTREAM_FAILED' });
    await expect(storeSegmentationResults(client([]), input({ classKeys: ['unknown'], measurements: [] }))).rejects.toThrow(/No segment description/);
    await expect(storeSegmentationResults(client([]), input({ images: [{ sopInstanceUid: '9.9', width: 4, height: 3, planes: [new Uint8Array(12)] }] }))).rejects.toThrow(/no 9\.9/);
  });

  it('references the frames of an enhanced MR source by number, the instance once, and dciodvfy accepts the SEG and SR', async () => {
    const tiny: Patient = { id: 't', shape: [2, 4, 4], ed: new Uint16Array(32).fill(7), es: new Uint16Array(32).fill(9), edLabel: new Uint8Array(32), esLabel: new Uint8Array(32), efReference: 0 };
    const enhanced = enhancedCine(tiny, 0, '1.2.826.0.1.3680043.8.498.7704');
    const sop = '1.2.826.0.1.3680043.8.498.7704.0.3000';
    const stored: Uint8Array[] = [];
    let fetched = 0;
    const pacs = {
      retrieveInstance: () => { fetched += 1; return Promise.resolve(enhanced); },
      storeInstances: (_root: string, parts: readonly Uint8Array[]) => { stored.push(...parts); return Promise.resolve({ stored: parts.map((_, i) => ({ sopClassUid: 'x', sopInstanceUid: String(i) })), failed: [] }); },
    } as unknown as DicomWebClient;
    const plane = (i: number): Uint8Array => Uint8Array.from({ length: 16 }, (_, k) => (k === i ? 1 : 0));
    // Frames 1 and 3 are ED (slices 1, 2), 2 and 4 ES: frames slice by slice, ED then ES.
    const images = [1, 3, 2, 4].map((frameNumber) => ({ sopInstanceUid: sop, frameNumber, temporalPosition: frameNumber % 2 === 1 ? 1 : 2, width: 4, height: 4, planes: [plane(0), plane(5), plane(10)] }));
    await storeSegmentationResults(pacs, input({
      studyInstanceUid: '1.2.826.0.1.3680043.8.498.7704.0.1',
      seriesInstanceUid: '1.2.826.0.1.3680043.8.498.7704.0.3',
      model: { id: 'cardiac-mri-sax-seg', version: '1.0.0', name: 'Cardiac', manufacturer: 'imaging-cds project' },
      classKeys: ['rv_cavity', 'lv_myocardium', 'lv_cavity'],
      images,
      measurements: [{ kind: 'lv-ef', classKey: 'lv_cavity', value: 55 }],
    }));
    expect(fetched).toBe(1);
    const [seg, sr] = stored.map((p) => naturalized(p));
    expect(Number(seg?.['NumberOfFrames'])).toBe(12);
    const perFrame = seg?.['PerFrameFunctionalGroupsSequence'] as { DerivationImageSequence: { SourceImageSequence: { ReferencedFrameNumber: number }[] }[]; PlanePositionSequence: { ImagePositionPatient: unknown[] }[] }[];
    expect(perFrame.slice(0, 4).map((f) => Number(f.DerivationImageSequence[0]?.SourceImageSequence[0]?.ReferencedFrameNumber))).toEqual([1, 3, 2, 4]);
    // Slice 2 of the enhanced image lies 10 mm along the normal.
    expect(perFrame.slice(0, 4).map((f) => Number(f.PlanePositionSequence[0]?.ImagePositionPatient[2]))).toEqual([0, 10, 0, 10]);
    expect(JSON.stringify(seg?.['ReferencedSeriesSequence']).split(sop)).toHaveLength(2);
    if (missingBinaries().length === 0) {
      expect((await dciodvfy(stored[0] as Uint8Array)).errors).toEqual([]);
      expect((await dciodvfy(stored[1] as Uint8Array)).errors).toEqual([]);
    } else {
      process.stdout.write(`skipped: dciodvfy of the enhanced-source SEG: ${missingBinaries().join(', ')} not installed\n`);
    }
    expect(JSON.stringify(sr?.['CurrentRequestedProcedureEvidenceSequence']).split(sop)).toHaveLength(2);
  });
});
