/**
 * The unfamiliar-image check of a classifier: `ood.json` next to `model.onnx` (written by
 * models/_shared/ood_fit.py) holds class means and a shared precision matrix of the model's
 * `features` output (the input of its final linear layer), fitted on the training split, and a
 * threshold chosen on the validation split. An image whose Mahalanobis distance
 * `min over classes c of sqrt((f − mean_c)ᵀ P (f − mean_c))` exceeds the threshold is unlike the
 * images the model was validated on: its result is shown, flagged for review, never silently.
 */
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { UnfamiliarVerdict } from './types.js';

/** The file name, in the model's folder. */
export const OOD_FILE = 'ood.json';

/** A parsed check, ready to compute distances. */
export interface OodCheck {
  /** Name of the graph output holding the features. */
  readonly output: string;
  readonly dimension: number;
  /** One mean per class of the model's output, each `dimension` long. */
  readonly means: readonly Float64Array[];
  /** The precision matrix, row-major, `dimension × dimension`. */
  readonly precision: Float64Array;
  readonly threshold: number;
}

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/** The fields the runtime uses; the file's other fields (how it was fitted) are for people. */
const OodSchema = z.looseObject({
  schemaVersion: z.literal(1),
  method: z.literal('mahalanobis'),
  output: z.string().min(1),
  featureDimension: z.int().positive(),
  classes: z.array(z.looseObject({ key: z.string(), mean: z.array(finite) })).min(1),
  precision: z.array(z.array(finite)),
  threshold: finite.refine((t) => t > 0, 'must be > 0'),
});

/** Why an `ood.json` cannot be used; its message names the problem. */
export class OodSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OodSpecError';
  }
}

/**
 * Parses and checks an `ood.json`.
 *
 * @param text - the file's contents
 * @throws OodSpecError when it is not JSON, misses a field, or its sizes disagree
 */
export function parseOodSpec(text: string): OodCheck {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new OodSpecError(`${OOD_FILE} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = OodSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new OodSpecError(`${OOD_FILE}: ${issue === undefined ? 'invalid' : `${issue.path.join('.') || '(root)'}: ${issue.message}`}`);
  }
  const spec = parsed.data;
  const d = spec.featureDimension;
  spec.classes.forEach((c, i) => {
    if (c.mean.length !== d) throw new OodSpecError(`${OOD_FILE}: classes.${i}.mean has ${c.mean.length} values, featureDimension is ${d}`);
  });
  if (spec.precision.length !== d || spec.precision.some((row) => row.length !== d)) {
    throw new OodSpecError(`${OOD_FILE}: precision must be ${d} × ${d}`);
  }
  const precision = new Float64Array(d * d);
  spec.precision.forEach((row, i) => {
    precision.set(row, i * d);
  });
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) {
      const a = precision[i * d + j] as number;
      const b = precision[j * d + i] as number;
      if (Math.abs(a - b) > 1e-6 * Math.max(1, Math.abs(a), Math.abs(b))) throw new OodSpecError(`${OOD_FILE}: precision is not symmetric at [${i}][${j}]`);
    }
  }
  return { output: spec.output, dimension: d, means: spec.classes.map((c) => Float64Array.from(c.mean)), precision, threshold: spec.threshold };
}

/**
 * The Mahalanobis distance of one image's features to the nearest class mean, in float64.
 *
 * @param check - a parsed check
 * @param features - the image's `features` output
 * @throws AppError INFERENCE_FAILED when the features are not `dimension` finite numbers
 */
export function mahalanobisDistance(check: OodCheck, features: ArrayLike<number>): number {
  const d = check.dimension;
  if (features.length !== d) throw new AppError('INFERENCE_FAILED', `The model produced ${features.length} features, expected ${d}.`);
  const diff = new Float64Array(d);
  let best = Number.POSITIVE_INFINITY;
  for (const mean of check.means) {
    for (let i = 0; i < d; i++) {
      const v = features[i] as number;
      if (!Number.isFinite(v)) throw new AppError('INFERENCE_FAILED', 'The model produced a non-finite output.');
      diff[i] = v - (mean[i] as number);
    }
    let q = 0;
    for (let i = 0; i < d; i++) {
      let row = 0;
      const base = i * d;
      for (let j = 0; j < d; j++) row += (check.precision[base + j] as number) * (diff[j] as number);
      q += (diff[i] as number) * row;
    }
    best = Math.min(best, q);
  }
  // A positive-definite precision gives q ≥ 0; rounding may leave a tiny negative.
  return Math.sqrt(Math.max(best, 0));
}

/** The verdict on one image: flagged when its distance is above the threshold. */
export function unfamiliarVerdict(check: OodCheck, features: ArrayLike<number>): UnfamiliarVerdict {
  const distance = mahalanobisDistance(check, features);
  return { distance, threshold: check.threshold, flagged: distance > check.threshold };
}
