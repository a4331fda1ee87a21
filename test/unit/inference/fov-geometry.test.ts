/**
 * Segmentation input normalised by the field of view's size (`resize: "fov-diameter"`): the
 * diameter rule, the placement (aspect kept, padded or cropped), the model-input image and the
 * mapping of the output back onto the source image.
 */
import path from 'node:path';
import { fovExtent, placementFor, toModelGeometry, toSourceGeometry, visibleRegion } from '../../../src/inference/fov-geometry.js';
import type { FovResizeSpec, PlacementInput } from '../../../src/inference/fov-geometry.js';
import { parseManifest } from '../../../src/inference/manifest.js';
import type { SegmentationManifest } from '../../../src/inference/manifest.js';
import { preprocess } from '../../../src/inference/preprocess.js';
import { segmentationResult } from '../../../src/inference/segment.js';
import { resizeArea } from '../../../src/image/index.js';
import type { Image } from '../../../src/image/index.js';
import { thrown } from '../dicom/support/thrown.js';
import { edit, fixtureManifest, FIXTURE_MODELS, makeImage } from './support/models.js';

/** A bright disc of diameter 2r (pixel centres inside the circle) centred at (cx, cy) on black, RGB. */
function disc(width: number, height: number, cx: number, cy: number, r: number, value = 0.6): Image {
  return makeImage(width, height, 3, (x, y) => ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r ? value : 0));
}

const SPEC: FovResizeSpec = { diameter: 40, minIntensity: 0.1, chordFraction: 0.1, tolerance: 0 };
const input = (over: Partial<FovResizeSpec> = {}, width = 48, height = 50): PlacementInput => ({ width, height, resize: 'fov-diameter', fieldOfView: { ...SPEC, ...over } });

describe('fovExtent', () => {
  it('Measures a disc by its horizontal extent and finds its centre', () => {
    expect(fovExtent(disc(120, 100, 60, 50, 30), 0.1, 0.1)).toEqual({ diameter: 60, centreX: 60, centreY: 50 });
  });

  it('Ignores stray bright pixels outside the disc and a disc cut off at the top and bottom', () => {
    const img = disc(120, 60, 60, 30, 40);
    img.data.set([1, 1, 1], 0); // one bright corner pixel, e.g. a text overlay
    expect(fovExtent(img, 0.1, 0.1)?.diameter).toBe(80);
  });

  it('Finds nothing on a black image', () => {
    expect(fovExtent(makeImage(10, 10, 3, () => 0), 0.1, 0.1)).toBeUndefined();
  });
});

describe('placementFor', () => {
  it('Scales both axes alike so the field of view is the target diameter, and crops around it where the image is too wide', () => {
    // A wide 200×100 frame with an 80-pixel disc right of centre: scale 0.5 → 100×50, cropped to 48 columns around the disc.
    const p = placementFor(disc(200, 100, 120, 50, 40), input());
    expect(p).toMatchObject({ basis: 'field-of-view', measuredDiameter: 80, scaleX: 0.5, scaleY: 0.5, scaledWidth: 100, scaledHeight: 50, offsetY: 0 });
    // Disc centre at 60 scaled pixels: the 48-column window starts at 36.
    expect(p.offsetX).toBe(-36);
  });

  it('Pads a small image, centred, after enlarging it', () => {
    const p = placementFor(disc(30, 24, 15, 12, 10), input());
    expect(p).toMatchObject({ scaleX: 2, scaleY: 2, scaledWidth: 60, scaledHeight: 48, offsetY: 1 });
    expect(p.offsetX).toBe(-6);
  });

  it('Leaves an image whose field of view is within the tolerance of the target unscaled', () => {
    expect(placementFor(disc(48, 50, 24, 25, 21), input({ tolerance: 0.05 }))).toMatchObject({ scaleX: 1, scaleY: 1, scaledWidth: 48, scaledHeight: 50, offsetX: 0, offsetY: 0 });
    expect(placementFor(disc(48, 50, 24, 25, 21), input()).scaleX).toBeCloseTo(40 / 42, 12);
  });

  it('Uses the pixel spacing when the manifest states the training spacing and the image states its own', () => {
    const img = { ...disc(40, 40, 20, 20, 10), pixelSpacingMm: [0.02, 0.03] as const };
    // Pixel Spacing is [between rows, between columns]: 0.03 mm columns → scale 2 across, 0.02 mm rows → 4/3 down.
    const p = placementFor(img, input({ pixelSpacingMm: 0.015 }));
    expect(p).toMatchObject({ basis: 'pixel-spacing', scaledWidth: 80, scaledHeight: 53 });
    expect([p.scaleX, p.scaleY]).toEqual([expect.closeTo(2, 12), expect.closeTo(4 / 3, 12)]);
    // Without a spacing on the image the field of view decides.
    expect(placementFor(disc(40, 40, 20, 20, 10), input({ pixelSpacingMm: 0.015 })).basis).toBe('field-of-view');
  });

  it('Stretches to the input size when the manifest resizes by area', () => {
    expect(placementFor(disc(100, 50, 50, 25, 20), { width: 48, height: 50, resize: 'area' })).toMatchObject({ basis: 'stretch', scaleX: 0.48, scaleY: 1, offsetX: 0, offsetY: 0 });
  });

  it('Refuses an image without a field of view, or with one too small to bring to the training scale', () => {
    expect(thrown(() => placementFor(makeImage(40, 40, 3, () => 0), input()))).toMatchObject({ code: 'IMAGE_UNSUITABLE' });
    expect(thrown(() => placementFor(disc(400, 400, 200, 200, 4), input()))).toMatchObject({ code: 'IMAGE_UNSUITABLE' });
  });
});

describe('model geometry and back', () => {
  it('Puts the scaled image on a black canvas at its offset', () => {
    const img = disc(30, 24, 15, 12, 10);
    const p = placementFor(img, input());
    const model = toModelGeometry(img, p, input());
    expect([model.width, model.height, model.channels]).toEqual([48, 50, 3]);
    const scaled = resizeArea(img, 60, 48);
    // Row 0 is padding; row 1 is the scaled image's row 0 from column 6 on.
    expect(Array.from(model.data.subarray(0, 48 * 3)).every((v) => v === 0)).toBe(true);
    expect(Array.from(model.data.subarray(48 * 3, 2 * 48 * 3))).toEqual(Array.from(scaled.data.subarray(6 * 3, (6 + 48) * 3)));
    expect(visibleRegion(p, input())).toEqual({ x0: 0, x1: 48, y0: 1, y1: 49 });
  });

  it('Maps a model-resolution map back onto the source exactly when the image was only padded', () => {
    const img = makeImage(40, 30, 1, (x, y) => ((x * 7 + y * 3) % 11) / 11);
    const p = placementFor(img, { width: 48, height: 50, resize: 'fov-diameter', fieldOfView: { ...SPEC, minIntensity: 0, tolerance: 0.5 } });
    expect(p).toMatchObject({ scaleX: 1, offsetX: 4, offsetY: 10 });
    const model = toModelGeometry(img, p, input());
    expect(Array.from(toSourceGeometry(model.data, p, input(), 40, 30))).toEqual(Array.from(img.data));
  });

  it('Maps back through a scale: a map of the model input returns close to the source, cropped parts as 0', () => {
    // 200×100, disc of 80 → scale 0.5 and columns cropped: the source's left and right ends were never seen.
    const img = disc(200, 100, 120, 50, 40);
    const p = placementFor(img, input());
    const grey = toModelGeometry({ ...img, channels: 1, data: img.data.filter((_, i) => i % 3 === 0) }, p, input());
    const back = toSourceGeometry(grey.data, p, input(), 200, 100);
    expect(back).toHaveLength(200 * 100);
    // Column 10 lies left of the window (scaled column 5 < 36): 0. The disc centre keeps its value.
    expect(back[50 * 200 + 10]).toBe(0);
    expect(back[50 * 200 + 120]).toBeCloseTo(0.6, 5);
    // Inside the visible window the map agrees with the source away from the disc's rim.
    let agree = 0;
    let inside = 0;
    for (let y = 0; y < 100; y++) {
      for (let x = 80; x < 160; x++) {
        const d = Math.hypot(x + 0.5 - 120, y + 0.5 - 50);
        if (Math.abs(d - 40) < 3) continue;
        inside++;
        if (Math.abs((back[y * 200 + x] as number) - (img.data[(y * 200 + x) * 3] as number)) < 1e-6) agree++;
      }
    }
    expect(agree).toBe(inside);
  });
});

describe('segmentation with resize "fov-diameter"', () => {
  /** tiny-seg (8×8) made to normalise by a 6-pixel field of view. */
  function fovManifest(): SegmentationManifest {
    let json = edit(fixtureManifest('tiny-seg'), 'input.resize', 'fov-diameter');
    json = edit(json, 'input.fieldOfView', { diameter: 6, minIntensity: 0.1 });
    const m = parseManifest(json, path.join(FIXTURE_MODELS, 'tiny-seg'));
    if (m.task !== 'segmentation') throw new Error('tiny-seg must parse as segmentation');
    return m;
  }

  it('Fills in the defaults of the field-of-view rule', () => {
    expect(fovManifest().input.fieldOfView).toEqual({ diameter: 6, minIntensity: 0.1, chordFraction: 0.1, tolerance: 0 });
  });

  it('Feeds the network the scaled image padded with black, measures over the image only and maps the mask back onto it', () => {
    const m = fovManifest();
    // A 24×12 frame (with 0.1 mm pixels) whose field of view is a 12-pixel square block of columns 6–17: scale 0.5 → 12×6.
    const img = { ...makeImage(24, 12, 3, (x) => (x >= 6 && x < 18 ? (x < 12 ? 0.9 : 0.3) : 0)), pixelSpacingMm: [0.1, 0.1] as const };
    const tensor = preprocess(img, m.input);
    const p = placementFor(img, m.input);
    expect(p).toMatchObject({ scaleX: 0.5, scaledWidth: 12, scaledHeight: 6, offsetY: 1 });
    // Padding rows 0 and 7 are black: (0 − 0.5) / 0.5 = −1 in every channel.
    expect(Array.from(tensor.subarray(0, 8)).every((v) => v === -1)).toBe(true);
    // tiny-seg: logit = 4 · mean of the normalised channels.
    const logits = new Float32Array(64);
    for (let i = 0; i < 64; i++) logits[i] = (4 * ((tensor[i] as number) + (tensor[64 + i] as number) + (tensor[128 + i] as number))) / 3;
    const { measurements, map } = segmentationResult(m, tensor, logits, img);
    const [bright] = measurements;
    // Inside the 6 visible rows: the field of view is 6 columns, half of it bright.
    expect(bright?.fractionOfFieldOfView).toBeCloseTo(0.5, 12);
    expect(bright?.fieldOfViewFraction).toBeCloseTo(36 / 48, 12);
    // 18 model pixels, each 2×2 source pixels of 0.01 mm².
    expect(bright?.areaMm2).toBeCloseTo(18 * 0.04, 9);
    expect([map.width, map.height, map.values.length]).toEqual([24, 12, 288]);
    // The bright half of the field of view is bright on the source too, the darker half not.
    expect(map.values[5 * 24 + 8]).toBeGreaterThan(0.5);
    expect(map.values[5 * 24 + 14]).toBeLessThan(0.5);
    expect(map.method).toMatch(/field of view is 6 pixels across.*mapped back onto the image/);
  });

  it('Needs the source pixels to map the result back', () => {
    const m = fovManifest();
    expect(() => segmentationResult(m, new Float32Array(192), new Float32Array(64), { width: 24, height: 12 })).toThrow('needs the source pixels');
  });

  it.each([
    ['fov-diameter without its rule', (j: ReturnType<typeof fixtureManifest>) => edit(j, 'input.resize', 'fov-diameter'), 'input.fieldOfView: required when resize is "fov-diameter"'],
    ['a field-of-view rule with resize "area"', (j: ReturnType<typeof fixtureManifest>) => edit(j, 'input.fieldOfView', { diameter: 6, minIntensity: 0.1 }), 'input.fieldOfView: only allowed when resize is "fov-diameter"'],
    [
      'a target diameter larger than the input',
      (j: ReturnType<typeof fixtureManifest>) => edit(edit(j, 'input.resize', 'fov-diameter'), 'input.fieldOfView', { diameter: 9, minIntensity: 0.1 }),
      'input.fieldOfView.diameter: 9 does not fit the 8×8 input',
    ],
  ])('Refuses %s', (_name, change, message) => {
    expect(() => parseManifest(change(fixtureManifest('tiny-seg')), path.join(FIXTURE_MODELS, 'tiny-seg'))).toThrow(message);
  });
});
