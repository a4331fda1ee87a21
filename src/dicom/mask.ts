/**
 * A model's probability map (at its input resolution) as a binary mask at the source image's
 * resolution, which is what a SEG frame must be: thresholded, optionally limited to the field of
 * view the measurements counted in, and resampled by nearest neighbour (pixel centres).
 */
import type { Mask } from './seg.js';

/** Values in [0, 1], row-major, `width × height` (what a segmentation model's map holds). */
export interface ProbabilityMap {
  readonly width: number;
  readonly height: number;
  readonly values: Float32Array;
}

/**
 * @param map - the class's probabilities at model resolution
 * @param threshold - inside when the probability is at least this
 * @param size - the source image's Columns (`width`) and Rows (`height`)
 * @param within - optional 0/1 mask at model resolution (the field of view): outside it nothing is inside
 * @throws RangeError when `values` or `within` do not match the map's size
 */
export function maskAtSourceResolution(map: ProbabilityMap, threshold: number, size: { readonly width: number; readonly height: number }, within?: Uint8Array): Mask {
  const { width: mw, height: mh, values } = map;
  if (values.length !== mw * mh || (within !== undefined && within.length !== mw * mh)) throw new RangeError('The map and its field of view must be width × height.');
  const data = new Uint8Array(size.width * size.height);
  for (let y = 0; y < size.height; y++) {
    const my = Math.min(mh - 1, Math.floor(((y + 0.5) * mh) / size.height));
    for (let x = 0; x < size.width; x++) {
      const mx = Math.min(mw - 1, Math.floor(((x + 0.5) * mw) / size.width));
      const i = my * mw + mx;
      data[y * size.width + x] = (values[i] as number) >= threshold && (within === undefined || within[i] === 1) ? 1 : 0;
    }
  }
  return { width: size.width, height: size.height, data };
}
