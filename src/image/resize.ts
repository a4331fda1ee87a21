/**
 * Resizing for model input, separable per axis: box (area) averaging on an axis that shrinks,
 * bilinear interpolation on an axis that grows, a copy on an axis that keeps its size.
 *
 * Area averaging is what the training data used (e.g. 224 → 28 is the mean of each 8×8 block),
 * so on an integral ratio every output pixel must be the exact block mean: the overlaps are
 * then exactly 1 and the sum is divided once by the ratio, in float64.
 */
import type { Image } from './types.js';

/**
 * For each output index: a run of `count` consecutive source pixels from `first`, with their
 * weights from `weight[offset]` on. The weighted sum is divided by `divisor` (the weights sum
 * to it). Runs are always consecutive, so the hot loop needs no index table.
 */
interface AxisTaps {
  readonly first: Int32Array;
  readonly offset: Int32Array;
  readonly count: Int32Array;
  readonly weight: Float64Array;
  readonly divisor: number;
}

function areaTaps(src: number, dst: number): AxisTaps {
  const scale = src / dst;
  const first = new Int32Array(dst);
  const offset = new Int32Array(dst);
  const count = new Int32Array(dst);
  const weight: number[] = [];
  for (let o = 0; o < dst; o++) {
    // Output pixel o covers source interval [o·scale, (o+1)·scale); the last one ends exactly
    // at src, as (dst · scale) may round just below it.
    const lo = o * scale;
    const hi = o === dst - 1 ? src : Math.min((o + 1) * scale, src);
    let s0 = Math.floor(lo);
    // Skip a pixel the interval only grazes through rounding (overlap ≤ 0).
    if (Math.min(s0 + 1, hi) - Math.max(s0, lo) <= 0) s0++;
    first[o] = s0;
    offset[o] = weight.length;
    for (let s = s0; s < hi; s++) {
      // Raw overlaps, divided once by the scale after summing: for an integral ratio every
      // overlap is exactly 1, so the result is sum / n, the exact block mean.
      weight.push(Math.min(s + 1, hi) - Math.max(s, lo));
    }
    count[o] = weight.length - (offset[o] as number);
  }
  return { first, offset, count, weight: Float64Array.from(weight), divisor: scale };
}

function bilinearTaps(src: number, dst: number): AxisTaps {
  const scale = src / dst;
  const first = new Int32Array(dst);
  const offset = new Int32Array(dst);
  const count = new Int32Array(dst);
  const weight = new Float64Array(dst * 2);
  for (let o = 0; o < dst; o++) {
    // Pixel centres aligned (half-pixel convention, as OpenCV INTER_LINEAR and
    // torch align_corners=False): the image edges map onto each other.
    const x = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), src - 1);
    const x0 = Math.floor(x);
    const f = x - x0;
    first[o] = x0;
    offset[o] = 2 * o;
    // At the last pixel there is no right neighbour (its weight would be 0 anyway).
    count[o] = x0 + 1 < src ? 2 : 1;
    weight[2 * o] = 1 - f;
    weight[2 * o + 1] = f;
  }
  return { first, offset, count, weight, divisor: 1 };
}

function taps(src: number, dst: number): AxisTaps {
  return dst < src ? areaTaps(src, dst) : bilinearTaps(src, dst);
}

/**
 * Resizes an image: area averaging on an axis that shrinks, bilinear on one that grows.
 *
 * @param img - source image, channels interleaved
 * @param width - output width in pixels (positive integer)
 * @param height - output height in pixels (positive integer)
 * @returns a new image (the source is never shared); pixel spacing is scaled with the size
 * @throws RangeError for a non-positive or non-integer size
 */
export function resizeArea(img: Image, width: number, height: number): Image {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`Output size must be positive integers, not ${width} × ${height}.`);
  }
  const data = resizeInterleaved(img.data, img.width, img.height, img.channels, width, height);
  const spacing = img.pixelSpacingMm;
  const pixelSpacingMm = spacing === undefined ? undefined : ([(spacing[0] * img.height) / height, (spacing[1] * img.width) / width] as const);
  return { width, height, channels: img.channels, data, ...(pixelSpacingMm === undefined ? {} : { pixelSpacingMm }) };
}

/**
 * Resizes an interleaved image (`channels` values per pixel, row-major).
 *
 * @param data - source pixels, length `width * height * channels`
 * @param width - source width
 * @param height - source height
 * @param channels - values per pixel
 * @param outWidth - target width
 * @param outHeight - target height
 * @returns the resized image, interleaved, length `outWidth * outHeight * channels`
 */
function resizeInterleaved(
  data: Float32Array,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
): Float32Array {
  if (data.length !== width * height * channels) {
    throw new RangeError(`image data has ${data.length} values, expected ${width}×${height}×${channels}`);
  }
  if (width === outWidth && height === outHeight) return data.slice();
  const tx = taps(width, outWidth);
  const ty = taps(height, outHeight);
  const c = channels;

  // Horizontal pass first: the usual case shrinks a large image, and this pass reads every
  // source value once while the intermediate is already outWidth wide. Float64 keeps the
  // block sums exact enough that the vertical pass still yields the true mean.
  const mid = new Float64Array(height * outWidth * c);
  for (let y = 0; y < height; y++) {
    const row = y * width * c;
    const midRow = y * outWidth * c;
    for (let ox = 0; ox < outWidth; ox++) {
      const w0 = tx.offset[ox] as number;
      const n = tx.count[ox] as number;
      const p0 = row + (tx.first[ox] as number) * c;
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += (tx.weight[w0 + k] as number) * (data[p0 + k * c + ch] as number);
        mid[midRow + ox * c + ch] = acc / tx.divisor;
      }
    }
  }

  const out = new Float32Array(outHeight * outWidth * c);
  const rowLen = outWidth * c;
  const acc = new Float64Array(rowLen); // float64 until the single rounding to float32
  for (let oy = 0; oy < outHeight; oy++) {
    const w0 = ty.offset[oy] as number;
    const n = ty.count[oy] as number;
    const y0 = ty.first[oy] as number;
    acc.fill(0);
    for (let k = 0; k < n; k++) {
      const w = ty.weight[w0 + k] as number;
      const srcRow = (y0 + k) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] = (acc[i] as number) + w * (mid[srcRow + i] as number);
    }
    const outRow = oy * rowLen;
    for (let i = 0; i < rowLen; i++) out[outRow + i] = (acc[i] as number) / ty.divisor;
  }
  return out;
}
