/** A model-resolution probability map as a SEG mask at the source resolution. */
import { maskAtSourceResolution } from '../../../src/dicom/index.js';

describe('maskAtSourceResolution', () => {
  const map = { width: 2, height: 2, values: Float32Array.of(0.9, 0.1, 0.5, 0.7) };

  it('thresholds and resamples by nearest neighbour', () => {
    const mask = maskAtSourceResolution(map, 0.5, { width: 4, height: 2 });
    expect(Array.from(mask.data)).toEqual([1, 1, 0, 0, 1, 1, 1, 1]);
    expect([mask.width, mask.height]).toEqual([4, 2]);
  });

  it('keeps only the field of view the measurements counted', () => {
    const mask = maskAtSourceResolution(map, 0.5, { width: 2, height: 2 }, Uint8Array.of(1, 1, 0, 1));
    expect(Array.from(mask.data)).toEqual([1, 0, 0, 1]);
  });

  it('refuses a map whose values do not match its size', () => {
    expect(() => maskAtSourceResolution({ width: 3, height: 2, values: new Float32Array(4) }, 0.5, { width: 4, height: 4 })).toThrow(RangeError);
  });
});
