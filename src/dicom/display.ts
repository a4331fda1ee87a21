/**
 * Modality values → display intensities in [0, 1] (VOI LUT function, MONOCHROME1 inversion),
 * and area-correct resizing to a model's input size.
 */
import { applyLut } from './lut.js';
import type { DisplayImage, ModalityFrame, VoiWindow, WindowingSpec } from './types.js';

/**
 * VOI LUT function LINEAR (PS3.3 C.11.2.1.2.1) with output range [0, 1]:
 * x ≤ c − 0.5 − (w − 1)/2 → 0; x > c − 0.5 + (w − 1)/2 → 1;
 * else ((x − (c − 0.5)) / (w − 1) + 0.5). Requires w ≥ 1; w = 1 is a threshold at c − 0.5.
 */
export function voiLinear(x: number, center: number, width: number): number {
  const c = center - 0.5;
  const half = (width - 1) / 2;
  if (x <= c - half) return 0;
  if (x > c + half) return 1;
  return (x - c) / (width - 1) + 0.5;
}

/** VOI LUT function LINEAR_EXACT (PS3.3 C.11.2.1.3.2): x ≤ c − w/2 → 0; x > c + w/2 → 1; else (x − c)/w + 0.5. Requires w > 0. */
export function voiLinearExact(x: number, center: number, width: number): number {
  if (x <= center - width / 2) return 0;
  if (x > center + width / 2) return 1;
  return (x - center) / width + 0.5;
}

/** VOI LUT function SIGMOID (PS3.3 C.11.2.1.3.1): 1 / (1 + exp(−4 (x − c) / w)). Requires w > 0. */
export function voiSigmoid(x: number, center: number, width: number): number {
  return 1 / (1 + Math.exp((-4 * (x - center)) / width));
}

/** Applies a window's VOI LUT function to one value. */
export function applyVoi(x: number, window: VoiWindow): number {
  switch (window.fn) {
    case 'LINEAR':
      return voiLinear(x, window.center, window.width);
    case 'LINEAR_EXACT':
      return voiLinearExact(x, window.center, window.width);
    case 'SIGMOID':
      return voiSigmoid(x, window.center, window.width);
  }
}

/**
 * Maps a decoded frame to display intensities in [0, 1], bright = high.
 *
 * Monochrome: `dicom` uses the file's window, else its VOI LUT Sequence (entries scaled by
 * 2^bits − 1), else the frame's min/max; `fixed` applies LINEAR
 * with the given centre/width; `minmax` stretches the frame's range (a constant frame gives 0).
 * MONOCHROME1 is inverted after windowing, so bright always means high attenuation/signal.
 * Colour (RGB): `dicom` scales by the sample range (2^BitsStored − 1, or 2^bits − 1 of a
 * palette's entries), `fixed` windows each
 * channel, `minmax` stretches the range over all channels; colour is never inverted.
 *
 * @throws RangeError when a fixed window's width is below 1 (a configuration error)
 */
export function toDisplayImage(frame: ModalityFrame, spec: WindowingSpec): DisplayImage {
  const src = frame.values;
  const out = new Float32Array(src.length);
  const window = chooseWindow(frame, spec);
  if (window !== undefined) {
    windowInto(src, out, window);
  } else if (frame.samplesPerPixel === 1 && spec.kind === 'dicom' && frame.voiLut !== undefined) {
    applyLut(src, out, frame.voiLut);
    const max = 2 ** frame.voiLut.bits - 1;
    for (let i = 0; i < out.length; i++) out[i] = Math.min(1, (out[i] as number) / max);
  } else if (frame.samplesPerPixel === 3 && spec.kind === 'dicom') {
    const max = frame.sampleMax ?? 2 ** frame.info.bitsStored - 1;
    for (let i = 0; i < src.length; i++) out[i] = Math.min(1, Math.max(0, (src[i] as number) / max));
  } else {
    stretchInto(src, out);
  }
  if (frame.invert && frame.samplesPerPixel === 1) {
    for (let i = 0; i < out.length; i++) out[i] = 1 - (out[i] as number);
  }
  return { width: frame.columns, height: frame.rows, channels: frame.samplesPerPixel, data: out };
}

function chooseWindow(frame: ModalityFrame, spec: WindowingSpec): VoiWindow | undefined {
  switch (spec.kind) {
    case 'fixed':
      if (!(spec.width >= 1)) throw new RangeError(`A fixed LINEAR window needs width ≥ 1, not ${spec.width}.`);
      return { center: spec.center, width: spec.width, fn: 'LINEAR' };
    case 'dicom':
      return frame.samplesPerPixel === 1 ? frame.window : undefined;
    case 'minmax':
      return undefined;
  }
}

function windowInto(src: Float32Array, out: Float32Array, window: VoiWindow): void {
  const { center, width } = window;
  switch (window.fn) {
    case 'LINEAR':
      for (let i = 0; i < src.length; i++) out[i] = voiLinear(src[i] as number, center, width);
      return;
    case 'LINEAR_EXACT':
      for (let i = 0; i < src.length; i++) out[i] = voiLinearExact(src[i] as number, center, width);
      return;
    case 'SIGMOID':
      for (let i = 0; i < src.length; i++) out[i] = voiSigmoid(src[i] as number, center, width);
      return;
  }
}

function stretchInto(src: Float32Array, out: Float32Array): void {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < src.length; i++) {
    const v = src[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min;
  if (!(range > 0)) return; // constant (or empty) frame: all zeros
  for (let i = 0; i < src.length; i++) out[i] = ((src[i] as number) - min) / range;
}

/** Per output index along one axis: the source indices it reads and their weights (summing to 1). */
interface AxisWeights {
  readonly start: Int32Array; // length out + 1, offsets into index/weight
  readonly index: Int32Array;
  readonly weight: Float64Array;
}

/**
 * Resizes a display image. Shrinking averages areas (each output pixel is the mean of the
 * source area it covers, fractional overlaps weighted by their area), so no source pixel is
 * skipped and total intensity is preserved; an integer ratio on both axes is an exact block
 * mean. Enlarging is bilinear with pixel centres aligned (half-pixel convention). Each axis
 * chooses independently.
 *
 * @param img - source image, channels interleaved
 * @param width - output width in pixels (positive integer)
 * @param height - output height in pixels (positive integer)
 * @throws RangeError for a non-positive or non-integer size
 */
export function resizeArea(img: DisplayImage, width: number, height: number): DisplayImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`Output size must be positive integers, not ${width} × ${height}.`);
  }
  const { width: inW, height: inH, channels: ch } = img;
  if (width === inW && height === inH) return { ...img, data: img.data.slice() };
  if (width <= inW && height <= inH && inW % width === 0 && inH % height === 0) return blockMean(img, width, height);

  const xw = axisWeights(inW, width);
  const yw = axisWeights(inH, height);
  // Horizontal pass into a double-precision buffer, then vertical pass into the output.
  const tmp = new Float64Array(inH * width * ch);
  for (let y = 0; y < inH; y++) {
    const srcRow = y * inW * ch;
    const tmpRow = y * width * ch;
    for (let x = 0; x < width; x++) {
      for (let k = xw.start[x] as number; k < (xw.start[x + 1] as number); k++) {
        const s = srcRow + (xw.index[k] as number) * ch;
        const w = xw.weight[k] as number;
        for (let c = 0; c < ch; c++) tmp[tmpRow + x * ch + c] = (tmp[tmpRow + x * ch + c] as number) + w * (img.data[s + c] as number);
      }
    }
  }
  const rowLength = width * ch;
  const acc = new Float64Array(rowLength);
  const out = new Float32Array(height * rowLength);
  for (let y = 0; y < height; y++) {
    acc.fill(0);
    for (let k = yw.start[y] as number; k < (yw.start[y + 1] as number); k++) {
      const s = (yw.index[k] as number) * rowLength;
      const w = yw.weight[k] as number;
      for (let i = 0; i < rowLength; i++) acc[i] = (acc[i] as number) + w * (tmp[s + i] as number);
    }
    out.set(acc, y * rowLength);
  }
  return { width, height, channels: ch, data: out };
}

/** Exact mean of each kx × ky block, summed in double precision. */
function blockMean(img: DisplayImage, width: number, height: number): DisplayImage {
  const { width: inW, channels: ch, data } = img;
  const kx = inW / width;
  const ky = img.height / height;
  const area = kx * ky;
  const out = new Float32Array(width * height * ch);
  const sums = new Float64Array(width * ch);
  for (let y = 0; y < height; y++) {
    sums.fill(0);
    for (let dy = 0; dy < ky; dy++) {
      const row = (y * ky + dy) * inW * ch;
      for (let x = 0; x < width; x++) {
        for (let dx = 0; dx < kx; dx++) {
          const s = row + (x * kx + dx) * ch;
          for (let c = 0; c < ch; c++) sums[x * ch + c] = (sums[x * ch + c] as number) + (data[s + c] as number);
        }
      }
    }
    for (let i = 0; i < sums.length; i++) out[y * width * ch + i] = (sums[i] as number) / area;
  }
  return { width, height, channels: ch, data: out };
}

function axisWeights(inSize: number, outSize: number): AxisWeights {
  const start = new Int32Array(outSize + 1);
  const index: number[] = [];
  const weight: number[] = [];
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    start[o] = index.length;
    if (outSize < inSize) {
      // Area: output o covers source interval [o·scale, (o+1)·scale).
      const from = o * scale;
      const to = (o + 1) * scale;
      for (let s = Math.floor(from); s < Math.min(inSize, Math.ceil(to)); s++) {
        const overlap = Math.min(to, s + 1) - Math.max(from, s);
        if (overlap > 0) {
          index.push(s);
          weight.push(overlap / scale);
        }
      }
    } else {
      // Bilinear: centre of output o maps to source coordinate (o + 0.5)·scale − 0.5, clamped.
      const pos = Math.min(inSize - 1, Math.max(0, (o + 0.5) * scale - 0.5));
      const i0 = Math.floor(pos);
      const f = pos - i0;
      index.push(i0);
      weight.push(1 - f);
      if (f > 0) {
        index.push(Math.min(i0 + 1, inSize - 1));
        weight.push(f);
      }
    }
  }
  start[outSize] = index.length;
  return { start, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}
