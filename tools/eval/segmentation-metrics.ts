/**
 * The segmentation metrics a model card states, computed the DRIVE way: over the pixels inside
 * each image's field-of-view mask, pooled across the images, against the reference observer;
 * the second observer's agreement with the reference is the human benchmark.
 */
import { rocAuc } from './binary-metrics.js';
import type { SegmentationCase } from './test-set-types.js';

/** Pixel-overlap metrics of a binary decision against a reference, pooled over all pixels given. */
export interface OverlapMetrics {
  readonly dice: number;
  readonly accuracy: number;
  readonly sensitivity: number;
  readonly specificity: number;
}

interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** Adds a decision's counts against a reference, inside a mask, to `into`. */
function count(reference: Uint8Array, decided: (i: number) => boolean, inside: Uint8Array, into: Confusion): void {
  for (let i = 0; i < reference.length; i++) {
    if (inside[i] !== 1) continue;
    const d = decided(i);
    if (reference[i] === 1) {
      if (d) into.tp++;
      else into.fn++;
    } else if (d) into.fp++;
    else into.tn++;
  }
}

function overlap(c: Confusion): OverlapMetrics {
  return {
    dice: (2 * c.tp) / (2 * c.tp + c.fp + c.fn),
    accuracy: (c.tp + c.tn) / (c.tp + c.tn + c.fp + c.fn),
    sensitivity: c.tp / (c.tp + c.fn),
    specificity: c.tn / (c.tn + c.fp),
  };
}

/**
 * The model's metrics: pooled pixel AUC, and overlap at the threshold, inside the field of view.
 *
 * @param cases - the test cases
 * @param probabilities - per case, the class probability per pixel at the image's resolution
 * @param threshold - in the class when probability ≥ threshold (the manifest's rule)
 * @returns the metrics and the number of pixels counted
 * @throws when a probability map is missing or of the wrong size
 */
export function segmentationMetrics(cases: readonly SegmentationCase[], probabilities: readonly Float32Array[], threshold: number): OverlapMetrics & { auc: number; pixels: number } {
  const counts: Confusion = { tp: 0, fp: 0, fn: 0, tn: 0 };
  let pixels = 0;
  for (const c of cases) for (const v of c.fov) pixels += v;
  const labels = new Uint8Array(pixels);
  const scores = new Float64Array(pixels);
  let k = 0;
  cases.forEach((c, n) => {
    const p = probabilities[n];
    if (p === undefined || p.length !== c.fov.length) throw new Error(`case ${c.name}: probability map missing or of the wrong size`);
    count(c.reference, (i) => (p[i] as number) >= threshold, c.fov, counts);
    for (let i = 0; i < c.fov.length; i++) {
      if (c.fov[i] !== 1) continue;
      labels[k] = c.reference[i] as number;
      scores[k] = p[i] as number;
      k++;
    }
  });
  return { ...overlap(counts), auc: rocAuc(labels, scores), pixels };
}

/** The second observer against the reference, inside the field of view, pooled. */
export function secondObserverAgreement(cases: readonly SegmentationCase[]): OverlapMetrics {
  const counts: Confusion = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (const c of cases) count(c.reference, (i) => c.secondObserver[i] === 1, c.fov, counts);
  return overlap(counts);
}
