import { resizeArea } from '../../../src/image/index.js';
import type { Image } from '../../../src/image/index.js';
import { noiseImage } from '../inference/support/models.js';

function image(width: number, height: number, channels: 1 | 3, fill: (i: number) => number): Image {
  return { width, height, channels, data: Float32Array.from({ length: width * height * channels }, (_, i) => fill(i)) };
}

function sum(data: Float32Array): number {
  return data.reduce((s, v) => s + v, 0);
}

describe('resizeArea', () => {
  it('shrinks by an integer ratio to the exact mean of each block', () => {
    const src = image(4, 4, 1, (i) => i * 0.01);
    const out = resizeArea(src, 2, 2);
    const block = (x0: number, y0: number): number => {
      let s = 0;
      for (let y = y0; y < y0 + 2; y++) for (let x = x0; x < x0 + 2; x++) s += src.data[y * 4 + x] as number;
      return Math.fround(s / 4);
    };
    expect(Array.from(out.data)).toEqual([block(0, 0), block(2, 0), block(0, 2), block(2, 2)]);
  });

  it('averages each channel of an interleaved colour image separately', () => {
    // 2 × 1 → 1 × 1: R (0.1, 0.3), G (0.2, 0.4), B (0.5, 1.0)
    const src: Image = { width: 2, height: 1, channels: 3, data: Float32Array.of(0.1, 0.2, 0.5, 0.3, 0.4, 1.0) };
    const out = resizeArea(src, 1, 1);
    expect(out).toMatchObject({ width: 1, height: 1, channels: 3 });
    const mean = (i: number): number => Math.fround(((src.data[i] as number) + (src.data[i + 3] as number)) / 2);
    expect(Array.from(out.data)).toEqual([mean(0), mean(1), mean(2)]);
    expect(Array.from(out.data).map((v) => Number(v.toFixed(6)))).toEqual([0.2, 0.3, 0.75]);
  });

  it('weights fractional overlaps by area (3 → 2 pixels: each output covers 1.5 inputs)', () => {
    const out = resizeArea({ width: 3, height: 1, channels: 1, data: Float32Array.of(0, 0.6, 0.9) }, 2, 1);
    expect(out.data[0]).toBeCloseTo((0 + 0.5 * 0.6) / 1.5, 6);
    expect(out.data[1]).toBeCloseTo((0.5 * 0.6 + 0.9) / 1.5, 6);
  });

  it.each([
    [5, 5, 3, 3],
    [512, 512, 224, 224],
    [300, 200, 7, 13],
    [97, 61, 96, 60],
  ])('preserves total intensity shrinking %i×%i to %i×%i', (w, h, ow, oh) => {
    const src = image(w, h, 1, (i) => ((i * 2654435761) % 1000) / 1000);
    const out = resizeArea(src, ow, oh);
    expect(out.data).toHaveLength(ow * oh);
    expect((sum(out.data) * (w * h)) / (ow * oh)).toBeCloseTo(sum(src.data), 0);
    expect(Math.abs((sum(out.data) * (w * h)) / (ow * oh) / sum(src.data) - 1)).toBeLessThan(1e-5);
  });

  it('keeps a constant image constant at any size', () => {
    for (const [w, h] of [[3, 3], [7, 2], [20, 31], [1, 1]] as const) {
      const out = resizeArea(image(10, 10, 3, () => 0.25), w, h);
      expect(out.data.every((v) => Math.abs(v - 0.25) < 1e-7)).toBe(true);
    }
  });

  it('enlarges bilinearly with half-pixel centres, clamped at the edges', () => {
    const out = resizeArea({ width: 2, height: 1, channels: 1, data: Float32Array.of(0, 1) }, 4, 1);
    expect(Array.from(out.data)).toEqual([0, 0.25, 0.75, 1]);
  });

  it('mixes shrinking on one axis with enlarging on the other', () => {
    const out = resizeArea(image(4, 2, 1, (i) => (i < 4 ? 0 : 1)), 2, 4);
    expect(Array.from(out.data)).toEqual([0, 0, 0.25, 0.25, 0.75, 0.75, 1, 1]);
  });

  it('returns a copy, not the same buffer, at the same size', () => {
    const src = image(3, 2, 1, (i) => i);
    const out = resizeArea(src, 3, 2);
    expect(out.data).toEqual(src.data);
    expect(out.data).not.toBe(src.data);
  });

  it('refuses a zero or fractional size', () => {
    const src = image(3, 2, 1, (i) => i);
    expect(() => resizeArea(src, 0, 2)).toThrow(new RangeError('Output size must be positive integers, not 0 × 2.'));
    expect(() => resizeArea(src, 1.5, 2)).toThrow(RangeError);
  });

  it('shrinks 224 → 28 to the exact 8×8 block mean, as the training data was made', () => {
    const img = noiseImage(224, 224, 1, 7);
    const out = resizeArea(img, 28, 28);
    const means: number[] = [];
    for (let by = 0; by < 28; by++) {
      for (let bx = 0; bx < 28; bx++) {
        let s = 0;
        for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) s += img.data[(by * 8 + y) * 224 + bx * 8 + x] as number;
        means.push(Math.fround(s / 64));
      }
    }
    expect(Array.from(out.data)).toEqual(means);
  });

  it('keeps the image mean when shrinking by any ratio (area averaging loses no mass)', () => {
    const img = noiseImage(37, 23, 1, 11);
    const out = resizeArea(img, 8, 6);
    const mean = (a: Float32Array): number => a.reduce((t, v) => t + v, 0) / a.length;
    expect(mean(out.data)).toBeCloseTo(mean(img.data), 6);
  });

  it('scales the pixel spacing with the size, so areas measured after resizing stay in mm²', () => {
    const out = resizeArea({ ...image(4, 2, 1, () => 0), pixelSpacingMm: [0.5, 0.25] }, 2, 4);
    expect(out.pixelSpacingMm).toEqual([0.25, 0.5]);
  });

  it('refuses data whose length does not match the stated size', () => {
    expect(() => resizeArea({ width: 2, height: 2, channels: 1, data: new Float32Array(5) }, 1, 1)).toThrow(new RangeError('image data has 5 values, expected 2×2×1'));
  });
});
