/**
 * Image → model tensor, exactly as models/MANIFEST.md specifies and training fed the model:
 * [0, 1] interleaved pixels → resize to width×height (`area`: stretched; `fov-diameter`: scaled
 * to the training field-of-view size and padded or cropped, fov-geometry.ts) → channel
 * conversion → `(v − mean) / std` → float32 planar CHW (one batch item of the NCHW tensor).
 */
import { AppError } from '../errors.js';
import { placementFor, toModelGeometry } from './fov-geometry.js';
import type { ManifestInput } from './manifest.js';
import { resizeArea } from '../image/index.js';
import type { Image } from '../image/index.js';

/** ITU-R BT.601 luma weights (R, G, B), the conversion most grey-scale training sets used. */
export const BT601 = [0.299, 0.587, 0.114] as const;

/** What preprocessing needs from the manifest's `input`. */
export type PreprocessSpec = Pick<ManifestInput, 'width' | 'height' | 'channels' | 'normalization'> & Partial<Pick<ManifestInput, 'resize' | 'fieldOfView'>>;

function checkImage(image: Image): void {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`image size must be positive integers, got ${width}×${height}`);
  }
  if (!([1, 3] as number[]).includes(channels)) throw new RangeError(`image channels must be 1 or 3, got ${String(channels)}`);
  if (data.length !== width * height * channels) {
    throw new RangeError(`image data has ${data.length} values, expected ${width}×${height}×${channels}`);
  }
}

/**
 * Builds one batch item for a model.
 *
 * Resizing runs before the channel conversion: both are linear, so the order does not change
 * the result beyond rounding, and converting the small image is cheaper.
 *
 * @param image - display-ready pixels in [0, 1], interleaved
 * @param spec - the manifest's input section
 * @returns float32 CHW, length `channels × height × width`
 * @throws RangeError when the image's size and data disagree (a bug upstream, not bad input)
 * @throws AppError IMAGE_UNSUITABLE when a pixel is not a finite number (e.g. a corrupt Rescale
 *   Slope overflowed): a model fed NaN answers with a confident, meaningless probability
 */
export function preprocess(image: Image, spec: PreprocessSpec): Float32Array {
  checkImage(image);
  const { width, height, channels, normalization } = spec;
  const resized = (spec.resize === 'fov-diameter' ? toModelGeometry(image, placementFor(image, spec), spec) : resizeArea(image, width, height)).data;
  const plane = width * height;
  const out = new Float32Array(channels * plane);
  const src = image.channels;

  for (let c = 0; c < channels; c++) {
    const mean = normalization.mean[c] as number;
    const std = normalization.std[c] as number;
    const base = c * plane;
    for (let i = 0; i < plane; i++) {
      let v: number;
      if (src === channels) v = resized[i * src + c] as number;
      else if (src === 1) v = resized[i] as number; // grey → RGB: the same value in every channel
      else v = BT601[0] * (resized[i * 3] as number) + BT601[1] * (resized[i * 3 + 1] as number) + BT601[2] * (resized[i * 3 + 2] as number);
      const value = (v - mean) / std;
      if (!Number.isFinite(value)) {
        throw new AppError('IMAGE_UNSUITABLE', 'The image has pixel values that are not finite numbers (e.g. a corrupt Rescale Slope); it was not analysed.');
      }
      out[base + i] = value;
    }
  }
  return out;
}
