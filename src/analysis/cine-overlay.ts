/**
 * The cardiac report's picture: the mid-ventricular slice at end-diastole (left) and end-systole
 * (right), side by side, with the three structures in colour-blind-safe colours (Okabe–Ito):
 * RV cavity blue, LV myocardium yellow, LV cavity vermilion.
 */
import { resizeArea } from '../image/index.js';
import { basePng, labelOverlayPng } from '../reports/index.js';
import type { ReportOverlay } from '../reports/index.js';
import type { CineAnalysis, ImageMasks, SliceView } from './cine-analysis.js';

/** Side of each panel, px: big enough to see the outlines, small enough for a FHIR attachment. */
export const CINE_PANEL_SIDE = 256;
/** Gap between the panels, px. */
const GAP = 4;
export const CINE_COLOURS = [
  [0, 114, 178],
  [240, 228, 66],
  [213, 94, 0],
] as const satisfies readonly (readonly [number, number, number])[];

/** One label per pixel at `width`×`height` (nearest neighbour from the masks' own grid); LV cavity over myocardium over RV. */
function labelsAt(masks: ImageMasks, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(masks.height - 1, Math.floor(((y + 0.5) * masks.height) / height));
    for (let x = 0; x < width; x++) {
      const i = sy * masks.width + Math.min(masks.width - 1, Math.floor(((x + 0.5) * masks.width) / width));
      out[y * width + x] = masks.planes[2][i] === 1 ? 3 : masks.planes[1][i] === 1 ? 2 : masks.planes[0][i] === 1 ? 1 : 0;
    }
  }
  return out;
}

/** A panel's grey image and labels, scaled to fit {@link CINE_PANEL_SIDE}. */
function panel(view: SliceView, width: number, height: number): { grey: Float32Array; labels: Uint8Array } {
  const base = resizeArea({ ...view.display, channels: 1, data: greyOf(view) }, width, height);
  return { grey: base.data, labels: labelsAt(view.masks, width, height) };
}

/** The display image as one grey channel (a colour display, which MR never is, is averaged). */
function greyOf(view: SliceView): Float32Array {
  const { display } = view;
  if (display.channels === 1) return display.data;
  return Float32Array.from({ length: display.width * display.height }, (_, i) => ((display.data[3 * i] as number) + (display.data[3 * i + 1] as number) + (display.data[3 * i + 2] as number)) / 3);
}

/**
 * @param cine - the measured series (its mid-ventricular slice at ED and ES)
 * @param modelName - for the method sentence
 */
export function buildCineOverlay(cine: CineAnalysis, modelName: string): ReportOverlay {
  const { display } = cine.midEd;
  const scale = CINE_PANEL_SIDE / Math.max(display.width, display.height);
  const w = Math.max(1, Math.round(display.width * scale));
  const h = Math.max(1, Math.round(display.height * scale));
  const ed = panel(cine.midEd, w, h);
  const es = panel(cine.midEs, w, h);
  const width = 2 * w + GAP;
  const grey = new Float32Array(width * h);
  const labels = new Uint8Array(width * h);
  for (let y = 0; y < h; y++) {
    grey.set(ed.grey.subarray(y * w, (y + 1) * w), y * width);
    labels.set(ed.labels.subarray(y * w, (y + 1) * w), y * width);
    grey.set(es.grey.subarray(y * w, (y + 1) * w), y * width + w + GAP);
    labels.set(es.labels.subarray(y * w, (y + 1) * w), y * width + w + GAP);
  }
  const base = { width, height: h, channels: 1 as const, data: grey };
  const png = labelOverlayPng(base, { labels, colours: CINE_COLOURS });
  const m = cine.measures;
  return {
    kind: 'mask',
    title: `AI segmentation overlay: slice ${cine.midSlice + 1} of ${cine.sliceCount} at end-diastole (left, phase ${m.edPhase + 1}) and end-systole (right, phase ${m.esPhase + 1})`,
    method: `${modelName}: right-ventricular cavity in blue, left-ventricular myocardium in yellow, left-ventricular cavity in vermilion, where the model's probability reaches its threshold; the slice is the middle of those showing the LV cavity at end-diastole.`,
    png: Buffer.from(png).toString('base64'),
    basePng: Buffer.from(basePng(base)).toString('base64'),
    width,
    height: h,
  };
}
