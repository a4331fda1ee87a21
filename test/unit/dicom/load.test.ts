import { loadInstanceFrames } from '../../../src/dicom/load.js';
import { pydicomFile, readFixture } from './support/fixtures.js';
import { thrown } from './support/thrown.js';

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
