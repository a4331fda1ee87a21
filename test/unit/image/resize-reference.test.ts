/**
 * The fast resize paths (cached taps, column blocks, unrolled and shared-load loops) give
 * bit-for-bit what the plain definition gives: per output value a float64 sum of weight ×
 * sample over the axis's taps in source order, divided by the axis's divisor, horizontal pass
 * first, rounded once to float32.
 */
import { resizeArea } from '../../../src/image/index.js';
import { prng } from '../../support/prng.js';

interface Taps {
  readonly first: number[];
  readonly weights: number[][];
  readonly divisor: number;
}

/** Area taps (shrinking) or bilinear taps with half-pixel centres (enlarging or keeping). */
function referenceTaps(src: number, dst: number): Taps {
  const scale = src / dst;
  const first: number[] = [];
  const weights: number[][] = [];
  for (let o = 0; o < dst; o++) {
    if (dst < src) {
      const lo = o * scale;
      const hi = o === dst - 1 ? src : Math.min((o + 1) * scale, src);
      let s0 = Math.floor(lo);
      if (Math.min(s0 + 1, hi) - Math.max(s0, lo) <= 0) s0++;
      const w: number[] = [];
      for (let s = s0; s < hi; s++) w.push(Math.min(s + 1, hi) - Math.max(s, lo));
      first.push(s0);
      weights.push(w);
    } else {
      const x = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), src - 1);
      const x0 = Math.floor(x);
      first.push(x0);
      weights.push(x0 + 1 < src ? [1 - (x - x0), x - x0] : [1 - (x - x0)]);
    }
  }
  return { first, weights, divisor: dst < src ? scale : 1 };
}

function referenceResize(data: Float32Array, width: number, height: number, c: number, outWidth: number, outHeight: number): Float32Array {
  if (width === outWidth && height === outHeight) return data.slice();
  const tx = referenceTaps(width, outWidth);
  const ty = referenceTaps(height, outHeight);
  const mid = new Float64Array(height * outWidth * c);
  for (let y = 0; y < height; y++) {
    for (let o = 0; o < outWidth; o++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        (tx.weights[o] as number[]).forEach((w, k) => {
          acc += w * (data[(y * width + (tx.first[o] as number) + k) * c + ch] as number);
        });
        mid[(y * outWidth + o) * c + ch] = acc / tx.divisor;
      }
    }
  }
  const out = new Float32Array(outHeight * outWidth * c);
  for (let oy = 0; oy < outHeight; oy++) {
    for (let i = 0; i < outWidth * c; i++) {
      let acc = 0;
      (ty.weights[oy] as number[]).forEach((w, k) => {
        acc += w * (mid[((ty.first[oy] as number) + k) * outWidth * c + i] as number);
      });
      out[oy * outWidth * c + i] = acc / ty.divisor;
    }
  }
  return out;
}


/** Indices where the two arrays differ, signed zeros and NaN included (Object.is). */
function differences(a: Float32Array, b: Float32Array): number {
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

describe('resizeArea equals the plain definition bit for bit', () => {
  it.each([
    [256, 256, 1, 224, 224], // shrink by less than 2: pairs of rows and of columns share loads
    [100, 100, 3, 224, 224], // colour enlargement: up to four rows per load
    [10, 10, 1, 224, 224],
    [512, 512, 1, 224, 224], // runs of three and four taps
    [1100, 900, 1, 224, 224], // long runs whose inner weights are exactly 1
    [224, 224, 1, 28, 28], // integral ratio
    [672, 448, 3, 224, 224], // integral ratios 3 and 2, colour
    [97, 61, 1, 96, 60],
    [5, 300, 3, 300, 5], // enlarging one axis, shrinking the other
    [1, 1, 1, 3, 2],
    [7, 1, 1, 7, 9],
  ])('%i×%i×%i → %i×%i', (w, h, c, ow, oh) => {
    const random = prng(w * 7919 + h);
    const data = Float32Array.from({ length: w * h * c }, () => random());
    expect(differences(resizeArea({ width: w, height: h, channels: c as 1 | 3, data }, ow, oh).data, referenceResize(data, w, h, c, ow, oh))).toBe(0);
  });

  it('on 150 random sizes, with signed zeros, NaN, infinities and large values among the samples', () => {
    const random = prng(2024);
    const specials = [0, -0, NaN, Infinity, -Infinity, 3.4e38, -1, 1e-40];
    let mismatched = 0;
    for (let run = 0; run < 150; run++) {
      const [w, h] = [1 + Math.floor(random() ** 2 * 400), 1 + Math.floor(random() ** 2 * 400)];
      const [ow, oh] = [1 + Math.floor(random() * 260), 1 + Math.floor(random() * 260)];
      const c = random() < 0.3 ? 3 : 1;
      const data = Float32Array.from({ length: w * h * c }, () => (random() < 0.02 ? (specials[Math.floor(random() * specials.length)] as number) : random() * 2 - 0.5));
      if (differences(resizeArea({ width: w, height: h, channels: c, data }, ow, oh).data, referenceResize(data, w, h, c, ow, oh)) > 0) mismatched++;
    }
    expect(mismatched).toBe(0);
  });
});
