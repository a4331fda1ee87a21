/**
 * Segmentation: per-pixel class probabilities from the model's logits, thresholded masks and
 * the measurements a report states (share of the field of view, area in mm² when the image
 * states its pixel spacing). Masks are thresholded and counted at the model's input
 * resolution — with `resize: "fov-diameter"` that is the training images' scale, so the share
 * does not depend on the camera's pixel count — over the part of the input the image covers;
 * areas are scaled back to the source image, and the probability map is mapped back onto it.
 */
import { AppError } from '../errors.js';
import { placementFor, toSourceGeometry, visibleRegion } from './fov-geometry.js';
import type { SegmentationManifest } from './manifest.js';
import type { ImageMap, Measurement } from './types.js';
import type { Image } from '../image/index.js';

/** Below this share of the image the field of view is not a photograph's, but a dark frame. */
const MIN_FIELD_OF_VIEW = 0.05;

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/**
 * The field of view at model resolution: pixels whose mean channel value, before
 * normalisation, is at least `minIntensity`; every pixel when the manifest declares none.
 *
 * @param manifest - gives the input size, normalisation and the field-of-view rule
 * @param tensor - the preprocessed CHW input the model saw
 */
export function fieldOfView(manifest: SegmentationManifest, tensor: Float32Array): Uint8Array {
  const { width, height, channels, normalization } = manifest.input;
  const plane = width * height;
  const inside = new Uint8Array(plane);
  const rule = manifest.output.fieldOfView;
  if (rule === undefined) return inside.fill(1);
  for (let i = 0; i < plane; i++) {
    let sum = 0;
    // Undo `(v − mean) / std` to judge brightness in the image's own [0, 1] scale.
    for (let c = 0; c < channels; c++) sum += (tensor[c * plane + i] as number) * (normalization.std[c] as number) + (normalization.mean[c] as number);
    inside[i] = sum / channels >= rule.minIntensity ? 1 : 0;
  }
  return inside;
}

/**
 * Class probabilities for one image: `sigmoid(logit / temperature)` per pixel and class.
 *
 * @returns one plane per class, in class-index order, each `width × height`
 * @throws AppError INFERENCE_FAILED when a logit is not finite
 */
export function classProbabilities(manifest: SegmentationManifest, logits: Float32Array): Float32Array[] {
  const plane = manifest.input.width * manifest.input.height;
  const t = manifest.output.temperature;
  return manifest.output.classes.map((_, c) => {
    const out = new Float32Array(plane);
    for (let i = 0; i < plane; i++) {
      const z = logits[c * plane + i] as number;
      if (!Number.isFinite(z)) throw new AppError('INFERENCE_FAILED', 'The model produced a non-finite output.');
      out[i] = sigmoid(z / t);
    }
    return out;
  });
}

/** The source image: its size and spacing; its pixels too when the manifest resizes by field of view. */
export type SegmentationSource = Pick<Image, 'width' | 'height' | 'pixelSpacingMm'> & Partial<Pick<Image, 'channels' | 'data'>>;

/**
 * Measurements per class, and every class's probability map (unmasked; `map` is the first class's,
 * for the overlay).
 *
 * @param manifest - the segmentation model's manifest
 * @param tensor - the preprocessed input (for the field of view)
 * @param logits - the model's output for this image
 * @param image - the source image (its size and pixel spacing scale areas back; with
 *   `resize: "fov-diameter"` its pixels give the placement preprocessing used)
 * @throws AppError IMAGE_UNSUITABLE when the field of view is (nearly) empty, so a share of it
 *   would be meaningless; INFERENCE_FAILED on non-finite output
 */
export function segmentationResult(
  manifest: SegmentationManifest,
  tensor: Float32Array,
  logits: Float32Array,
  image: SegmentationSource,
): { measurements: Measurement[]; map: ImageMap; classMaps: ImageMap[] } {
  const { input } = manifest;
  const { width, height } = input;
  const byFov = input.resize === 'fov-diameter';
  if (byFov && (image.data === undefined || image.channels === undefined)) throw new Error(`${manifest.id} resizes by field of view: segmentationResult needs the source pixels`);
  const placement = byFov ? placementFor(image as Image, input) : undefined;
  // Only the part of the input the image covers counts; padding is not image.
  const region = placement === undefined ? { x0: 0, x1: width, y0: 0, y1: height } : visibleRegion(placement, input);
  const visible = (region.x1 - region.x0) * (region.y1 - region.y0);
  const fov = fieldOfView(manifest, tensor);
  let fovPixels = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (x < region.x0 || x >= region.x1 || y < region.y0 || y >= region.y1) fov[i] = 0;
      else fovPixels += fov[i] as number;
    }
  }
  if (fovPixels < MIN_FIELD_OF_VIEW * visible) {
    throw new AppError(
      'IMAGE_UNSUITABLE',
      `The image shows no field of view for ${manifest.id} (${((100 * fovPixels) / visible).toFixed(1)}% of pixels reach the manifest's minimum intensity ${manifest.output.fieldOfView?.minIntensity ?? 0}).`,
    );
  }
  const probabilities = classProbabilities(manifest, logits);
  // One model pixel stands for 1/scale source pixels along each axis.
  const scaleX = placement?.scaleX ?? width / image.width;
  const scaleY = placement?.scaleY ?? height / image.height;
  const spacing = image.pixelSpacingMm;
  const pixelAreaMm2 = spacing === undefined ? undefined : (spacing[0] / scaleY) * (spacing[1] / scaleX);
  const measurements = manifest.output.classes.map((cls, c) => {
    const p = probabilities[c] as Float32Array;
    let count = 0;
    // Only inside the field of view: outside it there is no tissue to classify.
    for (let i = 0; i < width * height; i++) if (fov[i] === 1 && (p[i] as number) >= cls.threshold) count++;
    return {
      key: cls.key,
      display: cls.display,
      codes: cls.codes,
      threshold: cls.threshold,
      fractionOfFieldOfView: count / fovPixels,
      fieldOfViewFraction: fovPixels / visible,
      ...(pixelAreaMm2 === undefined ? {} : { areaMm2: count * pixelAreaMm2 }),
      ...(cls.measurementError === undefined ? {} : { error: cls.measurementError }),
    };
  });
  if (manifest.output.classes.length === 0) throw new AppError('INFERENCE_FAILED', `Model ${manifest.id} has no class.`);
  const how =
    placement === undefined
      ? `, at the model's ${width}×${height} input resolution; measurements count only those inside the field of view.`
      : placement.basis === 'pixel-spacing'
        ? `, found on the image brought to the training pixel spacing (${input.fieldOfView?.pixelSpacingMm ?? ''} mm) and mapped back onto the image; measurements count only those inside the field of view, at that scale.`
        : `, found on the image scaled so its field of view is ${input.fieldOfView?.diameter ?? ''} pixels across, as in the training images, and mapped back onto the image; measurements count only those inside the field of view, at that scale.`;
  const classMaps = manifest.output.classes.map((cls, c): ImageMap => {
    const plane = probabilities[c] as Float32Array;
    const method = `Pixels the model labels ${cls.display.toLowerCase()} (probability ≥ ${Math.round(cls.threshold * 100)}%)${how}`;
    return placement === undefined
      ? // The model's own probabilities, everywhere: evaluation and overlays see what it said.
        { kind: 'mask', method, width, height, values: plane, threshold: cls.threshold }
      : { kind: 'mask', method, width: image.width, height: image.height, values: toSourceGeometry(plane, placement, input, image.width, image.height), threshold: cls.threshold };
  });
  return { measurements, map: classMaps[0] as ImageMap, classMaps };
}
