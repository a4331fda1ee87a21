/**
 * Builds the report's overlay PNG from a model's map and the image the model analysed. The map
 * covers the whole image at the model's input size (the model saw the whole image resized), so
 * it is resized onto the picture, which is first shrunk to a size a report viewer shows whole.
 */
import { resizeArea } from '../image/index.js';
import type { ImageMap } from '../inference/index.js';
import { basePng, overlayPng } from '../reports/index.js';
import type { ReportOverlay } from '../reports/index.js';
import type { Image } from '../image/index.js';

/** Longest side of the attached picture: enough to see the map, small enough for a FHIR resource. */
export const OVERLAY_MAX_SIDE = 512;

/**
 * @param image - the display image the model ran on, at its own resolution
 * @param map - the model's map at its input resolution
 * @param subject - what the map is about, for the title (finding or class display)
 */
export function buildOverlay(image: Image, map: ImageMap, subject: string): ReportOverlay {
  const scale = Math.min(1, OVERLAY_MAX_SIDE / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const base = resizeArea(image, width, height);
  const values = resizeArea({ width: map.width, height: map.height, channels: 1, data: map.values }, width, height).data;
  const png = overlayPng(base, { kind: map.kind, values, threshold: map.threshold });
  const title = map.kind === 'saliency' ? `AI saliency map (occlusion): ${subject}` : `AI segmentation overlay: ${subject}`;
  return { kind: map.kind, title, method: map.method, png: Buffer.from(png).toString('base64'), basePng: Buffer.from(basePng(base)).toString('base64'), width, height };
}
