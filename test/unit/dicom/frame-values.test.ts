/**
 * Stored values read straight from the cells (stored.ts) and Modality values made on first read
 * (frame-values.ts) give exactly what the definitions give.
 */
import { toDisplayImage } from '../../../src/dicom/display.js';
import { parseDicom } from '../../../src/dicom/parse.js';
import { decodeFrames } from '../../../src/dicom/pixels.js';
import { storedSamples, storedToFloat64, writeRescaled } from '../../../src/dicom/stored.js';
import { daikonFile, pydicomFile, readFixture } from './support/fixtures.js';
import { prng } from '../../support/prng.js';

/** PS3.5 8.1.1 by the book: keep bits HighBit−BitsStored+1 … HighBit, two's complement when signed. */
function storedByDefinition(cell: number, highBit: number, bitsStored: number, signed: boolean): number {
  const unsigned = Math.floor((cell >= 0 ? cell : cell + 2 ** 32) / 2 ** (highBit + 1 - bitsStored)) % 2 ** bitsStored;
  return signed && unsigned >= 2 ** (bitsStored - 1) ? unsigned - 2 ** bitsStored : unsigned;
}


describe('stored values from cells', () => {
  const random = prng(7);
  const cases: [string, (n: number) => ArrayLike<number>, number][] = [
    ['Uint8Array', (n) => Uint8Array.from({ length: n }, () => random() * 256), 8],
    ['Uint16Array', (n) => Uint16Array.from({ length: n }, () => random() * 65536), 16],
    ['Uint32Array', (n) => Uint32Array.from({ length: n }, () => random() * 2 ** 32), 32],
    ['Int8Array', (n) => Int8Array.from({ length: n }, () => random() * 256 - 128), 8],
    ['Int16Array', (n) => Int16Array.from({ length: n }, () => random() * 65536 - 32768), 16],
    ['Int32Array', (n) => Int32Array.from({ length: n }, () => random() * 2 ** 32 - 2 ** 31), 32],
    ['number[]', (n) => Array.from({ length: n }, () => Math.floor(random() * 65536)), 16],
  ];

  it.each(cases)('%s: every BitsStored / HighBit / sign agrees with the definition, rescaled in double precision', (_name, make, width) => {
    const cells = make(64);
    for (const bitsStored of [1, 2, 3, 5, 7, 8, 11, 12, 15, 16, 24, 31, 32].filter((b) => b <= width)) {
      for (const highBit of [bitsStored - 1, width - 1]) {
        for (const signed of [false, true]) {
          const s = storedSamples(cells, 60, highBit, bitsStored, signed);
          const expected = Array.from({ length: 60 }, (_, i) => storedByDefinition(cells[i] as number, highBit, bitsStored, signed));
          expect(Array.from(storedToFloat64(s))).toEqual(expected);
          const rescaled = new Float32Array(60);
          writeRescaled(s, rescaled, 0.37, -1024.5);
          expect(Array.from(rescaled)).toEqual(expected.map((v) => Math.fround(v * 0.37 + -1024.5)));
        }
      }
    }
  });
});

describe('Modality values made on first read', () => {
  it.each([pydicomFile('CT_small.dcm'), pydicomFile('MR_small_bigendian.dcm'), pydicomFile('liver_1frame.dcm'), pydicomFile('SC_rgb_rle.dcm'), daikonFile('jpeg_baseline_8bit.dcm')])(
    '%s: displaying before or after reading values gives the same image, and values are made once',
    (path) => {
      const parsed = parseDicom(readFixture(path));
      const untouched = decodeFrames(parsed)[0];
      const touched = decodeFrames(parsed)[0];
      if (untouched === undefined || touched === undefined) throw new Error('no frame');
      const values = touched.values;
      expect(touched.values).toBe(values);
      for (const spec of [{ kind: 'dicom' }, { kind: 'minmax' }, { kind: 'fixed', center: 100, width: 300 }] as const) {
        expect(toDisplayImage(untouched, spec).data).toEqual(toDisplayImage(touched, spec).data);
      }
      expect(untouched.values).toEqual(values);
      expect(JSON.parse(JSON.stringify({ ...untouched, values: untouched.values.length }))).toMatchObject({ values: values.length });
    },
  );
});
