import { BT601, preprocess } from '../../../src/inference/preprocess.js';
import type { PreprocessSpec } from '../../../src/inference/preprocess.js';
import { resizeImage } from '../../../src/inference/resize.js';
import { makeImage, noiseImage } from './support/models.js';

/** Mean of each `block`×`block` tile, computed the obvious way in float64. */
function blockMeans(data: Float32Array, width: number, height: number, block: number): number[] {
  const out: number[] = [];
  for (let by = 0; by < height / block; by++) {
    for (let bx = 0; bx < width / block; bx++) {
      let sum = 0;
      for (let y = 0; y < block; y++) for (let x = 0; x < block; x++) sum += data[(by * block + y) * width + bx * block + x] as number;
      out.push(sum / (block * block));
    }
  }
  return out;
}

/** float32 rounding of a float64 value: what an exact result stored as float32 looks like. */
const f32 = (v: number): number => Math.fround(v);

describe('resizeImage', () => {
  it('Shrinks by an integral ratio to the exact block mean (224 → 28 is an 8×8 mean)', () => {
    const img = noiseImage(224, 224, 1, 7);
    const out = resizeImage(img.data, 224, 224, 1, 28, 28);
    expect(Array.from(out)).toEqual(blockMeans(img.data, 224, 224, 8).map(f32));
  });

  it('Shrinks each channel of an interleaved RGB image independently', () => {
    const img = makeImage(4, 2, 3, (x, y, c) => (c + 1) * (x + 4 * y));
    const out = resizeImage(img.data, 4, 2, 3, 2, 1);
    // Left 2×2 block of channel c holds (c+1)·{0,1,4,5}, right block (c+1)·{2,3,6,7}.
    expect(Array.from(out)).toEqual([2.5, 5, 7.5, 4.5, 9, 13.5]);
  });

  it('Weights partially covered pixels by their overlap when the ratio is not integral', () => {
    // 5 → 2: each output covers 2.5 pixels; out0 = (0 + 1 + 0.5·2) / 2.5, out1 = (0.5·2 + 3 + 4) / 2.5.
    const out = resizeImage(Float32Array.from([0, 1, 2, 3, 4]), 5, 1, 1, 2, 1);
    expect(out[0]).toBeCloseTo(0.8, 6);
    expect(out[1]).toBeCloseTo(3.2, 6);
  });

  it('Keeps the image mean when shrinking by any ratio (area averaging loses no mass)', () => {
    const img = noiseImage(37, 23, 1, 11);
    const out = resizeImage(img.data, 37, 23, 1, 8, 6);
    const mean = (a: Float32Array): number => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(out)).toBeCloseTo(mean(img.data), 6);
  });

  it('Enlarges bilinearly with pixel centres aligned (half-pixel convention)', () => {
    const out = resizeImage(Float32Array.from([0, 1]), 2, 1, 1, 4, 1);
    expect(Array.from(out)).toEqual([0, 0.25, 0.75, 1]);
  });

  it('Shrinks one axis by area and enlarges the other bilinearly', () => {
    // 4×2 → 2×4: rows [0,1,2,3] and [4,5,6,7]; width halves (pair means), height doubles.
    const out = resizeImage(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 4, 2, 1, 2, 4);
    expect(Array.from(out)).toEqual([0.5, 2.5, 1.5, 3.5, 3.5, 5.5, 4.5, 6.5]);
  });

  it('Leaves a constant image constant at any size', () => {
    const out = resizeImage(new Float32Array(13 * 7).fill(0.3), 13, 7, 1, 5, 11);
    for (const v of out) expect(v).toBeCloseTo(0.3, 6);
  });

  it('Returns a copy when the size already fits, never the caller\'s buffer', () => {
    const data = Float32Array.from([1, 2, 3, 4]);
    const out = resizeImage(data, 2, 2, 1, 2, 2);
    expect(out).toEqual(data);
    expect(out).not.toBe(data);
  });

  it('Refuses data whose length does not match the stated size', () => {
    expect(() => resizeImage(new Float32Array(5), 2, 2, 1, 1, 1)).toThrow(new RangeError('image data has 5 values, expected 2×2×1'));
  });
});

describe('preprocess', () => {
  const gray: PreprocessSpec = { width: 2, height: 2, channels: 1, normalization: { mean: [0.5], std: [0.5] } };
  const rgb: PreprocessSpec = { width: 2, height: 2, channels: 3, normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } };

  it('Resizes, then normalises as (v − mean) / std', () => {
    const img = noiseImage(8, 8, 1, 3);
    const out = preprocess(img, gray);
    expect(Array.from(out)).toEqual(blockMeans(img.data, 8, 8, 4).map((m) => f32((f32(m) - 0.5) / 0.5)));
  });

  it('Converts RGB to grey with ITU-R BT.601 luma for a one-channel model', () => {
    const img = makeImage(2, 2, 3, (_x, _y, c) => [0.2, 0.6, 1][c] as number);
    const luma = BT601[0] * f32(0.2) + BT601[1] * f32(0.6) + BT601[2] * 1;
    expect(Array.from(preprocess(img, gray))).toEqual(Array.from({ length: 4 }, () => f32((luma - 0.5) / 0.5)));
  });

  it('Replicates grey into three channels, each normalised with its own mean and std', () => {
    const img = makeImage(2, 2, 1, () => 0.5);
    const out = preprocess(img, rgb);
    const expected = [0, 1, 2].flatMap((c) =>
      Array.from({ length: 4 }, () => f32((0.5 - (rgb.normalization.mean[c] as number)) / (rgb.normalization.std[c] as number))),
    );
    expect(Array.from(out)).toEqual(expected);
  });

  it('Lays RGB out planar (NCHW): all red, then all green, then all blue', () => {
    const img = makeImage(2, 2, 3, (x, y, c) => (c * 4 + y * 2 + x) / 16);
    const identity: PreprocessSpec = { ...rgb, normalization: { mean: [0, 0, 0], std: [1, 1, 1] } };
    expect(Array.from(preprocess(img, identity))).toEqual(Array.from({ length: 12 }, (_, i) => i / 16));
  });

  it('Refuses an image whose data does not match its size (a bug upstream)', () => {
    expect(() => preprocess({ width: 3, height: 3, channels: 1, data: new Float32Array(8) }, gray)).toThrow(
      new RangeError('image data has 8 values, expected 3×3×1'),
    );
  });
});
