import { cardiacMeasures, efBand, phaseVolumes } from '../../../src/analysis/cardiac-volumes.js';

/** A phase of `slices` slices with these areas (mm²) on each, 10 mm apart. */
const phase = (slices: number, lv: number, myo: number, rv: number): ReturnType<typeof phaseVolumes> => phaseVolumes(Array.from({ length: slices }, () => ({ lv, myo, rv })), 10);

describe('cardiacMeasures', () => {
  it('finds ED and ES on the LV volume curve and measures volumes in mL by slice summation', () => {
    // 4 slices 10 mm apart: 1 mm² on every slice is 0.04 mL.
    const phases = [phase(4, 300, 200, 200), phase(4, 500, 200, 250), phase(4, 200, 220, 150), phase(4, 400, 200, 220)];
    const m = cardiacMeasures(phases);
    expect([m.edPhase, m.esPhase]).toEqual([1, 2]);
    expect(m.lvEdvMl).toBeCloseTo(20, 9);
    expect(m.lvEsvMl).toBeCloseTo(8, 9);
    expect(m.lvSvMl).toBeCloseTo(12, 9);
    expect(m.lvEfPercent).toBeCloseTo(60, 9);
    expect(m.lvMassG).toBeCloseTo(8 * 1.05, 9);
    expect(m.rvEdvMl).toBeCloseTo(10, 9);
    expect(m.rvEfPercent).toBeCloseTo(40, 9);
    expect(m.lvVolumeCurveMl).toHaveLength(4);
  });

  it('says nothing about EF when nothing was segmented, and refuses no phases or a bad spacing', () => {
    expect(cardiacMeasures([phase(2, 0, 0, 0), phase(2, 0, 0, 0)]).lvEfPercent).toBeUndefined();
    expect(() => cardiacMeasures([])).toThrow(RangeError);
    expect(() => phaseVolumes([{ lv: 1, myo: 1, rv: 1 }], 0)).toThrow(RangeError);
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
