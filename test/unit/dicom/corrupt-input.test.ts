import { AppError } from '../../../src/errors.js';
import { parseDicom } from '../../../src/dicom/parse.js';
import { decodeFrames } from '../../../src/dicom/pixels.js';
import { pydicomFile, readFixture } from './support/fixtures.js';
import { buildImage, buildPart10, imageElements } from './support/part10-builder.js';
import { prng } from '../../support/prng.js';

const LIMITS = { maxPixels: 64 * 1024 * 1024, maxInflatedBytes: 1024 * 1024 };

/** Parses and decodes; returns what was thrown (or undefined). */
function attempt(bytes: Uint8Array, limits = LIMITS): unknown {
  try {
    decodeFrames(parseDicom(bytes, limits), limits);
    return undefined;
  } catch (err) {
    return err;
  }
}


describe('corrupt and hostile files get a clear AppError, never a crash', () => {
  it('MR_truncated.dcm: short Pixel Data is DICOM_INVALID, naming both lengths', () => {
    expect(attempt(readFixture(pydicomFile('MR_truncated.dcm')))).toMatchObject({
      name: 'AppError',
      code: 'DICOM_INVALID',
      message: 'Pixel Data holds 8130 bytes, fewer than the 8192 its Rows, Columns, SamplesPerPixel, NumberOfFrames and BitsAllocated declare.',
    });
  });

  it.each([0, 10, 131, 140, 300, 1000, 20000, 39000])('CT_small.dcm cut to %i bytes is DICOM_INVALID', (length) => {
    const bytes = readFixture(pydicomFile('CT_small.dcm')).subarray(0, length);
    expect(attempt(bytes)).toMatchObject({ name: 'AppError', code: 'DICOM_INVALID' });
  });

  it('a file without the DICM prefix is refused before dcmjs sees it', () => {
    const bytes = Uint8Array.from(readFixture(pydicomFile('CT_small.dcm')));
    bytes[131] = 0x58; // 'DICM' → 'DICX'
    expect(attempt(bytes)).toMatchObject({ code: 'DICOM_INVALID', message: "Not a DICOM Part 10 file: the 'DICM' prefix is missing at byte 128." });
  });

  it('a JSON body where DICOM was expected is DICOM_INVALID', () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ resourceType: 'OperationOutcome', issue: [] }).padEnd(400));
    expect(attempt(bytes)).toMatchObject({ code: 'DICOM_INVALID' });
  });

  it('a meta header without a Transfer Syntax UID is DICOM_INVALID', () => {
    expect(attempt(readFixture(pydicomFile('meta_missing_tsyntax.dcm')))).toMatchObject({
      code: 'DICOM_INVALID',
      message: 'The File Meta Information has no Transfer Syntax UID (0002,0010).',
    });
  });

  it('a meta element whose length runs past the end is DICOM_INVALID', () => {
    const bytes = buildImage({ rows: 1, columns: 1, bitsAllocated: 8, pixels: Uint8Array.of(1, 0) });
    new DataView(bytes.buffer).setUint16(132 + 6, 0xfff0, true); // (0002,0000) UL length
    expect(attempt(bytes)).toMatchObject({ code: 'DICOM_INVALID', message: 'The File Meta Information is malformed (bad VR or length).' });
  });

  it('declared 65535 × 65535 with 4 bytes of Pixel Data is DICOM_TOO_LARGE before anything is allocated', () => {
    const bytes = buildImage({ rows: 65535, columns: 65535, bitsAllocated: 16, pixels: new Uint8Array(4) });
    expect(attempt(bytes)).toMatchObject({
      code: 'DICOM_TOO_LARGE',
      message: 'The image declares 65535 × 65535 × 1 samples × 1 frame(s), more than the limit of 67108864 samples.',
    });
  });

  it('the same declaration under a generous limit is DICOM_INVALID: the bytes are not there', () => {
    const bytes = buildImage({ rows: 65535, columns: 65535, bitsAllocated: 16, pixels: new Uint8Array(4) });
    expect(attempt(bytes, { ...LIMITS, maxPixels: Number.MAX_SAFE_INTEGER })).toMatchObject({
      code: 'DICOM_INVALID',
      message: 'Pixel Data holds 4 bytes, fewer than the 8589672450 its Rows, Columns, SamplesPerPixel, NumberOfFrames and BitsAllocated declare.',
    });
  });

  it('an absurd NumberOfFrames is DICOM_TOO_LARGE', () => {
    const bytes = buildImage({ rows: 512, columns: 512, bitsAllocated: 16, frames: 2_000_000_000, pixels: new Uint8Array(16) });
    expect(attempt(bytes)).toMatchObject({ code: 'DICOM_TOO_LARGE' });
  });

  it('a deflate bomb is DICOM_TOO_LARGE once inflation passes maxInflatedBytes', () => {
    const elements = imageElements({ rows: 4096, columns: 4096, bitsAllocated: 8, pixels: new Uint8Array(4096 * 4096) });
    const bytes = buildPart10(elements, 'deflated');
    expect(bytes.byteLength).toBeLessThan(100_000);
    expect(attempt(bytes)).toMatchObject({ code: 'DICOM_TOO_LARGE', message: 'The deflated data set inflates to more than 1048576 bytes.' });
  });

  it('a deflated file whose data set is not deflate data is DICOM_INVALID', () => {
    const bytes = buildPart10(imageElements({ rows: 1, columns: 2, bitsAllocated: 8, pixels: Uint8Array.of(1, 2) }), 'deflated');
    const corrupted = Uint8Array.from(bytes);
    corrupted.fill(0xff, corrupted.byteLength - 20);
    expect(attempt(corrupted)).toMatchObject({ code: 'DICOM_INVALID', message: 'The deflated data set cannot be inflated.' });
  });

  it('300 files with random bytes flipped in the data set either decode or throw an AppError', () => {
    const original = readFixture(pydicomFile('MR_small.dcm'));
    const random = prng(20240611);
    const others: string[] = [];
    let decoded = 0;
    for (let run = 0; run < 300; run++) {
      const bytes = Uint8Array.from(original);
      const flips = 1 + Math.floor(random() * 4);
      for (let i = 0; i < flips; i++) {
        // Headers live in the first ~1 kB; flipping there exercises lengths, VRs and tags.
        const at = 132 + Math.floor(random() * 1200);
        bytes[at] = Math.floor(random() * 256);
      }
      const err = attempt(bytes);
      if (err === undefined) decoded++;
      else if (!(err instanceof AppError && err.code.startsWith('DICOM_'))) others.push(`run ${run}: ${err instanceof Error ? `${err.name}: ${err.message}` : JSON.stringify(err)}`);
    }
    expect(others).toEqual([]);
    // Both outcomes occur, so the loop exercises the error paths and the happy path.
    expect(decoded).toBeGreaterThan(0);
    expect(decoded).toBeLessThan(300);
  });
});
