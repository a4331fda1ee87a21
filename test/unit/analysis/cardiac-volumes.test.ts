import { cardiacMeasures, efBand } from '../../../src/analysis/cardiac-volumes.js';

/** A phase of `slices` 10×10 slices with `lv`, `myo` and `rv` voxels per slice. */
function phase(slices: number, lv: number, myo: number, rv: number): Uint8Array[] {
  return Array.from({ length: slices }, () => {
    const m = new Uint8Array(100);
    m.fill(3, 0, lv);
    m.fill(2, lv, lv + myo);
    m.fill(1, lv + myo, lv + myo + rv);
    return m;
  });
}

describe('cardiacMeasures', () => {
  it('finds ED and ES on the LV volume curve and measures volumes in mL from pixel area and slice spacing', () => {
    // 2 × 1.5 mm pixels, 10 mm slices: one voxel = 0.03 mL; 4 slices.
    const phases = [phase(4, 30, 20, 20), phase(4, 50, 20, 25), phase(4, 20, 22, 15), phase(4, 40, 20, 22)];
    const m = cardiacMeasures(phases, [2, 1.5], 10);
    expect([m.edPhase, m.esPhase]).toEqual([1, 2]);
    expect(m.lvEdvMl).toBeCloseTo(50 * 4 * 0.03, 9);
    expect(m.lvEsvMl).toBeCloseTo(20 * 4 * 0.03, 9);
    expect(m.lvSvMl).toBeCloseTo(30 * 4 * 0.03, 9);
    expect(m.lvEfPercent).toBeCloseTo(60, 9);
    expect(m.lvMassG).toBeCloseTo(20 * 4 * 0.03 * 1.05, 9);
    expect(m.rvEdvMl).toBeCloseTo(25 * 4 * 0.03, 9);
    expect(m.rvEfPercent).toBeCloseTo(40, 9);
    expect(m.lvVolumeCurveMl).toHaveLength(4);
  });

  it('says nothing about EF when nothing was segmented, and refuses bad spacing', () => {
    expect(cardiacMeasures([phase(2, 0, 0, 0), phase(2, 0, 0, 0)], [1, 1], 8).lvEfPercent).toBeUndefined();
    expect(() => cardiacMeasures([], [1, 1], 8)).toThrow(RangeError);
    expect(() => cardiacMeasures([phase(1, 1, 1, 1)], [1, 1], 0)).toThrow(RangeError);
  });
});

describe('efBand (ESC 2021)', () => {
  it.each([
    [25, 'reduced'],
    [40, 'reduced'],
    [40.5, 'mildly reduced'],
    [49.9, 'mildly reduced'],
    [50, 'preserved'],
    [65, 'preserved'],
  ] as const)('%d %% is %s', (value, band) => {
    expect(efBand(value)).toBe(band);
  });
});
