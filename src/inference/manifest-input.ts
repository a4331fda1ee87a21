/**
 * The manifest's `input`: what the model sees (size, windowing, resize, normalisation) and, for a
 * model that measures a whole series, which series it reads (`input.series`).
 */
import { z } from 'zod';
import type { WindowingSpec } from '../image/index.js';
import type { FovResizeSpec } from './fov-geometry.js';

/**
 * `cine-short-axis`: the model segments every image of a cine short-axis MR series (slices ×
 * cardiac phases) and the series is measured as a whole (src/analysis/cine-analysis.ts). Absent:
 * the model looks at one image.
 */
export const SeriesInputSchema = z.enum(['cine-short-axis'], 'must be "cine-short-axis"');
export type SeriesInput = z.infer<typeof SeriesInputSchema>;

/** The class keys a cine short-axis model must have: the structures the volumes are read from. */
export const CINE_CLASS_KEYS = ['rv_cavity', 'lv_myocardium', 'lv_cavity'] as const;

export interface ManifestInput {
  /** Name of the ONNX graph input. */
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly windowing: WindowingSpec;
  /** `area`: stretched to width×height (box averaging when shrinking, bilinear when enlarging); `fov-diameter`: fov-geometry.ts. */
  readonly resize: 'area' | 'fov-diameter';
  /** Present exactly when resize is `fov-diameter`: how the field of view is found and sized. */
  readonly fieldOfView?: FovResizeSpec | undefined;
  /** Per channel: the model sees `(v - mean[c]) / std[c]`. */
  readonly normalization: { readonly mean: readonly number[]; readonly std: readonly number[] };
  /** The series the model measures as a whole; absent for a model of one image. */
  readonly series?: SeriesInput | undefined;
}

type Issue = { path: (string | number)[]; message: string };

/** A cine model segments (it measures volumes) and has the three structures' classes. */
export function seriesInputIssues(series: SeriesInput | undefined, task: string, classKeys: readonly string[]): Issue[] {
  if (series === undefined) return [];
  if (task !== 'segmentation') return [{ path: ['input', 'series'], message: '"cine-short-axis" is for segmentation models (volumes are measured from masks)' }];
  const missing = CINE_CLASS_KEYS.filter((k) => !classKeys.includes(k));
  return missing.length === 0 ? [] : [{ path: ['output', 'classes'], message: `a "cine-short-axis" model needs classes with the keys ${missing.join(', ')}` }];
}
