/**
 * Uncertainty and calibration numbers for a binary classifier's probabilities: seeded percentile
 * bootstrap confidence intervals over the cases, and the expected calibration error with its
 * reliability table (equal-width bins of the finding's probability).
 */
import { rocAuc } from './binary-metrics.js';
import { mulberry32 } from '../prng.js';

/** The q-quantile (0…1) of sorted values, linear between order statistics (NumPy's default). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  return a + ((sorted[hi] as number) - a) * (pos - lo);
}

/** How the intervals are drawn. */
export interface BootstrapOptions {
  /** Resamples (default 2000). */
  readonly resamples?: number;
  /** Seed of the generator (default 12345); every call starts a fresh generator from it. */
  readonly seed?: number;
}

/** Numbers of one subgroup at one threshold, with 95% percentile bootstrap intervals. */
export interface BinarySummary {
  readonly n: number;
  readonly positives: number;
  readonly negatives: number;
  /** Null when one class is absent. */
  readonly auc: number | null;
  readonly auc95: readonly [number, number] | null;
  readonly sensitivity: number | null;
  readonly sensitivity95: readonly [number, number] | null;
  readonly specificity: number | null;
  readonly specificity95: readonly [number, number] | null;
  /** Expected calibration error, 10 equal-width bins of the probability. */
  readonly ece10: number;
}

/** One bin of a reliability table. */
export interface ReliabilityBin {
  /** [lower, upper): the last bin also holds 1. */
  readonly bin: readonly [number, number];
  readonly count: number;
  /** Null when the bin is empty. */
  readonly meanPredicted: number | null;
  readonly observedRate: number | null;
}

/**
 * The reliability table and ECE: cases binned by probability into `bins` equal-width bins
 * ([k/bins, (k+1)/bins), the last closed), ECE = Σ n_k/N · |mean probability − observed rate|.
 */
export function reliability(labels: ArrayLike<number>, probabilities: ArrayLike<number>, bins = 10): { ece: number; table: ReliabilityBin[] } {
  const n = labels.length;
  const count = new Array<number>(bins).fill(0);
  const sumP = new Array<number>(bins).fill(0);
  const sumY = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) {
    const p = probabilities[i] as number;
    const k = Math.min(Math.floor(p * bins), bins - 1);
    count[k] = (count[k] as number) + 1;
    sumP[k] = (sumP[k] as number) + p;
    sumY[k] = (sumY[k] as number) + (labels[i] === 1 ? 1 : 0);
  }
  let ece = 0;
  const table: ReliabilityBin[] = [];
  for (let k = 0; k < bins; k++) {
    const c = count[k] as number;
    const meanP = c > 0 ? (sumP[k] as number) / c : null;
    const rate = c > 0 ? (sumY[k] as number) / c : null;
    if (meanP !== null && rate !== null) ece += (c / n) * Math.abs(meanP - rate);
    table.push({ bin: [k / bins, (k + 1) / bins], count: c, meanPredicted: meanP, observedRate: rate });
  }
  return { ece, table };
}

function rates(labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold: number): { sens: number; spec: number; pos: number } {
  let tp = 0;
  let tn = 0;
  let pos = 0;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const flagged = (probabilities[i] as number) >= threshold;
    if (labels[i] === 1) {
      pos++;
      if (flagged) tp++;
    } else if (!flagged) tn++;
  }
  return { sens: pos > 0 ? tp / pos : Number.NaN, spec: n - pos > 0 ? tn / (n - pos) : Number.NaN, pos };
}

function interval(values: number[]): readonly [number, number] | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return v.length === 0 ? null : [quantileSorted(v, 0.025), quantileSorted(v, 0.975)];
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/**
 * AUC, sensitivity and specificity of `probability >= threshold` with 95% percentile bootstrap
 * intervals (cases resampled with replacement; a resample lacking a class is left out of that
 * class's statistics), and the 10-bin ECE.
 */
export function summariseBinary(labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold: number, options: BootstrapOptions = {}): BinarySummary {
  const n = labels.length;
  const resamples = options.resamples ?? 2000;
  const next = mulberry32(options.seed ?? 12345);
  const point = rates(labels, probabilities, threshold);
  const auc = n > 0 ? rocAuc(labels, probabilities) : Number.NaN;
  const aucs: number[] = [];
  const sens: number[] = [];
  const spec: number[] = [];
  const y = new Uint8Array(n);
  const p = new Float64Array(n);
  for (let r = 0; r < resamples && n > 0; r++) {
    for (let j = 0; j < n; j++) {
      const i = Math.floor(next() * n);
      y[j] = labels[i] as number;
      p[j] = probabilities[i] as number;
    }
    aucs.push(rocAuc(y, p));
    const s = rates(y, p, threshold);
    sens.push(s.sens);
    spec.push(s.spec);
  }
  const both = point.pos > 0 && n - point.pos > 0;
  return {
    n,
    positives: point.pos,
    negatives: n - point.pos,
    auc: finite(auc),
    auc95: both ? interval(aucs) : null,
    sensitivity: finite(point.sens),
    sensitivity95: point.pos > 0 ? interval(sens) : null,
    specificity: finite(point.spec),
    specificity95: n - point.pos > 0 ? interval(spec) : null,
    ece10: n > 0 ? reliability(labels, probabilities).ece : Number.NaN,
  };
}

/** A share with its 95% percentile bootstrap interval. */
export interface Share {
  readonly n: number;
  readonly count: number;
  readonly share: number | null;
  readonly share95: readonly [number, number] | null;
}

/** The share of `flags` that are true, with a seeded percentile bootstrap interval. */
export function shareWithInterval(flags: readonly boolean[], options: BootstrapOptions = {}): Share {
  const n = flags.length;
  const count = flags.filter(Boolean).length;
  if (n === 0) return { n, count, share: null, share95: null };
  const next = mulberry32(options.seed ?? 12345);
  const shares: number[] = [];
  for (let r = 0; r < (options.resamples ?? 2000); r++) {
    let c = 0;
    for (let j = 0; j < n; j++) if (flags[Math.floor(next() * n)] === true) c++;
    shares.push(c / n);
  }
  return { n, count, share: count / n, share95: interval(shares) };
}
