/**
 * Modality values → display intensities in [0, 1] (VOI LUT function, MONOCHROME1 inversion).
 */
import { modalityValues } from './frame-values.js';
import type { SampleArray } from './frame-values.js';
import { applyLut } from './lut.js';
import type { ModalityFrame, VoiWindow } from './types.js';
import type { Image, WindowingSpec } from '../image/index.js';

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
export function toDisplayImage(frame: ModalityFrame, spec: WindowingSpec): Image {
  // Read-only here: a frame whose values were never asked for is read without making them.
  const src = modalityValues(frame);
  const out = new Float32Array(src.length);
  const window = chooseWindow(frame, spec);
  // MONOCHROME1 is inverted in the same pass, from the float32 value that pass stores.
  const invert = frame.invert && frame.samplesPerPixel === 1;
  if (window !== undefined) {
    windowInto(src, out, window, invert);
  } else if (frame.samplesPerPixel === 1 && spec.kind === 'dicom' && frame.voiLut !== undefined) {
    applyLut(src, out, frame.voiLut);
    const max = 2 ** frame.voiLut.bits - 1;
    for (let i = 0; i < out.length; i++) out[i] = Math.min(1, (out[i] as number) / max);
    if (invert) invertInPlace(out);
  } else if (frame.samplesPerPixel === 3 && spec.kind === 'dicom') {
    scaleInto(src, out, frame.sampleMax ?? 2 ** frame.info.bitsStored - 1);
  } else {
    stretchInto(src, out, invert);
  }
  return { width: frame.columns, height: frame.rows, channels: frame.samplesPerPixel, data: out };
}

function invertInPlace(out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = 1 - (out[i] as number);
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

function windowInto(src: SampleArray, out: Float32Array, window: VoiWindow, invert: boolean): void {
  const { center, width } = window;
  switch (window.fn) {
    case 'LINEAR':
      linearInto(src, out, center, width, invert);
      return;
    case 'LINEAR_EXACT':
      for (let i = 0; i < src.length; i++) out[i] = voiLinearExact(src[i] as number, center, width);
      break;
    case 'SIGMOID':
      for (let i = 0; i < src.length; i++) out[i] = voiSigmoid(src[i] as number, center, width);
      break;
  }
  if (invert) invertInPlace(out);
}

/** {@link voiLinear} over a frame, its constants computed once (the same doubles, so the same results). */
function linearInto(src: SampleArray, out: Float32Array, center: number, width: number, invert: boolean): void {
  const c = center - 0.5;
  const half = (width - 1) / 2;
  const lo = c - half;
  const hi = c + half;
  const span = width - 1;
  const n = src.length;
  if (invert) {
    for (let i = 0; i < n; i++) {
      const x = src[i] as number;
      out[i] = 1 - (x <= lo ? 0 : x > hi ? 1 : Math.fround((x - c) / span + 0.5));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const x = src[i] as number;
      out[i] = x <= lo ? 0 : x > hi ? 1 : (x - c) / span + 0.5;
    }
  }
}

/** v / max clipped to [0, 1] (−0 becomes 0 and NaN stays NaN, as Math.min(1, Math.max(0, v)) gives). */
function scaleInto(src: SampleArray, out: Float32Array, max: number): void {
  for (let i = 0; i < src.length; i++) {
    const v = (src[i] as number) / max;
    out[i] = v <= 0 ? 0 : v > 1 ? 1 : v;
  }
}

/** Smallest and largest value (even and odd indices scanned together, so the comparisons overlap); NaN is never taken. */
function extremes(src: SampleArray): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  let min2 = Infinity;
  let max2 = -Infinity;
  const even = src.length & ~1;
  for (let i = 0; i < even; i += 2) {
    const v = src[i] as number;
    const u = src[i + 1] as number;
    if (v < min) min = v;
    if (v > max) max = v;
    if (u < min2) min2 = u;
    if (u > max2) max2 = u;
  }
  if (even < src.length) {
    const v = src[even] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min2 < min ? min2 : min, max2 > max ? max2 : max];
}

/** A zero extreme takes the sign of the first zero, as one scan in order keeps it (−0 and 0 tie). */
function signedZero(extreme: number, src: SampleArray): number {
  return extreme === 0 ? (src[src.indexOf(0)] as number) : extreme;
}

function stretchInto(src: SampleArray, out: Float32Array, invert: boolean): void {
  const [lo, hi] = extremes(src);
  const min = signedZero(lo, src);
  const max = signedZero(hi, src);
  const range = max - min;
  if (!(range > 0)) {
    // Constant (or empty) frame: all zeros (ones once inverted).
    if (invert) out.fill(1);
    return;
  }
  if (invert) for (let i = 0; i < src.length; i++) out[i] = 1 - Math.fround(((src[i] as number) - min) / range);
  else for (let i = 0; i < src.length; i++) out[i] = ((src[i] as number) - min) / range;
}
