/**
 * Resizing for model input, separable per axis: box (area) averaging on an axis that shrinks,
 * bilinear interpolation on an axis that grows, a copy on an axis that keeps its size.
 *
 * Area averaging is what the training data used (e.g. 224 → 28 is the mean of each 8×8 block),
 * so on an integral ratio every output pixel must be the exact block mean: the overlaps are
 * then exactly 1 and the sum is divided once by the ratio, in float64.
 *
 * Arithmetic (the same on every path, so results never depend on the path taken): per output
 * value, a float64 sum of weight × sample over the axis's taps in source order, starting from
 * 0, divided by the axis's divisor; the horizontal pass first (into float64), then the vertical
 * pass, rounded once to float32. Speed comes from the structure around it: taps computed once
 * per size pair and cached, loops specialised for one or three channels and for integral
 * ratios (weights of exactly 1 need no multiplication), and a reused float64 scratch buffer.
 */
import type { Image } from './types.js';

/**
 * For each output index: a run of `count[o]` consecutive source pixels from `first[o]`, with
 * their weights from `weight[offset[o]]` on. The weighted sum is divided by `divisor` (the
 * weights sum to it). `unit` marks an integral area ratio: every run is `ratio` pixels long,
 * every weight exactly 1.
 */
interface AxisTaps {
  readonly first: Int32Array;
  readonly offset: Int32Array;
  readonly count: Int32Array;
  readonly weight: Float64Array;
  readonly divisor: number;
  readonly unit: boolean;
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
  const unit = Number.isInteger(scale) && weight.every((w) => w === 1) && count.every((n) => n === scale);
  return { first, offset, count, weight: Float64Array.from(weight), divisor: scale, unit };
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
  return { first, offset, count, weight, divisor: 1, unit: false };
}

/** Taps by (source, target) size; the sizes a service meets are few (model inputs, frame sizes). */
const tapsCache = new Map<number, AxisTaps>();
const TAPS_CACHE_SIZE = 64;

function taps(src: number, dst: number): AxisTaps {
  const key = src * 65536 + dst;
  let t = tapsCache.get(key);
  if (t === undefined) {
    t = dst < src ? areaTaps(src, dst) : bilinearTaps(src, dst);
    if (tapsCache.size >= TAPS_CACHE_SIZE) tapsCache.clear();
    tapsCache.set(key, t);
  }
  return t;
}

/** Float64 scratch for the horizontal pass, reused across calls (resizing is synchronous). */
let scratch = new Float64Array(0);

function scratchOf(length: number): Float64Array {
  if (scratch.length < length) scratch = new Float64Array(Math.max(length, scratch.length * 2));
  return scratch;
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
 * @returns the resized image, interleaved, length `outWidth * outHeight * channels`
 */
function resizeInterleaved(data: Float32Array, width: number, height: number, channels: number, outWidth: number, outHeight: number): Float32Array {
  if (data.length !== width * height * channels) {
    throw new RangeError(`image data has ${data.length} values, expected ${width}×${height}×${channels}`);
  }
  if (width === outWidth && height === outHeight) return data.slice();
  const tx = taps(width, outWidth);
  const ty = taps(height, outHeight);
  // Horizontal pass first: the usual case shrinks a large image, and this pass reads every
  // source value once while the intermediate is already outWidth wide. Float64 keeps the
  // block sums exact enough that the vertical pass still yields the true mean.
  const mid = scratchOf(height * outWidth * channels);
  if (channels === 1) horizontalGrey(data, mid, width, height, outWidth, tx);
  else if (channels === 3) horizontalRgb(data, mid, width, height, outWidth, tx);
  else horizontalAny(data, mid, width, height, outWidth, channels, tx);
  const out = new Float32Array(outHeight * outWidth * channels);
  vertical(mid, out, outWidth * channels, outHeight, ty);
  return out;
}

function horizontalGrey(data: Float32Array, mid: Float64Array, width: number, height: number, outWidth: number, t: AxisTaps): void {
  const { first, offset, count, weight, divisor } = t;
  if (t.unit) {
    const n = divisor;
    for (let y = 0, row = 0, m = 0; y < height; y++, row += width) {
      for (let p = row, end = row + outWidth * n; p < end; p += n) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += data[p + k] as number;
        mid[m++] = acc / divisor;
      }
    }
    return;
  }
  for (let y = 0, row = 0, m = 0; y < height; y++, row += width) {
    for (let o = 0; o < outWidth; o++) {
      const p = row + (first[o] as number);
      const w = offset[o] as number;
      const n = count[o] as number;
      let acc = 0;
      for (let k = 0; k < n; k++) acc += (weight[w + k] as number) * (data[p + k] as number);
      mid[m++] = acc / divisor;
    }
  }
}

function horizontalRgb(data: Float32Array, mid: Float64Array, width: number, height: number, outWidth: number, t: AxisTaps): void {
  const { first, offset, count, weight, divisor } = t;
  const rowLen = width * 3;
  for (let y = 0, row = 0, m = 0; y < height; y++, row += rowLen) {
    for (let o = 0; o < outWidth; o++) {
      let p = row + (first[o] as number) * 3;
      const w = offset[o] as number;
      const n = count[o] as number;
      let r = 0;
      let g = 0;
      let b = 0;
      if (t.unit) {
        for (let k = 0; k < n; k++, p += 3) {
          r += data[p] as number;
          g += data[p + 1] as number;
          b += data[p + 2] as number;
        }
      } else {
        for (let k = 0; k < n; k++, p += 3) {
          const wk = weight[w + k] as number;
          r += wk * (data[p] as number);
          g += wk * (data[p + 1] as number);
          b += wk * (data[p + 2] as number);
        }
      }
      mid[m] = r / divisor;
      mid[m + 1] = g / divisor;
      mid[m + 2] = b / divisor;
      m += 3;
    }
  }
}

function horizontalAny(data: Float32Array, mid: Float64Array, width: number, height: number, outWidth: number, c: number, t: AxisTaps): void {
  const { first, offset, count, weight, divisor } = t;
  for (let y = 0; y < height; y++) {
    const row = y * width * c;
    const midRow = y * outWidth * c;
    for (let o = 0; o < outWidth; o++) {
      const w0 = offset[o] as number;
      const n = count[o] as number;
      const p0 = row + (first[o] as number) * c;
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += (weight[w0 + k] as number) * (data[p0 + k * c + ch] as number);
        mid[midRow + o * c + ch] = acc / divisor;
      }
    }
  }
}

/** Vertical pass over rows of `rowLen` values: one float64 sum per output value, rounded once to float32. */
function vertical(mid: Float64Array, out: Float32Array, rowLen: number, outHeight: number, t: AxisTaps): void {
  const { first, offset, count, weight, divisor } = t;
  for (let oy = 0; oy < outHeight; oy++) {
    const n = count[oy] as number;
    const src = (first[oy] as number) * rowLen;
    const o = oy * rowLen;
    const w = offset[oy] as number;
    if (t.unit) verticalUnit(mid, out, src, o, rowLen, n, divisor);
    else if (n === 2 && divisor === 1) verticalPair(mid, out, src, o, rowLen, weight[w] as number, weight[w + 1] as number);
    else verticalWeighted(mid, out, src, o, rowLen, n, weight, w, divisor);
  }
}

/** Bilinear rows (divisor 1: dividing by it would change nothing, so it is left out). */
function verticalPair(mid: Float64Array, out: Float32Array, src: number, o: number, rowLen: number, w0: number, w1: number): void {
  const next = src + rowLen;
  for (let i = 0; i < rowLen; i++) out[o + i] = 0 + w0 * (mid[src + i] as number) + w1 * (mid[next + i] as number);
}

function verticalUnit(mid: Float64Array, out: Float32Array, src: number, o: number, rowLen: number, n: number, divisor: number): void {
  for (let i = 0; i < rowLen; i++) {
    let acc = 0;
    for (let k = 0, p = src + i; k < n; k++, p += rowLen) acc += mid[p] as number;
    out[o + i] = acc / divisor;
  }
}

function verticalWeighted(mid: Float64Array, out: Float32Array, src: number, o: number, rowLen: number, n: number, weight: Float64Array, w: number, divisor: number): void {
  for (let i = 0; i < rowLen; i++) {
    let acc = 0;
    for (let k = 0, p = src + i; k < n; k++, p += rowLen) acc += (weight[w + k] as number) * (mid[p] as number);
    out[o + i] = acc / divisor;
  }
}
