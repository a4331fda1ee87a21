/**
 * Enhanced multi-frame MR: each frame's position, orientation, spacing and cardiac timing from the
 * Shared and Per-frame Functional Groups, through the image source's own parse and decode.
 */
import { perFrameInfo } from '../../../src/dicom/enhanced-frames.js';
import { loadInstanceFrames } from '../../../src/dicom/load.js';
import { enhancedCine, type Patient } from '../../support/acdc-series.js';
import { buildImage, u16le } from './support/part10-builder.js';

/** 2 slices × 2 phases of 2×2 pixels, values telling frames apart. */
const tiny: Patient = {
  id: 'tiny',
  shape: [2, 2, 2],
  ed: Uint16Array.from([1, 1, 1, 1, 2, 2, 2, 2]),
  es: Uint16Array.from([3, 3, 3, 3, 4, 4, 4, 4]),
  edLabel: new Uint8Array(8),
  esLabel: new Uint8Array(8),
  efReference: 0,
};

describe('perFrameInfo', () => {
  it('places every frame of an enhanced MR image by its functional groups', () => {
    const bytes = enhancedCine(tiny, 0);
    const { info, frames } = loadInstanceFrames(bytes);
    expect(info.numberOfFrames).toBe(4);
    const perFrame = perFrameInfo(bytes, info);
    // Frames slice by slice, ED then ES (test/support/acdc-series.ts).
    expect(perFrame?.map((f) => [f.imagePositionPatient?.[2], f.temporalPositionIdentifier, f.triggerTime])).toEqual([[0, 1, 0], [0, 2, 320], [10, 1, 0], [10, 2, 320]]);
    expect(perFrame?.every((f) => f.pixelSpacing?.join() === '1.5,1.5' && f.imageOrientationPatient?.join() === '1,0,0,0,1,0' && f.numberOfFrames === 1)).toBe(true);
    expect(frames.map((f) => f.values[0])).toEqual([1, 3, 2, 4]);
  });

  it('leaves a classic multi-frame image, or a single frame, to the instance header', () => {
    const classic = buildImage({ rows: 2, columns: 2, bitsAllocated: 16, frames: 2, pixels: u16le([1, 2, 3, 4, 5, 6, 7, 8]) });
    expect(perFrameInfo(classic, loadInstanceFrames(classic).info)).toBeUndefined();
    const single = buildImage({ rows: 2, columns: 2, bitsAllocated: 16, pixels: u16le([1, 2, 3, 4]) });
    expect(perFrameInfo(single, loadInstanceFrames(single).info)).toBeUndefined();
    // Only the enhanced cross-sectional classes are read again: not, say, an ultrasound loop.
    const enhanced = enhancedCine(tiny, 0);
    expect(perFrameInfo(enhanced, { ...loadInstanceFrames(enhanced).info, sopClassUid: '1.2.840.10008.5.1.4.1.1.3.1' })).toBeUndefined();
  });

  it('gives up on a file dcmjs cannot read, rather than failing the load', () => {
    const bytes = enhancedCine(tiny, 0);
    const info = loadInstanceFrames(bytes).info;
    expect(perFrameInfo(bytes.subarray(0, 200), info)).toBeUndefined();
  });
});
