/**
 * The cardiac overlay: ED and ES panels side by side, each structure in its colour over the grey
 * slice, and the same picture without the colours for a viewer to fade between.
 */
import { decode } from 'fast-png';
import { cardiacMeasures } from '../../../src/analysis/cardiac-volumes.js';
import type { CineAnalysis, ImageMasks } from '../../../src/analysis/cine-analysis.js';
import { buildCineOverlay, CINE_COLOURS, CINE_PANEL_SIDE } from '../../../src/analysis/cine-overlay.js';
import type { DicomImageInfo } from '../../../src/dicom/types.js';

const masks = (lv: number): ImageMasks => ({
  sopInstanceUid: '1.2',
  width: 2,
  height: 2,
  // RV top-left, myocardium top-right, LV cavity at index `lv`.
  planes: [Uint8Array.from([1, 0, 0, 0]), Uint8Array.from([0, 1, 0, 0]), Uint8Array.from([0, 1, 2, 3], (i) => (i === lv ? 1 : 0))],
});
const display = { width: 2, height: 2, channels: 1 as const, data: Float32Array.from([0.5, 0.5, 0.5, 0.5]) };

const cine = {
  measures: cardiacMeasures([{ rvMl: 1, myoMl: 1, lvMl: 2 }, { rvMl: 1, myoMl: 1, lvMl: 1 }]),
  phaseCount: 2,
  sliceCount: 1,
  midSlice: 0,
  midEd: { display, masks: masks(2) },
  midEs: { display, masks: masks(3) },
  firstInfo: {} as DicomImageInfo,
} as unknown as CineAnalysis;

describe('buildCineOverlay', () => {
  it('draws ED left and ES right, each structure in its colour, and the picture without them', () => {
    const overlay = buildCineOverlay(cine, 'Cardiac model');
    expect([overlay.width, overlay.height]).toEqual([2 * CINE_PANEL_SIDE + 4, CINE_PANEL_SIDE]);
    expect(overlay.title).toBe('AI segmentation overlay: slice 1 of 1 at end-diastole (left, phase 1) and end-systole (right, phase 2)');
    const png = decode(Buffer.from(overlay.png, 'base64'));
    const base = decode(Buffer.from(overlay.basePng ?? '', 'base64'));
    const at = (img: typeof png, x: number, y: number): number[] => [...img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3)];
    const blend = (c: readonly number[]): number[] => c.map((v) => Math.round(0.4 * 127.5 + 0.6 * v));
    const q = CINE_PANEL_SIDE / 4;
    // ED panel: LV cavity bottom-left; ES panel: bottom-right; RV top-left in both.
    expect(at(png, q, 3 * q)).toEqual(blend(CINE_COLOURS[2]));
    expect(at(png, CINE_PANEL_SIDE + 4 + 3 * q, 3 * q)).toEqual(blend(CINE_COLOURS[2]));
    expect(at(png, CINE_PANEL_SIDE + 4 + q, 3 * q)).toEqual([128, 128, 128]);
    expect(at(png, q, q)).toEqual(blend(CINE_COLOURS[0]));
    expect(at(base, q, 3 * q)).toEqual([128, 128, 128]);
  });
});
