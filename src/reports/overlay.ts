/**
 * The PNG a report attaches beside its text: the analysed image in grey with the model's map
 * laid over it — a saliency heat map for a classifier, the thresholded mask for segmentation.
 * Encoding is fast-png's; the colours and blending are ours.
 */
import { encode } from 'fast-png';

/** The image under the overlay: values in [0, 1], interleaved, row-major. */
export interface OverlayBase {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly data: Float32Array;
}

/** The map over the same pixels as the base: values in [0, 1]. */
export interface OverlayMap {
  readonly kind: 'saliency' | 'mask';
  readonly values: Float32Array;
  /** For a mask: values at or above it are painted. */
  readonly threshold?: number | undefined;
}

/** Saliency below this share of the maximum is left clear, so the image stays readable. */
const SALIENCY_FLOOR = 0.2;
const MAX_ALPHA = 0.6;
/** The mask colour: saturated green, distinct from the heat map's reds and from grey tissue. */
const MASK_RGB = [0, 230, 64] as const;

/** Heat colour for t in [0, 1]: dark red → red → orange → yellow, a readable single-hue ramp. */
export function heatColour(t: number): readonly [number, number, number] {
  const v = Math.min(1, Math.max(0, t));
  return [255 * Math.min(1, 0.35 + 1.3 * v), 255 * Math.max(0, Math.min(1, 2 * v - 0.5)), 255 * Math.max(0, 3 * v - 2)];
}

function grey(base: OverlayBase, i: number): [number, number, number] {
  const d = base.data;
  if (base.channels === 1) {
    const g = 255 * Math.min(1, Math.max(0, d[i] as number));
    return [g, g, g];
  }
  const clamp = (v: number): number => 255 * Math.min(1, Math.max(0, v));
  return [clamp(d[3 * i] as number), clamp(d[3 * i + 1] as number), clamp(d[3 * i + 2] as number)];
}

/**
 * Blends the map over the base image and encodes an 8-bit RGB PNG.
 *
 * @param base - the image as analysed (grey or colour)
 * @param map - the map, same width and height as `base`
 * @returns the PNG file's bytes
 * @throws RangeError when the map and image sizes differ (a bug upstream)
 */
export function overlayPng(base: OverlayBase, map: OverlayMap): Uint8Array {
  const n = base.width * base.height;
  if (map.values.length !== n) throw new RangeError(`map has ${map.values.length} values for a ${base.width}×${base.height} image`);
  if (base.data.length !== n * base.channels) throw new RangeError(`image data has ${base.data.length} values, expected ${n * base.channels}`);
  const rgb = new Uint8Array(n * 3);
  const threshold = map.threshold ?? 0.5;
  for (let i = 0; i < n; i++) {
    const under = grey(base, i);
    const v = map.values[i] as number;
    let colour: readonly [number, number, number] = under;
    let alpha = 0;
    if (map.kind === 'mask') {
      if (v >= threshold) [colour, alpha] = [MASK_RGB, MAX_ALPHA];
    } else if (v >= SALIENCY_FLOOR) {
      colour = heatColour(v);
      alpha = MAX_ALPHA * ((v - SALIENCY_FLOOR) / (1 - SALIENCY_FLOOR));
    }
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = Math.round((1 - alpha) * (under[c] as number) + alpha * (colour[c] as number));
  }
  return encode({ width: base.width, height: base.height, data: rgb, channels: 3, depth: 8 });
}

/** A label map over the same pixels as the base: 0 is clear, k paints `colours[k - 1]`. */
export interface LabelMap {
  readonly labels: Uint8Array;
  readonly colours: readonly (readonly [number, number, number])[];
}

/**
 * Blends coloured labels (several structures of one segmentation) over the base image and
 * encodes an 8-bit RGB PNG.
 *
 * @throws RangeError when the label map and image sizes differ (a bug upstream)
 */
export function labelOverlayPng(base: OverlayBase, map: LabelMap): Uint8Array {
  const n = base.width * base.height;
  if (map.labels.length !== n) throw new RangeError(`label map has ${map.labels.length} values for a ${base.width}×${base.height} image`);
  if (base.data.length !== n * base.channels) throw new RangeError(`image data has ${base.data.length} values, expected ${n * base.channels}`);
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const under = grey(base, i);
    const label = map.labels[i] as number;
    const colour = label === 0 ? undefined : map.colours[label - 1];
    const alpha = colour === undefined ? 0 : MAX_ALPHA;
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = Math.round((1 - alpha) * (under[c] as number) + alpha * (colour?.[c] ?? 0));
  }
  return encode({ width: base.width, height: base.height, data: rgb, channels: 3, depth: 8 });
}

/** The base image alone as an 8-bit RGB PNG: what the model saw, for a viewer to show without the map. */
export function basePng(base: OverlayBase): Uint8Array {
  const n = base.width * base.height;
  if (base.data.length !== n * base.channels) throw new RangeError(`image data has ${base.data.length} values, expected ${n * base.channels}`);
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const [r, g, b] = grey(base, i);
    rgb[3 * i] = Math.round(r);
    rgb[3 * i + 1] = Math.round(g);
    rgb[3 * i + 2] = Math.round(b);
  }
  return encode({ width: base.width, height: base.height, data: rgb, channels: 3, depth: 8 });
}
