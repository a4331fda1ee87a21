/**
 * Ventricular volumes and function from a segmented cine short-axis series (slice summation):
 * each structure's volume per phase is the sum of its areas over the slices × slice spacing. End-diastole
 * (ED) and end-systole (ES) are the phases of largest and smallest LV-cavity volume over all the
 * phases the series offers. Myocardial mass is the LV myocardium's volume at ED × 1.05 g/mL.
 */
import type { CardiacForReport } from '../reports/index.js';

/** One phase's volumes, mL: the three structures summed over the slices. */
export interface PhaseVolumes {
  readonly rvMl: number;
  readonly myoMl: number;
  readonly lvMl: number;
}

/**
 * What a cine segmentation measures, in mL, g and % (the volumes, EF and mass as the report
 * states them), with the ED and ES phases as indices and the LV volume curve.
 */
export interface CardiacMeasures extends Pick<CardiacForReport, 'lvEdvMl' | 'lvEsvMl' | 'lvSvMl' | 'lvEfPercent' | 'lvMassG' | 'rvEdvMl' | 'rvEsvMl' | 'rvEfPercent'> {
  /** Index of the ED and ES phases in the series. */
  readonly edPhase: number;
  readonly esPhase: number;
  /** LV-cavity volume of every phase, mL (the curve ED and ES were read from). */
  readonly lvVolumeCurveMl: readonly number[];
}

/** Myocardial density used for mass, g/mL. */
export const MYOCARDIAL_DENSITY_G_PER_ML = 1.05;

const ef = (edv: number, esv: number): number | undefined => (edv > 0 ? ((edv - esv) / edv) * 100 : undefined);

/**
 * One phase's volumes by slice summation: each structure's area on every slice (mm²) times the
 * distance between slice positions.
 *
 * @param areasMm2 - per slice, the areas of RV cavity, LV myocardium and LV cavity
 * @param sliceSpacingMm - distance between slice positions (not SliceThickness)
 * @throws RangeError for a non-positive spacing
 */
export function phaseVolumes(areasMm2: readonly { readonly rv: number; readonly myo: number; readonly lv: number }[], sliceSpacingMm: number): PhaseVolumes {
  if (!(sliceSpacingMm > 0)) throw new RangeError('the slice spacing must be positive');
  const sum = (pick: (a: { rv: number; myo: number; lv: number }) => number): number => (areasMm2.reduce((t, a) => t + pick(a), 0) * sliceSpacingMm) / 1000;
  return { rvMl: sum((a) => a.rv), myoMl: sum((a) => a.myo), lvMl: sum((a) => a.lv) };
}

/**
 * Measures a segmented cine series from its phases' volumes.
 *
 * @param phases - volumes per phase, in the series' order
 * @throws RangeError for no phases
 */
export function cardiacMeasures(phases: readonly PhaseVolumes[]): CardiacMeasures {
  if (phases.length === 0) throw new RangeError('no phases to measure');
  const lvCurve = phases.map((p) => p.lvMl);
  let edPhase = 0;
  let esPhase = 0;
  lvCurve.forEach((v, i) => {
    if (v > (lvCurve[edPhase] as number)) edPhase = i;
    if (v < (lvCurve[esPhase] as number)) esPhase = i;
  });
  const ed = phases[edPhase] as PhaseVolumes;
  const es = phases[esPhase] as PhaseVolumes;
  return {
    edPhase,
    esPhase,
    lvEdvMl: ed.lvMl,
    lvEsvMl: es.lvMl,
    lvSvMl: ed.lvMl - es.lvMl,
    lvEfPercent: ef(ed.lvMl, es.lvMl),
    lvMassG: ed.myoMl * MYOCARDIAL_DENSITY_G_PER_ML,
    rvEdvMl: ed.rvMl,
    rvEsvMl: es.rvMl,
    rvEfPercent: ef(ed.rvMl, es.rvMl),
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
