import type { DicomWebClient } from '../../../src/dicom/dicomweb-client.js';
import { fetchSeriesImages, loadInstanceFrames } from '../../../src/dicom/load.js';
import type { DicomJsonDataset } from '../../../src/dicom/types.js';
import { pydicomFile, readFixture } from './support/fixtures.js';
import { buildImage, u16le } from './support/part10-builder.js';
import type { Element } from './support/part10-builder.js';
import { thrown } from './support/thrown.js';

const STUDY = '1.2.826.0.1.3680043.8.498.1';
const SERIES = '1.2.826.0.1.3680043.8.498.2';

function slice(sop: string, z: number, value: number): Uint8Array {
  const extra: Element[] = [
    { tag: 0x00200013, vr: 'IS', value: String(100 - z) },
    { tag: 0x00200032, vr: 'DS', value: `0\\0\\${z}` },
    { tag: 0x00200037, vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
  ];
  const file = buildImage({ rows: 1, columns: 2, bitsAllocated: 16, pixels: u16le([value, value]), extra });
  // The builder's SOP Instance UID is fixed; patch it into this slice's own UID.
  return replaceAscii(file, '1.2.826.0.1.3680043.8.498.3', sop);
}

function replaceAscii(file: Uint8Array, from: string, to: string): Uint8Array {
  if (from.length !== to.length) throw new Error('test helper: replacement must keep the length');
  const out = Uint8Array.from(file);
  const needle = Buffer.from(from, 'latin1');
  let at = Buffer.from(out.buffer).indexOf(needle);
  while (at >= 0) {
    out.set(Buffer.from(to, 'latin1'), at);
    at = Buffer.from(out.buffer).indexOf(needle, at + 1);
  }
  return out;
}

/** A fake PACS neighbour: serves the given files by SOP Instance UID. */
function fakeClient(files: ReadonlyMap<string, Uint8Array>, served: (sop: string) => string = (sop) => sop): DicomWebClient {
  const unused = (): never => {
    throw new Error('not used by fetchSeriesImages');
  };
  return {
    searchInstances: () => Promise.resolve([...files.keys()].map((sop): DicomJsonDataset => ({ '00080018': { vr: 'UI', Value: [sop] } }))),
    retrieveInstance: (_root, _study, _series, sop) => Promise.resolve(files.get(served(sop)) ?? new Uint8Array(0)),
    searchSeries: unused,
    retrieveSeriesMetadata: unused,
    retrieveSeriesInstances: unused,
    retrieveStudyInstances: unused,
  };
}

describe('loadInstanceFrames', () => {
  it('decodes a Node Buffer that sits inside a larger pooled ArrayBuffer', () => {
    const file = readFixture(pydicomFile('CT_small.dcm'));
    const padded = Buffer.alloc(file.byteLength + 100, 0xee);
    file.copy(padded, 37);
    const view = padded.subarray(37, 37 + file.byteLength);
    const fromView = loadInstanceFrames(view);
    const fromCopy = loadInstanceFrames(Uint8Array.from(file).buffer);
    expect(fromView.info).toEqual(fromCopy.info);
    expect(fromView.frames[0]?.values).toEqual(fromCopy.frames[0]?.values);
  });

  it('applies a custom maxPixels limit', () => {
    expect(thrown(() => loadInstanceFrames(readFixture(pydicomFile('CT_small.dcm')), { maxPixels: 1000 }))).toMatchObject({
      code: 'DICOM_TOO_LARGE',
    });
  });
});

describe('fetchSeriesImages', () => {
  const files = new Map([
    ['1.2.826.0.1.3680043.8.498.7', slice('1.2.826.0.1.3680043.8.498.7', 30, 3)],
    ['1.2.826.0.1.3680043.8.498.8', slice('1.2.826.0.1.3680043.8.498.8', 10, 1)],
    ['1.2.826.0.1.3680043.8.498.9', slice('1.2.826.0.1.3680043.8.498.9', 20, 2)],
  ]);

  it('retrieves every instance and orders them along the slice normal', async () => {
    const loaded = await fetchSeriesImages(fakeClient(files), 'http://pacs', STUDY, SERIES, { concurrency: 2 });
    expect(loaded.map((i) => i.info.imagePositionPatient?.[2])).toEqual([10, 20, 30]);
    expect(loaded.map((i) => i.frames[0]?.values[0])).toEqual([1, 2, 3]);
  });

  it('refuses a series with more instances than allowed before retrieving any', async () => {
    await expect(fetchSeriesImages(fakeClient(files), 'http://pacs', STUDY, SERIES, { maxInstances: 2 })).rejects.toMatchObject({
      code: 'DICOM_TOO_LARGE',
      message: 'The series has 3 instances, more than the limit of 2.',
    });
  });

  it('refuses a series that decodes to more samples than allowed', async () => {
    await expect(fetchSeriesImages(fakeClient(files), 'http://pacs', STUDY, SERIES, { maxTotalSamples: 5 })).rejects.toMatchObject({
      code: 'DICOM_TOO_LARGE',
      message: 'The series decodes to more than the limit of 5 samples.',
    });
  });

  it('fails when the PACS returns a different instance than the one requested', async () => {
    const swapped = fakeClient(files, (sop) => (sop.endsWith('.7') ? '1.2.826.0.1.3680043.8.498.8' : sop));
    await expect(fetchSeriesImages(swapped, 'http://pacs', STUDY, SERIES)).rejects.toMatchObject({
      code: 'UPSTREAM_FAILED',
      message: 'The PACS returned a different instance than the one requested.',
    });
  });
});
