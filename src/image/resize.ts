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
 * per size pair and cached, the horizontal pass run column by column over blocks of rows (each
 * column's taps stay in registers), loops unrolled for runs of two and three taps (each
 * output of a shrink below 2× or a bilinear enlargement), and a reused float64 scratch.
 */
import type { Image } from './types.js';

/**
 * For each output index: a run of `count[o]` consecutive source pixels from `first[o]`, with
 * their weights from `weight[offset[o]]` on. The weighted sum is divided by `divisor` (the
 * weights sum to it).
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
  // Horizontal pass first: the usual case shrinks a large image, and this pass reads every
  // source value once while the intermediate is already outWidth wide. Float64 keeps the
  // block sums exact enough that the vertical pass still yields the true mean.
  const mid = scratchOf(height * outWidth * channels);
  horizontal(data, mid, width * channels, height, outWidth, channels, taps(width, outWidth));
  const out = new Float32Array(outHeight * outWidth * channels);
  vertical(mid, out, outWidth * channels, outHeight, taps(height, outHeight));
  return out;
}

/** Source rows handled together by the horizontal pass: each output column's taps are loaded once per block. */
const ROW_BLOCK = 16;

/**
 * Horizontal pass into `mid` (rows of outWidth × c values). Column by column within blocks of
 * rows, so that the inner loop runs with the column's taps held in registers.
 */
function horizontal(data: Float32Array, mid: Float64Array, rowLen: number, height: number, outWidth: number, c: number, t: AxisTaps): void {
  const { first, offset, count, weight, divisor } = t;
  const midLen = outWidth * c;
  for (let y0 = 0; y0 < height; y0 += ROW_BLOCK) {
    const rows = Math.min(ROW_BLOCK, height - y0);
    for (let o = 0; o < outWidth; o++) {
      const w = offset[o] as number;
      const n = count[o] as number;
      // Two columns of two taps each that start on the same or the next pixel share their loads.
      const step = (first[o + 1] as number) - (first[o] as number);
      const paired = n === 2 && o + 1 < outWidth && count[o + 1] === 2 && (step === 0 || step === 1);
      for (let ch = 0; ch < c; ch++) {
        const p = y0 * rowLen + (first[o] as number) * c + ch;
        const m = y0 * midLen + o * c + ch;
        if (paired) columnPairs(data, mid, p, m, rows, rowLen, midLen, c, step * c, weight, w, offset[o + 1] as number, divisor);
        else if (n === 2) column2(data, mid, p, m, rows, rowLen, midLen, c, weight[w] as number, weight[w + 1] as number, divisor);
        else if (n === 3) column3(data, mid, p, m, rows, rowLen, midLen, c, weight, w, divisor);
        else columnN(data, mid, p, m, rows, rowLen, midLen, c, weight, w, n, divisor);
      }
      if (paired) o++;
    }
  }
}

function column2(data: Float32Array, mid: Float64Array, p: number, m: number, rows: number, rowLen: number, midLen: number, c: number, w0: number, w1: number, divisor: number): void {
  for (let y = 0; y < rows; y++, p += rowLen, m += midLen) mid[m] = (0 + w0 * (data[p] as number) + w1 * (data[p + c] as number)) / divisor;
}

/** Columns o (pixels p, p + c) and o + 1 (pixels p + shift, p + shift + c), shift 0 or c. */
function columnPairs(data: Float32Array, mid: Float64Array, p: number, m: number, rows: number, rowLen: number, midLen: number, c: number, shift: number, weight: Float64Array, w: number, v: number, divisor: number): void {
  const [p0, p1, q0, q1] = [weight[w] as number, weight[w + 1] as number, weight[v] as number, weight[v + 1] as number];
  const c2 = 2 * c;
  if (shift === 0) {
    for (let y = 0; y < rows; y++, p += rowLen, m += midLen) {
      const x = data[p] as number;
      const z = data[p + c] as number;
      mid[m] = (0 + p0 * x + p1 * z) / divisor;
      mid[m + c] = (0 + q0 * x + q1 * z) / divisor;
    }
    return;
  }
  for (let y = 0; y < rows; y++, p += rowLen, m += midLen) {
    const z = data[p + c] as number;
    mid[m] = (0 + p0 * (data[p] as number) + p1 * z) / divisor;
    mid[m + c] = (0 + q0 * z + q1 * (data[p + c2] as number)) / divisor;
  }
}

function column3(data: Float32Array, mid: Float64Array, p: number, m: number, rows: number, rowLen: number, midLen: number, c: number, weight: Float64Array, w: number, divisor: number): void {
  const w0 = weight[w] as number;
  const w1 = weight[w + 1] as number;
  const w2 = weight[w + 2] as number;
  const c2 = 2 * c;
  for (let y = 0; y < rows; y++, p += rowLen, m += midLen) {
    mid[m] = (0 + w0 * (data[p] as number) + w1 * (data[p + c] as number) + w2 * (data[p + c2] as number)) / divisor;
  }
}

function columnN(data: Float32Array, mid: Float64Array, p: number, m: number, rows: number, rowLen: number, midLen: number, c: number, weight: Float64Array, w: number, n: number, divisor: number): void {
  if (n > 2 && innerOnes(weight, w, n)) {
    // Area runs: only the two end pixels are partly covered; 1 × v is v, so the inner ones are plain sums.
    const w0 = weight[w] as number;
    const wl = weight[w + n - 1] as number;
    const last = (n - 1) * c;
    for (let y = 0; y < rows; y++, p += rowLen, m += midLen) {
      let acc = 0 + w0 * (data[p] as number);
      for (let q = p + c, end = p + last; q < end; q += c) acc += data[q] as number;
      mid[m] = (acc + wl * (data[p + last] as number)) / divisor;
    }
    return;
  }
  for (let y = 0; y < rows; y++, p += rowLen, m += midLen) {
    let acc = 0;
    for (let k = 0, q = p; k < n; k++, q += c) acc += (weight[w + k] as number) * (data[q] as number);
    mid[m] = acc / divisor;
  }
}

/** True when the weights between the first and the last of a run are all exactly 1. */
function innerOnes(weight: Float64Array, w: number, n: number): boolean {
  for (let k = 1; k < n - 1; k++) if (weight[w + k] !== 1) return false;
  return true;
}

/** Vertical pass over rows of `rowLen` values: one float64 sum per output value, rounded once to float32. */
function vertical(mid: Float64Array, out: Float32Array, rowLen: number, outHeight: number, t: AxisTaps): void {
  const { first, offset, count, weight, divisor } = t;
  for (let oy = 0; oy < outHeight; ) {
    const n = count[oy] as number;
    const a = (first[oy] as number) * rowLen;
    const o = oy * rowLen;
    const w = offset[oy] as number;
    if (n === 2) {
      // Enlarging: consecutive output rows blend the same two source rows; up to four share each load.
      let k = 1;
      while (k < 4 && oy + k < outHeight && count[oy + k] === 2 && first[oy + k] === first[oy]) k++;
      if (k > 1) {
        pairRows(mid, out, a, o, rowLen, k, weight, offset, oy, divisor);
        oy += k;
        continue;
      }
      if (oy + 1 < outHeight && count[oy + 1] === 2 && first[oy + 1] === (first[oy] as number) + 1) {
        // Shrinking by less than 2: the next output row starts at this one's second row; load it once.
        chainedPairs(mid, out, a, o, rowLen, weight, w, offset[oy + 1] as number, divisor);
        oy += 2;
        continue;
      }
      verticalPair(mid, out, a, o, rowLen, weight[w] as number, weight[w + 1] as number, divisor);
    } else if (n === 3) {
      verticalTriple(mid, out, a, o, rowLen, weight, w, divisor);
    } else {
      verticalWeighted(mid, out, a, o, rowLen, n, weight, w, divisor);
    }
    oy++;
  }
}

/** Two output rows from source rows a, a + 1 and a + 1, a + 2. */
function chainedPairs(mid: Float64Array, out: Float32Array, a: number, o: number, rowLen: number, weight: Float64Array, w: number, v: number, divisor: number): void {
  const b = a + rowLen;
  const c = b + rowLen;
  const o1 = o + rowLen;
  const [p0, p1, q0, q1] = [weight[w] as number, weight[w + 1] as number, weight[v] as number, weight[v + 1] as number];
  for (let i = 0; i < rowLen; i++) {
    const y = mid[b + i] as number;
    out[o + i] = (0 + p0 * (mid[a + i] as number) + p1 * y) / divisor;
    out[o1 + i] = (0 + q0 * y + q1 * (mid[c + i] as number)) / divisor;
  }
}

/** `k` (2 to 4) output rows from rows `a` and `a + rowLen`, each with its own two weights. */
function pairRows(mid: Float64Array, out: Float32Array, a: number, o: number, rowLen: number, k: number, weight: Float64Array, offset: Int32Array, oy: number, divisor: number): void {
  const b = a + rowLen;
  const w = (row: number, tap: number): number => weight[(offset[oy + row] as number) + tap] as number;
  const [p0, p1, q0, q1] = [w(0, 0), w(0, 1), w(1, 0), w(1, 1)];
  const o1 = o + rowLen;
  if (k === 2) {
    for (let i = 0; i < rowLen; i++) {
      const x = mid[a + i] as number;
      const y = mid[b + i] as number;
      out[o + i] = (0 + p0 * x + p1 * y) / divisor;
      out[o1 + i] = (0 + q0 * x + q1 * y) / divisor;
    }
    return;
  }
  const [r0, r1] = [w(2, 0), w(2, 1)];
  const o2 = o1 + rowLen;
  if (k === 3) {
    for (let i = 0; i < rowLen; i++) {
      const x = mid[a + i] as number;
      const y = mid[b + i] as number;
      out[o + i] = (0 + p0 * x + p1 * y) / divisor;
      out[o1 + i] = (0 + q0 * x + q1 * y) / divisor;
      out[o2 + i] = (0 + r0 * x + r1 * y) / divisor;
    }
    return;
  }
  const [s0, s1] = [w(3, 0), w(3, 1)];
  const o3 = o2 + rowLen;
  for (let i = 0; i < rowLen; i++) {
    const x = mid[a + i] as number;
    const y = mid[b + i] as number;
    out[o + i] = (0 + p0 * x + p1 * y) / divisor;
    out[o1 + i] = (0 + q0 * x + q1 * y) / divisor;
    out[o2 + i] = (0 + r0 * x + r1 * y) / divisor;
    out[o3 + i] = (0 + s0 * x + s1 * y) / divisor;
  }
}

function verticalPair(mid: Float64Array, out: Float32Array, a: number, o: number, rowLen: number, w0: number, w1: number, divisor: number): void {
  const b = a + rowLen;
  for (let i = 0; i < rowLen; i++) out[o + i] = (0 + w0 * (mid[a + i] as number) + w1 * (mid[b + i] as number)) / divisor;
}

function verticalTriple(mid: Float64Array, out: Float32Array, a: number, o: number, rowLen: number, weight: Float64Array, w: number, divisor: number): void {
  const w0 = weight[w] as number;
  const w1 = weight[w + 1] as number;
  const w2 = weight[w + 2] as number;
  const b = a + rowLen;
  const c = b + rowLen;
  for (let i = 0; i < rowLen; i++) out[o + i] = (0 + w0 * (mid[a + i] as number) + w1 * (mid[b + i] as number) + w2 * (mid[c + i] as number)) / divisor;
}

function verticalWeighted(mid: Float64Array, out: Float32Array, a: number, o: number, rowLen: number, n: number, weight: Float64Array, w: number, divisor: number): void {
  if (n > 2 && innerOnes(weight, w, n)) {
    const w0 = weight[w] as number;
    const wl = weight[w + n - 1] as number;
    const last = (n - 1) * rowLen;
    for (let i = 0; i < rowLen; i++) {
      let acc = 0 + w0 * (mid[a + i] as number);
      for (let p = a + i + rowLen, end = a + i + last; p < end; p += rowLen) acc += mid[p] as number;
      out[o + i] = (acc + wl * (mid[a + i + last] as number)) / divisor;
    }
    return;
  }
  for (let i = 0; i < rowLen; i++) {
    let acc = 0;
    for (let k = 0, p = a + i; k < n; k++, p += rowLen) acc += (weight[w + k] as number) * (mid[p] as number);
    out[o + i] = acc / divisor;
  }
}
