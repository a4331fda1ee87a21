import { BT601, preprocess } from '../../../src/inference/preprocess.js';
import type { PreprocessSpec } from '../../../src/inference/preprocess.js';
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

describe('preprocess', () => {
  const gray: PreprocessSpec = { width: 2, height: 2, channels: 1, normalization: { mean: [0.5], std: [0.5] } };
  const rgb: PreprocessSpec = { width: 2, height: 2, channels: 3, normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } };

  it('refuses an image with a value that is not a finite number (a corrupt Rescale Slope), instead of feeding NaN to a model', () => {
    const img = makeImage(2, 2, 1, (x) => (x === 0 ? Number.NaN : 0.5));
    let thrown: unknown;
    try {
      preprocess(img, gray);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ name: 'AppError', code: 'IMAGE_UNSUITABLE' });
  });

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
