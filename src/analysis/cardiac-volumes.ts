/**
 * Ventricular volumes and function from a segmented cine short-axis series (slice summation):
 * each structure's volume per phase is its voxel count × pixel area × slice spacing. End-diastole
 * (ED) and end-systole (ES) are the phases of largest and smallest LV-cavity volume over all the
 * phases the series offers. Myocardial mass is the LV myocardium's volume at ED × 1.05 g/mL.
 * Labels: 1 RV cavity, 2 LV myocardium, 3 LV cavity (ACDC's convention, which the model keeps).
 */

/** One phase's label maps, one per slice (values 0–3), all the same size. */
export type PhaseLabels = readonly Uint8Array[];

/** What a cine segmentation measures, in mL, g and %. */
export interface CardiacMeasures {
  /** Index of the ED and ES phases in the series. */
  readonly edPhase: number;
  readonly esPhase: number;
  readonly lvEdvMl: number;
  readonly lvEsvMl: number;
  readonly lvSvMl: number;
  /** LV ejection fraction, % (undefined when EDV is 0: nothing segmented). */
  readonly lvEfPercent: number | undefined;
  readonly lvMassG: number;
  readonly rvEdvMl: number;
  readonly rvEsvMl: number;
  readonly rvEfPercent: number | undefined;
  /** LV-cavity volume of every phase, mL (the curve ED and ES were read from). */
  readonly lvVolumeCurveMl: readonly number[];
}

/** Myocardial density used for mass, g/mL. */
export const MYOCARDIAL_DENSITY_G_PER_ML = 1.05;

const RV = 1;
const MYO = 2;
const LV = 3;

function counts(phase: PhaseLabels): [number, number, number, number] {
  const c: [number, number, number, number] = [0, 0, 0, 0];
  for (const slice of phase) for (const v of slice) if (v <= 3) c[v] = (c[v] as number) + 1;
  return c;
}

const ef = (edv: number, esv: number): number | undefined => (edv > 0 ? ((edv - esv) / edv) * 100 : undefined);

/**
 * Measures a segmented cine series.
 *
 * @param phases - label maps per phase, per slice
 * @param pixelSpacingMm - [between rows, between columns]
 * @param sliceSpacingMm - distance between slice positions (not SliceThickness)
 * @throws RangeError for no phases or non-positive spacings
 */
export function cardiacMeasures(phases: readonly PhaseLabels[], pixelSpacingMm: readonly [number, number], sliceSpacingMm: number): CardiacMeasures {
  if (phases.length === 0) throw new RangeError('no phases to measure');
  if (!(pixelSpacingMm[0] > 0 && pixelSpacingMm[1] > 0 && sliceSpacingMm > 0)) throw new RangeError('spacings must be positive');
  const voxelMl = (pixelSpacingMm[0] * pixelSpacingMm[1] * sliceSpacingMm) / 1000;
  const perPhase = phases.map(counts);
  const lvCurve = perPhase.map((c) => c[LV] * voxelMl);
  let edPhase = 0;
  let esPhase = 0;
  lvCurve.forEach((v, i) => {
    if (v > (lvCurve[edPhase] as number)) edPhase = i;
    if (v < (lvCurve[esPhase] as number)) esPhase = i;
  });
  const ed = perPhase[edPhase] as [number, number, number, number];
  const es = perPhase[esPhase] as [number, number, number, number];
  const lvEdvMl = ed[LV] * voxelMl;
  const lvEsvMl = es[LV] * voxelMl;
  const rvEdvMl = ed[RV] * voxelMl;
  const rvEsvMl = es[RV] * voxelMl;
  return {
    edPhase,
    esPhase,
    lvEdvMl,
    lvEsvMl,
    lvSvMl: lvEdvMl - lvEsvMl,
    lvEfPercent: ef(lvEdvMl, lvEsvMl),
    lvMassG: ed[MYO] * voxelMl * MYOCARDIAL_DENSITY_G_PER_ML,
    rvEdvMl,
    rvEsvMl,
    rvEfPercent: ef(rvEdvMl, rvEsvMl),
    lvVolumeCurveMl: lvCurve,
  };
}

/**
 * The LVEF category of the 2021 ESC heart-failure guideline (McDonagh et al., Eur Heart J 2021;
 * 42:3599–3726): reduced ≤ 40 %, mildly reduced 41–49 %, preserved ≥ 50 %. Decision support: the
 * category names the band the measured value falls in, not a diagnosis of heart failure.
 */
export function efBand(efPercent: number): 'reduced' | 'mildly reduced' | 'preserved' {
  if (efPercent <= 40) return 'reduced';
  return efPercent < 50 ? 'mildly reduced' : 'preserved';
}
