import { largestComponent3d } from '../../../src/analysis/largest-component.js';

const plane = (rows: string[]): Uint8Array => Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0));
const show = (p: Uint8Array, width: number): string[] => Array.from({ length: p.length / width }, (_, y) => [...p.subarray(y * width, (y + 1) * width)].map((v) => (v === 1 ? '#' : '.')).join(''));

describe('largestComponent3d', () => {
  it('keeps the largest body, joined across slices, and drops stray blobs', () => {
    const slices = [plane(['##..', '##..', '...#']), plane(['....', '.#..', '....']), plane(['....', '..#.', '....']), plane(['#...', '....', '....'])];
    const out = largestComponent3d(slices, 4, 3);
    // 4 + 1 + 1 voxels joined by 26-connectivity (diagonals across slices count); the corner of
    // slice 0 and the voxel of slice 3 (two slices from any other) are strays.
    expect(out.map((p) => show(p, 4))).toEqual([['##..', '##..', '....'], ['....', '.#..', '....'], ['....', '..#.', '....'], ['....', '....', '....']]);
  });

  it('keeps nothing of an empty volume, and the first of two equal components', () => {
    expect(largestComponent3d([plane(['..', '..'])], 2, 2).map((p) => [...p])).toEqual([[0, 0, 0, 0]]);
    expect(largestComponent3d([plane(['#.', '..']), plane(['..', '..']), plane(['..', '.#'])], 2, 2).map((p) => show(p, 2))).toEqual([['#.', '..'], ['..', '..'], ['..', '..']]);
  });

  it('refuses planes of the wrong size', () => {
    expect(() => largestComponent3d([new Uint8Array(3)], 2, 2)).toThrow(RangeError);
  });
});
