/**
 * Resizing for model input, separable per axis: box (area) averaging on an axis that shrinks,
 * bilinear interpolation on an axis that grows, a copy on an axis that keeps its size.
 *
 * Area averaging is what the training data used (e.g. 224 → 28 is the mean of each 8×8 block),
 * so on an integral ratio every output pixel must be the exact block mean: the overlaps are
 * then exactly 1 and the sum is divided once by the ratio, in float64. Own implementation
 * rather than the dicom layer's helper because inference must not import dicom.
 */

/**
 * For each output index: the contributing source indices and their weights. The weighted sum
 * is divided by `divisor` (the weights sum to it).
 */
interface AxisTaps {
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly index: Int32Array;
  readonly weight: Float64Array;
  readonly divisor: number;
}

function areaTaps(src: number, dst: number): AxisTaps {
  const scale = src / dst;
  const start = new Int32Array(dst);
  const count = new Int32Array(dst);
  const index: number[] = [];
  const weight: number[] = [];
  for (let o = 0; o < dst; o++) {
    // Output pixel o covers source interval [o·scale, (o+1)·scale).
    const lo = o * scale;
    // The last interval ends exactly at src: (dst · scale) may round just below it.
    const hi = o === dst - 1 ? src : Math.min((o + 1) * scale, src);
    const o0 = index.length;
    start[o] = o0;
    for (let s = Math.floor(lo); s < hi; s++) {
      const overlap = Math.min(s + 1, hi) - Math.max(s, lo);
      if (overlap <= 0) continue;
      index.push(s);
      // Raw overlaps, divided once by the scale after summing: for an integral ratio every
      // overlap is exactly 1, so the result is sum / n, the exact block mean.
      weight.push(overlap);
    }
    count[o] = index.length - o0;
  }
  return { start, count, index: Int32Array.from(index), weight: Float64Array.from(weight), divisor: scale };
}

function bilinearTaps(src: number, dst: number): AxisTaps {
  const scale = src / dst;
  const start = new Int32Array(dst);
  const count = new Int32Array(dst);
  const index = new Int32Array(dst * 2);
  const weight = new Float64Array(dst * 2);
  for (let o = 0; o < dst; o++) {
    // Pixel centres aligned (half-pixel convention, as OpenCV INTER_LINEAR and
    // torch align_corners=False): the image edges map onto each other.
    const x = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), src - 1);
    const x0 = Math.floor(x);
    const x1 = Math.min(x0 + 1, src - 1);
    const f = x - x0;
    start[o] = 2 * o;
    count[o] = 2;
    index[2 * o] = x0;
    index[2 * o + 1] = x1;
    weight[2 * o] = 1 - f;
    weight[2 * o + 1] = f;
  }
  return { start, count, index, weight, divisor: 1 };
}

function taps(src: number, dst: number): AxisTaps {
  return dst < src ? areaTaps(src, dst) : bilinearTaps(src, dst);
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
export function resizeImage(
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
      const s = tx.start[ox] as number;
      const n = tx.count[ox] as number;
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += (tx.weight[s + k] as number) * (data[row + (tx.index[s + k] as number) * c + ch] as number);
        mid[midRow + ox * c + ch] = acc / tx.divisor;
      }
    }
  }

  const out = new Float32Array(outHeight * outWidth * c);
  const rowLen = outWidth * c;
  const acc = new Float64Array(rowLen); // float64 until the single rounding to float32
  for (let oy = 0; oy < outHeight; oy++) {
    const s = ty.start[oy] as number;
    const n = ty.count[oy] as number;
    acc.fill(0);
    for (let k = 0; k < n; k++) {
      const w = ty.weight[s + k] as number;
      const srcRow = (ty.index[s + k] as number) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] = (acc[i] as number) + w * (mid[srcRow + i] as number);
    }
    const outRow = oy * rowLen;
    for (let i = 0; i < rowLen; i++) out[outRow + i] = (acc[i] as number) / ty.divisor;
  }
  return out;
}
