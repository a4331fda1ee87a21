/**
 * Segmentation input normalised by physical size (manifest `input.resize: "fov-diameter"`,
 * models/MANIFEST.md): the image is scaled, keeping its aspect ratio, so that its circular field
 * of view (FOV) is as many pixels across as in the training images — or, when the manifest
 * states the training pixel spacing and the image states its own, so that the spacings match —
 * then padded (black) or cropped (around the FOV) to the network's input. The network's output
 * is mapped back through the same placement onto the source image.
 *
 * The FOV's diameter is its horizontal extent: the columns in which at least `chordFraction` of
 * the fullest column's pixels are inside (mean channel value ≥ `minIntensity`). Counting whole
 * columns ignores stray bright pixels and a FOV cut off at the top and bottom; the same rule
 * measured the training images (models/_shared/drive_data.py mirrors this module).
 */
import { AppError } from '../errors.js';
import { resizeArea } from '../image/index.js';
import type { Image } from '../image/index.js';

/** The manifest's `input.fieldOfView` (required with `resize: "fov-diameter"`). */
export interface FovResizeSpec {
  /** Target FOV diameter in model pixels (measured by the rule above on the training images). */
  readonly diameter: number;
  /** A pixel is inside the FOV when its mean channel value (in [0, 1]) is at least this. */
  readonly minIntensity: number;
  /** A column counts towards the diameter when it holds at least this share of the fullest column's FOV pixels. */
  readonly chordFraction: number;
  /** A scale within this of 1 is taken as 1: the image is not resampled (resampling only blurs). */
  readonly tolerance: number;
  /** The training images' pixel spacing in mm; when set and the image states Pixel Spacing, that sets the scale. */
  readonly pixelSpacingMm?: number | undefined;
}

/** What the placement needs from the manifest's input section. */
export interface PlacementInput {
  readonly width: number;
  readonly height: number;
  /** Absent: `area`. */
  readonly resize?: 'area' | 'fov-diameter' | undefined;
  readonly fieldOfView?: FovResizeSpec | undefined;
}

/** The FOV's horizontal extent and centre, in source pixels. */
export interface FovExtent {
  readonly diameter: number;
  readonly centreX: number;
  readonly centreY: number;
}

/** How a source image lies in the network's input. */
export interface Placement {
  /** Model pixels per source pixel along the columns (x) and rows (y). */
  readonly scaleX: number;
  readonly scaleY: number;
  /** Size of the source image after scaling. */
  readonly scaledWidth: number;
  readonly scaledHeight: number;
  /** Model-input position of the scaled image's pixel (0, 0); negative where it was cropped. */
  readonly offsetX: number;
  readonly offsetY: number;
  /** `stretch`: resize "area" (no aspect kept); otherwise what set the scale. */
  readonly basis: 'stretch' | 'field-of-view' | 'pixel-spacing';
  /** The FOV diameter measured on the source, in source pixels (basis `field-of-view`). */
  readonly measuredDiameter?: number | undefined;
}

/** Largest enlargement of the scaled image over the network input, per axis (a tiny FOV in a large frame). */
const MAX_SCALED_OVER_INPUT = 4;

function extent(counts: Int32Array, fraction: number): { first: number; last: number } | undefined {
  let max = 0;
  for (const c of counts) if (c > max) max = c;
  if (max === 0) return undefined;
  const limit = fraction * max;
  let first = -1;
  let last = -1;
  counts.forEach((c, i) => {
    if (c >= limit) {
      if (first < 0) first = i;
      last = i;
    }
  });
  return { first, last };
}

/**
 * The field of view's diameter (horizontal extent) and centre.
 *
 * @returns undefined when no pixel reaches `minIntensity`
 */
export function fovExtent(image: Image, minIntensity: number, chordFraction: number): FovExtent | undefined {
  const { width, height, channels, data } = image;
  const cols = new Int32Array(width);
  const rows = new Int32Array(height);
  const limit = minIntensity * channels;
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += channels) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += data[i + c] as number;
      if (sum >= limit) {
        cols[x] = (cols[x] as number) + 1;
        rows[y] = (rows[y] as number) + 1;
      }
    }
  }
  const h = extent(cols, chordFraction);
  const v = extent(rows, chordFraction);
  if (h === undefined || v === undefined) return undefined;
  return { diameter: h.last - h.first + 1, centreX: (h.first + h.last + 1) / 2, centreY: (v.first + v.last + 1) / 2 };
}

/** Pads (centred) or crops (around `centre`, in scaled pixels) one axis into `size`. */
function axisOffset(scaled: number, size: number, centre: () => number): number {
  if (scaled <= size) return Math.floor((size - scaled) / 2);
  const start = Math.round(centre() - size / 2);
  return -Math.min(Math.max(start, 0), scaled - size);
}

function snap(scale: number, tolerance: number): number {
  return Math.abs(scale - 1) <= tolerance ? 1 : scale;
}

/**
 * Where an image goes in the network input.
 *
 * @param image - the source image (its pixels are read only for the FOV rule)
 * @param input - the manifest's input section
 * @throws AppError IMAGE_UNSUITABLE when the image shows no field of view, or one so small
 *   that the scaled image would be over 4× the network input along an axis
 */
export function placementFor(image: Image, input: PlacementInput): Placement {
  const cached = cache.get(image);
  if (cached?.input === input) return cached.placement;
  const placement = computePlacement(image, input);
  cache.set(image, { input, placement });
  return placement;
}

/** preprocess and the measurement both need an image's placement; it is found once per image. */
const cache = new WeakMap<Image, { input: PlacementInput; placement: Placement }>();

function computePlacement(image: Image, input: PlacementInput): Placement {
  const { width, height } = input;
  const spec = input.fieldOfView;
  if (input.resize !== 'fov-diameter' || spec === undefined) {
    return { scaleX: width / image.width, scaleY: height / image.height, scaledWidth: width, scaledHeight: height, offsetX: 0, offsetY: 0, basis: 'stretch' };
  }
  let fov: FovExtent | undefined;
  const fovOf = (): FovExtent | undefined => (fov ??= fovExtent(image, spec.minIntensity, spec.chordFraction));
  let scaleX: number;
  let scaleY: number;
  let basis: Placement['basis'];
  const spacing = image.pixelSpacingMm;
  if (spec.pixelSpacingMm !== undefined && spacing !== undefined) {
    // Pixel Spacing is [between rows, between columns]: the row spacing sets the vertical scale.
    scaleX = snap(spacing[1] / spec.pixelSpacingMm, spec.tolerance);
    scaleY = snap(spacing[0] / spec.pixelSpacingMm, spec.tolerance);
    basis = 'pixel-spacing';
  } else {
    const found = fovOf();
    if (found === undefined) {
      throw new AppError('IMAGE_UNSUITABLE', `The image shows no field of view (no pixel reaches mean intensity ${spec.minIntensity}); it was not analysed.`);
    }
    scaleX = scaleY = snap(spec.diameter / found.diameter, spec.tolerance);
    basis = 'field-of-view';
  }
  const scaledWidth = Math.max(1, Math.round(image.width * scaleX));
  const scaledHeight = Math.max(1, Math.round(image.height * scaleY));
  if (scaledWidth > MAX_SCALED_OVER_INPUT * width || scaledHeight > MAX_SCALED_OVER_INPUT * height) {
    throw new AppError(
      'IMAGE_UNSUITABLE',
      `The image's field of view is too small for the model: bringing it to the training scale would make the ${image.width}×${image.height} image ${scaledWidth}×${scaledHeight}; it was not analysed.`,
    );
  }
  const offsetX = axisOffset(scaledWidth, width, () => (fovOf()?.centreX ?? image.width / 2) * scaleX);
  const offsetY = axisOffset(scaledHeight, height, () => (fovOf()?.centreY ?? image.height / 2) * scaleY);
  return {
    scaleX,
    scaleY,
    scaledWidth,
    scaledHeight,
    offsetX,
    offsetY,
    basis,
    ...(basis === 'field-of-view' ? { measuredDiameter: fovOf()?.diameter } : {}),
  };
}

/** The part of the network input the scaled image covers: [x0, x1) × [y0, y1). */
export function visibleRegion(p: Placement, input: Pick<PlacementInput, 'width' | 'height'>): { x0: number; x1: number; y0: number; y1: number } {
  return {
    x0: Math.max(0, p.offsetX),
    x1: Math.min(input.width, p.offsetX + p.scaledWidth),
    y0: Math.max(0, p.offsetY),
    y1: Math.min(input.height, p.offsetY + p.scaledHeight),
  };
}

/** Copies the overlap of two planes of `channels` interleaved values, `from` placed at (dx, dy) in `to`. */
function blit(from: Float32Array, fw: number, fh: number, to: Float32Array, tw: number, th: number, dx: number, dy: number, channels: number): void {
  const x0 = Math.max(0, dx);
  const x1 = Math.min(tw, dx + fw);
  if (x1 <= x0) return;
  for (let ty = Math.max(0, dy); ty < Math.min(th, dy + fh); ty++) {
    const src = ((ty - dy) * fw + (x0 - dx)) * channels;
    to.set(from.subarray(src, src + (x1 - x0) * channels), (ty * tw + x0) * channels);
  }
}

/**
 * The image as the network sees it: scaled by the placement (area averaging when shrinking,
 * bilinear when enlarging), on a black (0) canvas of the input size.
 */
export function toModelGeometry(image: Image, p: Placement, input: Pick<PlacementInput, 'width' | 'height'>): Image {
  const scaled = resizeArea(image, p.scaledWidth, p.scaledHeight);
  if (p.offsetX === 0 && p.offsetY === 0 && p.scaledWidth === input.width && p.scaledHeight === input.height) return scaled;
  const data = new Float32Array(input.width * input.height * image.channels);
  blit(scaled.data, p.scaledWidth, p.scaledHeight, data, input.width, input.height, p.offsetX, p.offsetY, image.channels);
  return { width: input.width, height: input.height, channels: image.channels, data };
}

/**
 * A per-pixel map at the network's input size, back on the source image: the placed part taken
 * out, a part that was cropped away set to 0, then resized to `sourceWidth`×`sourceHeight`.
 */
export function toSourceGeometry(values: Float32Array, p: Placement, input: Pick<PlacementInput, 'width' | 'height'>, sourceWidth: number, sourceHeight: number): Float32Array {
  if (values.length !== input.width * input.height) throw new RangeError(`map has ${values.length} values, expected ${input.width}×${input.height}`);
  const scaled = new Float32Array(p.scaledWidth * p.scaledHeight);
  blit(values, input.width, input.height, scaled, p.scaledWidth, p.scaledHeight, -p.offsetX, -p.offsetY, 1);
  return resizeArea({ width: p.scaledWidth, height: p.scaledHeight, channels: 1, data: scaled }, sourceWidth, sourceHeight).data;
}
